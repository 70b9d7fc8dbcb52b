#!/usr/bin/env bash
# Index figures at national scale: seeding, start-up, memory, and the cost of one listing write.
#
#   bench/index.sh [COUNT]        (default 100000)
#
# Builds nothing: run `cargo build --release -p qiao-server` first (CARGO_TARGET_DIR honoured).
# In a fresh temporary SQLite database it starts the server once (migrations, demo directory and
# accounts), runs `qiao seed-synthetic --count COUNT` under /usr/bin/time (wall time, peak RSS),
# starts the server again and times launch → `GET /healthz` 200 (which includes building the
# index), reads its RSS (VmRSS, and VmHWM for the peak; and the peak of its anonymous memory,
# RssAnon, sampled while it starts: a build from an SQLite database maps the database file, whose
# pages VmHWM counts, once per reader, while the build runs), signs in as the demo admin, renames one
# listing with `updateService` (curl's total time: the write, the commit and the index patch), checks
# that a search finds the new name at once, and reads the RSS again (a patch shares all but the
# chunks it touches with the index it came from). Then it restarts the server, which now starts from
# the build the first start saved (`QIAO_INDEX_SNAPSHOT`, default in the data directory) and the
# feed since (the renames), times that start-up the same way, reads the RSS, and checks the last
# rename is found. Prints one line per figure. BENCH_KEEP=1 keeps the
# directory; BENCH_FROM=dir starts from a copy of a directory an earlier run kept (its seeded
# database and data directory) instead of seeding again.
set -euo pipefail

