#!/usr/bin/env bash
# Install what the test suite's own fixtures start (they start and stop the servers themselves).
set -euo pipefail
if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "installing PostgreSQL 15 for the storage tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "warning: PostgreSQL 15 binaries missing; PostgreSQL tests will be reported as skipped" >&2
  fi
fi
