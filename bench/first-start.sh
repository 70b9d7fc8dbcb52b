#!/usr/bin/env bash
# One start from the database (no saved build), timed alone: the figure `bench/index.sh` gives as
# its first start, without the writes and the restart around it, for profiling and for comparing
# settings side by side.
#
#   BENCH_FROM=<dir kept by bench/index.sh> bench/first-start.sh [VAR=value ...]
#   BENCH_PG_URL=postgres://…/<seeded database> bench/first-start.sh [VAR=value ...]
#
# Copies the kept database to a temporary directory, writes it back and reads it once (so every
# run starts from the same warm page cache), starts the release server with the given extra
# environment (e.g. QIAO_INDEX_SNAPSHOT=off), and prints the time from launch to `/healthz` 200,
# the build's own log line, the RSS after it and the user and system CPU it took. PERF="perf
# record -g -o perf.data --" runs the server under a profiler.
#
# With BENCH_PG_URL, the server starts on that PostgreSQL database instead (seeded beforehand, see
# docs/BENCHMARKS.md), with an empty data directory, so that it has no saved build to restart
# from; the database is only read. The PostgreSQL server's own CPU during the start is printed too.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
QIAO="${CARGO_TARGET_DIR:-$REPO/target}/release/qiao"
[[ -x "$QIAO" ]] || { echo "first-start.sh: no binary at $QIAO" >&2; exit 1; }
if [[ -z "${BENCH_PG_URL:-}" ]]; then
  [[ -f "${BENCH_FROM:-}/qiao.db" ]] || { echo "first-start.sh: set BENCH_FROM to a directory bench/index.sh kept, or BENCH_PG_URL" >&2; exit 1; }
fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/qiao-first-start.XXXXXX")"
SERVER_PID=""
cleanup() {
  [[ -n "$SERVER_PID" ]] && kill -INT "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ -n "${BENCH_PG_URL:-}" ]]; then
  DATABASE_URL="$BENCH_PG_URL"
  # The postgres processes' CPU so far (user + system ticks), to report what the start cost them.
  pg_ticks() { for pid in $(pgrep -x postgres || pgrep -f '^postgres'); do awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null; done | awk '{ s += $1 } END { print s + 0 }'; }
  PG_BEFORE=$(pg_ticks)
else
  cp "$BENCH_FROM/qiao.db" "$WORK/"
  cp "$BENCH_FROM"/qiao-dev-secrets.json "$WORK/" 2>/dev/null || true
  sync
  cat "$WORK/qiao.db" >/dev/null
  DATABASE_URL="sqlite://$WORK/qiao.db?mode=rwc"
fi

started=$(date +%s.%N)
env QIAO_DATABASE_URL="$DATABASE_URL" QIAO_DATA_DIR="$WORK" QIAO_LISTEN=127.0.0.1:0 \
  NO_COLOR=1 RUST_LOG=info "$@" ${PERF:-} "$QIAO" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
PORT=""
while :; do
  kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$WORK/server.log" >&2; exit 1; }
  [[ -z "$PORT" ]] && PORT=$(sed -n 's/.*serving GraphQL at \/graphql.*address=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$WORK/server.log" | head -1 || true)
  [[ -n "$PORT" ]] && curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break
  sleep 0.05
done
echo "start-up (launch to /healthz 200): $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s"
grep -o 'directory index built.*' "$WORK/server.log" | head -1
# The server itself (under PERF, the profiler's child).
SERVER=$(pgrep -f "^$QIAO serve" | head -1)
awk '$1 == "VmRSS:" || $1 == "VmHWM:" { printf "%s %.0f MiB  ", $1, $2 / 1024 } END { print "" }' "/proc/$SERVER/status"
awk -v tick="$(getconf CLK_TCK)" '{ printf "user %.1f s, system %.1f s\n", $14 / tick, $15 / tick }' "/proc/$SERVER/stat"
if [[ -n "${BENCH_PG_URL:-}" ]]; then
  # Connections that ended during the start are not counted: a lower bound.
  awk -v tick="$(getconf CLK_TCK)" -v a="$PG_BEFORE" -v b="$(pg_ticks)" 'BEGIN { printf "PostgreSQL processes: %.1f s of CPU (at least)\n", (b - a) / tick }'
fi
