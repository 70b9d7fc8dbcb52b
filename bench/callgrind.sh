#!/usr/bin/env bash
# Per-request cost in instructions: bench/callgrind.sh [COUNT] [REQUESTS]
#
# Exact and repeatable on a busy machine (unlike wrk): builds the release `qiao`, seeds a fresh
# SQLite database in a temporary directory (demo data, then COUNT synthetic services, default
# 10000), starts the server under valgrind's callgrind with instrumentation off, warms every shape
# up (20 requests each, uninstrumented), then counts the instructions (Ir) of REQUESTS requests
# (default 200, one keep-alive connection, `Accept-Encoding: gzip` as the app sends) per shape:
# the `{ __typename }` floor, the issue's NearbyServices (3 km, LIBRARY, first 20: the query of
# bench/search.sh), nearby 5 km (20 results), and the service detail. Every thread of the server is
# counted; the kernel's work (sockets) is not. Prints Ir per request and the ratio to the floor.
# Results: docs/BENCHMARKS.md, "Per-request cost (callgrind)".
#
# Needs cargo, valgrind, curl and jq. QIAO_BIN=path skips the build and measures that binary;
# BENCH_KEEP=1 keeps the temporary directory (with the callgrind.out.* files, for
# callgrind_annotate --inclusive=yes).
set -euo pipefail

COUNT="${1:-10000}"
REQUESTS="${2:-200}"
LAT=31.105
LON=121.355
die() { echo "callgrind.sh: $*" >&2; exit 1; }
for tool in cargo valgrind callgrind_control callgrind_annotate curl jq; do
  command -v "$tool" >/dev/null || die "needs $tool (apt-get install valgrind)"
done
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$BENCH_DIR")"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/qiao-callgrind.XXXXXX")"
PID=""
cleanup() {
  [[ -n "$PID" ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then echo "callgrind.sh: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

if [[ -z "${QIAO_BIN:-}" ]]; then
  (cd "$REPO" && cargo build --release -p qiao-server) >&2
  TARGET_DIR="$(cd "$REPO" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)"
  QIAO_BIN="$TARGET_DIR/release/qiao"
fi
cp "$QIAO_BIN" "$WORK/qiao"
export QIAO_DATABASE_URL="sqlite://$WORK/qiao.db?mode=rwc" QIAO_DATA_DIR="$WORK" QIAO_ENV=development NO_COLOR=1
SERVE_ENV=(QIAO_LISTEN=127.0.0.1:0 QIAO_SEED_DEMO=true QIAO_LOG_FORMAT=text RUST_LOG=info
  QIAO_RATE_LIMIT_REQUESTS_PER_MINUTE=1000000)

# Starts the server (optionally under a wrapper), waits for /healthz; sets PID and PORT.
start() {
  : >"$WORK/server.log"
  env "${SERVE_ENV[@]}" "$@" "$WORK/qiao" serve >"$WORK/server.log" 2>&1 &
  PID=$!
  PORT=""
  for _ in $(seq 1800); do
    kill -0 "$PID" 2>/dev/null || { tail -20 "$WORK/server.log" >&2; die "the server exited"; }
    [[ -n "$PORT" ]] || PORT=$(sed -n 's/.*serving GraphQL at \/graphql.*address=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$WORK/server.log" | head -1)
    [[ -n "$PORT" ]] && curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null && return
    sleep 0.5
  done
  die "the server did not start"
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

start # migrate and seed the demo directory
stop
"$WORK/qiao" seed-synthetic --count "$COUNT" --seed 1 >"$WORK/seed.log" 2>&1 || { cat "$WORK/seed.log" >&2; die "seeding failed"; }

# shellcheck source=bench/shapes.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/shapes.sh"
jq -n '{query: "{ __typename }"}' >"$WORK/body-floor.json"
published_body '{"radiusMeters": 3000, "categories": ["LIBRARY"]}' >"$WORK/body-library_3km.json"
nearby_body '{"radius": 3000, "categories": ["LIBRARY"]}' >"$WORK/body-library_3km_engine.json"
published_body '{}' >"$WORK/body-nearby.json"

start valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.out"
URL="http://127.0.0.1:$PORT/graphql"
SERVICE_ID=$(curl -fsS -H 'content-type: application/json' --data-binary "@$WORK/body-nearby.json" "$URL" |
  jq -r '.data.nearbyServices.edges[0].node.id')
jq -n --arg q "$DETAIL" --arg id "$SERVICE_ID" '{query: $q, variables: {id: $id}}' >"$WORK/body-detail.json"
SHAPES=(floor library_3km library_3km_engine nearby detail)
send() { # $1 = shape, $2 = requests, on one connection
  local urls=()
  for _ in $(seq "$2"); do urls+=("$URL"); done
  curl -fsS --compressed -H 'content-type: application/json' -H 'accept-encoding: gzip' \
    --data-binary "@$WORK/body-$1.json" "${urls[@]}" >/dev/null
}
for shape in "${SHAPES[@]}"; do send "$shape" 20; done
callgrind_control -i on "$PID" >/dev/null
for shape in "${SHAPES[@]}"; do
  callgrind_control -z "$PID" >/dev/null
  send "$shape" "$REQUESTS"
  callgrind_control -d "$shape" "$PID" >/dev/null
done
stop

echo "Ir per request, $REQUESTS requests per shape, $COUNT synthetic services, $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')"
FLOOR=""
for file in "$WORK"/callgrind.out.*; do
  shape=$(sed -n 's/^desc: Trigger: Client Request: //p; s/^desc: Trigger: dump //p' "$file" | head -1)
  total=$(callgrind_annotate "$file" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
  per=$((total / REQUESTS))
  [[ "$shape" == floor ]] && FLOOR=$per
  echo "$shape $per $(awk -v f="${FLOOR:-0}" -v p="$per" 'BEGIN { if (f > 0) printf "%.2fx the floor", p / f }')"
done
