#!/usr/bin/env bash
# Search benchmark: bench/search.sh [COUNT]        (COUNT synthetic services, default 100000)
#
# Builds the release `qiao`, makes a fresh SQLite database in a temporary directory (demo data,
# then COUNT synthetic services), starts the server on a free loopback port, and loads each query
# shape with wrk. Prints seed time, start-up time (launch until /healthz answers, index build
# included), the server's RSS, and requests/s and p50/p90/p99 latency per query shape.
# Results and how to read them: docs/BENCHMARKS.md.
#
# Needs cargo, wrk, curl and jq. Optional environment:
#   BENCH_DURATION=15s      wrk run per shape (plus a 2 s warm-up)
#   BENCH_THREADS=2 BENCH_CONNECTIONS=16
#   BENCH_SEED=1            seed of the synthetic generator
#   BENCH_AT='2026-11-25 10:00 +0800'   run the server's wall clock from this time (libfaketime),
#                           so openNow is measured in opening hours whenever the benchmark runs
#   BENCH_KEEP=1            keep the temporary directory (database, logs, wrk output)
#   CARGO_TARGET_DIR        honoured by the build
set -euo pipefail

COUNT="${1:-100000}"
DURATION="${BENCH_DURATION:-15s}"
THREADS="${BENCH_THREADS:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
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
(cd "$REPO" && timeout "$BUILD_TIMEOUT_S" cargo build --release -p qiao-server) >&2
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
    QIAO_SEED_DEMO=true QIAO_LOG_FORMAT=text NO_COLOR=1 RUST_LOG="${RUST_LOG:-info}")
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
log "first start on an empty database: migrate and seed the demo directory"
start_server "$WORK/server-demo.log"
DEMO_START_S=$STARTUP_S
stop_server

log "qiao seed-synthetic --count $COUNT --seed $SEED"
started=$(now_s)
QIAO_DATABASE_URL="$DB_URL" QIAO_DATA_DIR="$WORK" QIAO_ENV=development NO_COLOR=1 timeout "$SEED_TIMEOUT_S" "$QIAO" seed-synthetic --count "$COUNT" --seed "$SEED" \
  >"$WORK/seed.log" 2>&1 || { cat "$WORK/seed.log" >&2; die "seed-synthetic failed"; }
SEED_S=$(elapsed "$started" "$(now_s)")
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
NEARBY='query($near: GeoPointInput!, $radius: Int!, $categories: [ServiceCategory!], $text: String, $openNow: Boolean) {
  nearbyServices(near: $near, radiusMeters: $radius, categories: $categories, text: $text, openNow: $openNow, first: 20) {
    edges { distanceMeters node { id name category openNow location { lat lon } } }
    pageInfo { hasNextPage endCursor }
    nearestBeyondRadiusMeters
  }
}'
DETAIL='query($id: ID!) {
  service(id: $id) {
    name organization { name }
    locations { location { lat lon } hoursNext7Days { date intervals { opens closes } } }
    phones { number } eligibility { requirements { plainWords } } requiredDocuments
  }
}'
nearby_body() { # $1 = extra variables (a jq object)
  jq -n --arg q "$NEARBY" --argjson lat "$LAT" --argjson lon "$LON" --argjson extra "$1" \
    '{query: $q, variables: ({near: {lat: $lat, lon: $lon}, radius: 5000} + $extra)}'
}
SHAPES=(nearby category text open_now radius_50km detail)
declare -A LABEL=(
  [nearby]="nearby 5 km"
  [category]="5 km, categories: [EDUCATION]"
  [text]="5 km, text: \"法律\""
  [open_now]="5 km, openNow: true"
  [radius_50km]="nearby 50 km"
  [detail]="service(id) detail"
)
nearby_body '{}' >"$WORK/body-nearby.json"
nearby_body '{"categories": ["EDUCATION"]}' >"$WORK/body-category.json"
nearby_body '{"text": "法律"}' >"$WORK/body-text.json"
nearby_body '{"openNow": true}' >"$WORK/body-open_now.json"
nearby_body '{"radius": 50000}' >"$WORK/body-radius_50km.json"

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
RSS_END=$(proc_kib VmRSS)
HWM_END=$(proc_kib VmHWM)
LOG_MIB=$(du -m "$WORK/server.log" | awk '{ print $1 }')

# ---------------------------------------------------------------------------------------------
cat <<EOF

Qiao search benchmark, $(date '+%Y-%m-%d %H:%M %Z'), commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')
machine: $NCPU cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -h | awk '/^Mem:/ { print $2 }') RAM; wrk and the server share the cores; load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)
data: $COUNT synthetic (seed $SEED) + demo services -> index of ${SERVICES:-?} services, ${PLACES:-?} places; SQLite $DB_MIB MiB (+ $WAL_MIB MiB WAL)
server clock: $SERVER_CLOCK_CST CST$([[ -n "$AT" ]] && echo " (BENCH_AT, libfaketime)")
search point: $LAT, $LON (T village, Minhang, Shanghai); first: 20; detail of $SERVICE_ID

| measure | value |
|---|---|
| seed-synthetic --count $COUNT | $SEED_S s |
| start-up (launch to /healthz 200, index build included) | $STARTUP_S s |
| first start on empty DB (migrate + demo seed), for comparison | $DEMO_START_S s |
| RSS after start-up (peak during start-up) | $(kib_to_mib "$RSS_START") MiB ($(kib_to_mib "$HWM_START") MiB) |
| RSS after the load (peak) | $(kib_to_mib "$RSS_END") MiB ($(kib_to_mib "$HWM_END") MiB) |
| server log written during the run | $LOG_MIB MiB |

wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency (after a $WARMUP warm-up), gzip accepted; latencies in ms

CPU: share of all $NCPU cores used by the server / wrk / other processes during the run (other > 10% spoils it)

| shape | result | req/s | p50 | p90 | p99 | CPU server/wrk/other % | failures |
|---|---|---:|---:|---:|---:|---|---|
EOF
for shape in "${SHAPES[@]}"; do
  echo "| ${LABEL[$shape]} | ${FOUND[$shape]}${NOTE[$shape]:+ (${NOTE[$shape]})} | ${RPS[$shape]} | ${P50[$shape]} |" \
    "${P90[$shape]} | ${P99[$shape]} | ${SERVER_CPU[$shape]}/${WRK_CPU[$shape]}/${OTHER_CPU[$shape]} | ${BAD[$shape]} |"
done