COUNT=${1:-100000}
REPO="$(cd "$(dirname "$0")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
QIAO="$TARGET_DIR/release/qiao"
[[ -x "$QIAO" ]] || { echo "index.sh: no binary at $QIAO" >&2; exit 1; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/qiao-index.XXXXXX")"
DB_URL="sqlite://$WORK/qiao.db?mode=rwc"
SERVER_PID=""
PORT=""

stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
cleanup() {
  stop_server
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then echo "index.sh: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
mib() { awk -v key="$1:" '$1 == key { printf "%.0f", $2 / 1024 }' "/proc/$SERVER_PID/status"; }

start_server() {
  local logfile=$1 started anon
  : >"$logfile"
  ANON_PEAK_KIB=0
  started=$(now_s)
  env QIAO_DATABASE_URL="$DB_URL" QIAO_DATA_DIR="$WORK" QIAO_LISTEN=127.0.0.1:0 QIAO_SEED_DEMO=true \
    NO_COLOR=1 RUST_LOG=info "$QIAO" serve >"$logfile" 2>&1 &
  SERVER_PID=$!
  PORT=""
  while :; do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$logfile" >&2; exit 1; }
    if [[ -z "$PORT" ]]; then
      PORT=$(sed -n 's/.*serving GraphQL at \/graphql.*address=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$logfile" | head -1 || true)
    fi
    anon=$(awk '$1 == "RssAnon:" { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null || true)
    ((${anon:-0} > ANON_PEAK_KIB)) && ANON_PEAK_KIB=$anon
    if [[ -n "$PORT" ]] && curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/healthz" 2>/dev/null; then
      break
    fi
    sleep 0.02
  done
  STARTUP_S=$(elapsed "$started" "$(now_s)")
}

graphql() { # query JSON body on stdin, optional bearer token $1
  curl -fsS --max-time 60 -H 'content-type: application/json' ${1:+-H "authorization: Bearer $1"} \
    --data-binary @- "http://127.0.0.1:$PORT/graphql"
}

if [[ -n "${BENCH_FROM:-}" ]]; then
  cp -a "$BENCH_FROM"/. "$WORK"/
  # Written back before the clock starts: a start must not share the disk with writing 3 GB back.
  sync
  # The first start below is the cold one: from the database, not a build an earlier run saved.
  rm -f "$WORK"/*.log "$WORK"/index-build.qiao*
  echo "database: a copy of $BENCH_FROM/qiao.db ($(du -m "$WORK/qiao.db" | cut -f1) MiB), not seeded again"
else
  start_server "$WORK/server-demo.log"
  stop_server

  /usr/bin/time -f '%e %M' -o "$WORK/seed.time" env QIAO_DATABASE_URL="$DB_URL" QIAO_DATA_DIR="$WORK" NO_COLOR=1 \
    "$QIAO" seed-synthetic --count "$COUNT" >"$WORK/seed.log" 2>&1 || { cat "$WORK/seed.log" >&2; exit 1; }
  read -r SEED_S SEED_KIB <"$WORK/seed.time"
  echo "seed-synthetic --count $COUNT: ${SEED_S} s, peak RSS $((SEED_KIB / 1024)) MiB, database $(du -m "$WORK/qiao.db" | cut -f1) MiB"
fi

start_server "$WORK/server.log"
grep -o 'directory index built.*' "$WORK/server.log" | head -1
echo "start-up (launch to /healthz 200): ${STARTUP_S} s; RSS $(mib VmRSS) MiB (peak $(mib VmHWM) MiB, anonymous peak $((ANON_PEAK_KIB / 1024)) MiB)"

TOKEN=$(echo '{"query":"mutation { login(username: \"admin\", password: \"qiao-demo-pass\") { accessToken } }"}' | graphql |
  jq -r .data.login.accessToken)
SERVICE=$(echo '{"query":"{ nearbyServices(near: {lat: 31.105, lon: 121.355}, radiusMeters: 5000, text: \"法律\") { edges { node { id } } } }"}' |
  graphql | jq -r '.data.nearbyServices.edges[0].node.id')
for round in 1 2 3; do
  BODY=$(jq -cn --arg id "$SERVICE" --arg zh "基准改名$round" --arg en "Benchmark rename $round" \
    '{query: "mutation($id: ID!, $input: ServicePatchInput!) { updateService(id: $id, input: $input) { id } }",
      variables: {id: $id, input: {name: {zh: $zh, en: $en}}}}')
  TIME=$(curl -fsS -o "$WORK/write.json" -w '%{time_total}' --max-time 60 -H 'content-type: application/json' \
    -H "authorization: Bearer $TOKEN" --data-binary "$BODY" "http://127.0.0.1:$PORT/graphql")
  FOUND=$(jq -cn --arg text "基准改名$round" \
    '{query: "query($text: String!) { nearbyServices(near: {lat: 31.105, lon: 121.355}, radiusMeters: 50000, text: $text) { edges { node { id } } } }",
      variables: {text: $text}}' | graphql | jq -r '.data.nearbyServices.edges[0].node.id')
  [[ "$FOUND" == "$SERVICE" ]] || { echo "index.sh: write $round not searchable at once" >&2; cat "$WORK/write.json" >&2; exit 1; }
  echo "updateService $round: $(awk -v t="$TIME" 'BEGIN { printf "%.1f", t * 1000 }') ms, searchable at once; RSS $(mib VmRSS) MiB"
done

# Restart from the saved build: the first start saved it in the background once built.
for _ in $(seq 600); do
  grep -q 'saved the index build' "$WORK/server.log" && break
  grep -q 'saving the index build failed' "$WORK/server.log" && { grep 'saving the index build' "$WORK/server.log" >&2; exit 1; }
  sleep 0.5
done
grep -q 'saved the index build' "$WORK/server.log" || { echo "index.sh: the build was not saved" >&2; exit 1; }
stop_server
start_server "$WORK/server-restart.log"
grep -o 'directory index built.*' "$WORK/server-restart.log" | head -1
echo "restart from the saved build ($(du -m "$WORK/index-build.qiao" | cut -f1) MiB) and the feed since: ${STARTUP_S} s; RSS $(mib VmRSS) MiB (peak $(mib VmHWM) MiB, anonymous peak $((ANON_PEAK_KIB / 1024)) MiB)"
FOUND=$(jq -cn --arg text "基准改名3" \
  '{query: "query($text: String!) { nearbyServices(near: {lat: 31.105, lon: 121.355}, radiusMeters: 50000, text: $text) { edges { node { id } } } }",
    variables: {text: $text}}' | graphql | jq -r '.data.nearbyServices.edges[0].node.id')
[[ "$FOUND" == "$SERVICE" ]] || { echo "index.sh: the rename made after the save is missing after the restart" >&2; exit 1; }
echo "after the restart: the rename made after the save is found"
