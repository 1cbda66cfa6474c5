#!/usr/bin/env bash
# Spark 4 needs Java 17 or newer; say exactly what to install when it is missing.
set -euo pipefail
if ! command -v java >/dev/null 2>&1; then
  echo "error: Java not found. Spark needs Java 17+." >&2
  echo "  Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless" >&2
  echo "  macOS:         brew install openjdk@17" >&2
  exit 1
fi
ver=$(java -version 2>&1 | awk -F'"' '/version/ {print $2}')
major=${ver%%.*}
if [ "${major}" = "1" ]; then major=$(echo "$ver" | cut -d. -f2); fi
if [ "${major:-0}" -lt 17 ]; then
  echo "error: Java ${ver} found; Spark needs Java 17+." >&2
  echo "  Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless (then set JAVA_HOME)" >&2
  exit 1
fi
