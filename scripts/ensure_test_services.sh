#!/usr/bin/env bash
# Install what the test suite's own fixtures start (they start and stop the servers themselves).
# PostgreSQL: the fixture in tests/postgres_server.py runs Debian's initdb/pg_ctl as the postgres
# user in a temp folder. Installing the package may also start Debian's default cluster; the tests
# do not use it (they pick their own port and socket folder).
set -euo pipefail
PG_BIN=${SOCIALPULSE_PG_BIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PG_BIN/initdb" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "installing PostgreSQL 15 for the storage tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "error: $PG_BIN/initdb missing and cannot install it (need root and apt-get);" \
      "the PostgreSQL tests will fail. Install postgresql-15 or set SOCIALPULSE_PG_BIN." >&2
    exit 1
  fi
fi
if [ ! -x "$PG_BIN/initdb" ]; then
  echo "error: installed postgresql but $PG_BIN/initdb is still missing (not version 15?)" >&2
  exit 1
fi
if [ "$(id -u)" = "0" ] && ! id postgres >/dev/null 2>&1; then
  echo "error: running as root but there is no postgres user to run the test server as" >&2
  exit 1
fi
"$PG_BIN/initdb" --version

# Chromium: the dashboard's end-to-end test screenshots the running dashboard with Debian's
# headless chromium (tests/dashboard/test_e2e.py); SOCIALPULSE_CHROMIUM names another binary.
CHROMIUM=${SOCIALPULSE_CHROMIUM:-chromium}
if ! command -v "$CHROMIUM" >/dev/null; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "installing chromium for the dashboard end-to-end test"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "error: $CHROMIUM missing and cannot install it (need root and apt-get);" \
      "the dashboard end-to-end test will fail. Install chromium or set SOCIALPULSE_CHROMIUM." >&2
    exit 1
  fi
fi
"$CHROMIUM" --version
