#!/usr/bin/env bash
# The console's flows in a real browser: headless Chromium (Debian's `chromium`) driven by
# Playwright (PyPI), against the real `qiao` binary on a fresh database: SQLite always, and
# PostgreSQL too when QIAO_TEST_POSTGRES_URL is set (a database made for the run, dropped after).
#
#   tests/browser/run.sh                      # artefacts in target/browser-artifacts/<database>/
#   tests/browser/run.sh --update-screenshots # also refresh docs/console/*.png (from SQLite)
#
# Installs Chromium and Playwright when missing. In CI (CI set, as .ci/run does) a missing browser
# that cannot be installed fails the run; elsewhere the tests are skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/../.."

update_screenshots=false
[ "${1:-}" = "--update-screenshots" ] && update_screenshots=true

unavailable() {
  if [ -n "${CI:-}" ]; then
    echo "browser tests: $1 (required in CI)" >&2
    exit 1
  fi
  echo "browser tests SKIPPED: $1"
  exit 0
}

chromium=$(command -v chromium || true)
if [ -z "$chromium" ]; then
  echo "installing Debian's chromium"
  { apt-get install -y chromium >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y chromium >/dev/null 2>&1; }; } || true
  chromium=$(command -v chromium || true)
  [ -n "$chromium" ] || unavailable "chromium is not installed and could not be installed (apt-get install -y chromium)"
fi
if ! python3 -c 'import playwright' 2>/dev/null; then
  echo "installing Playwright for Python (the library only: the browser is Debian's)"
  python3 -m pip install --quiet 'playwright>=1.45' 2>/dev/null ||
    python3 -m pip install --quiet --break-system-packages 'playwright>=1.45' 2>/dev/null ||
    unavailable "Playwright could not be installed (python3 -m pip install playwright)"
fi

cargo build --quiet -p qiao-server --bin qiao
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
binary="$target_dir/debug/qiao"
artifacts="${QIAO_BROWSER_ARTIFACTS:-$target_dir/browser-artifacts}"

work=$(mktemp -d)
server_pid=""
pg_database=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "$pg_database" ]; then
    psql "$QIAO_TEST_POSTGRES_URL" -qc "drop database if exists \"$pg_database\" with (force)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Runs the flows against a fresh server on database URL $2, artefacts under $1.
run_on() {
  local name=$1 database_url=$2 port
  port=$(free_port)
  mkdir -p "$work/$name"
  # Its own working directory, so the generated development secrets are fresh too.
  (cd "$work/$name" && QIAO_LISTEN="127.0.0.1:$port" QIAO_DATABASE_URL="$database_url" QIAO_LOG_FORMAT=json \
    exec "$binary" >"$work/$name/server.log" 2>&1) &
  server_pid=$!
  for _ in $(seq 120); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/$name/server.log" >&2; echo "the server did not start" >&2; exit 1; }
    sleep 0.5
  done
  rm -rf "${artifacts:?}/$name"
  echo "browser tests on $name"
  if ! python3 tests/browser/console_flows.py --base "http://127.0.0.1:$port" --out "$artifacts/$name" --chromium "$chromium"; then
    echo "server log: $artifacts/$name/server.log" >&2
    cp "$work/$name/server.log" "$artifacts/$name/server.log"
    exit 1
  fi
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

run_on sqlite "sqlite://$work/qiao.db?mode=rwc"

if [ -n "${QIAO_TEST_POSTGRES_URL:-}" ]; then
  pg_database="qiao_test_${QIAO_TEST_RUN:-browser}_browser_$$"
  psql "$QIAO_TEST_POSTGRES_URL" -qc "create database \"$pg_database\"" >/dev/null
  run_on postgres "${QIAO_TEST_POSTGRES_URL%/*}/$pg_database"
fi

if $update_screenshots; then
  mkdir -p docs/console
  cp "$artifacts"/sqlite/*.png docs/console/
  rm -f docs/console/FAILED-*.png
  echo "screenshots copied to docs/console/"
fi
echo "browser tests passed; screenshots in $artifacts"
