#!/usr/bin/env bash
# Side-by-side ingest benchmark: the original pipeline (nginx + Lua + Redis list) against
# Basalt, with the same request bodies and the same load generator (wrk), in one run.
# What it measures and how to read it: bench/README.md.
#
#   bench/ingest.sh [--duration S] [--long] [--connections N] [--users N] [--ingest-threads N]
#                   [--loader-nice N] [--yaml TEXT]
#                   [--basalt PATH] [--gen PATH] [--baseline-only] [--keep]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=20
LONG=0
LONG_SECONDS=600
CONNECTIONS=64
USERS=1000
DAYS=14
BASALT=${BASALT_BIN:-$ROOT/build/basalt}
GEN=""
BASELINE_ONLY=0
KEEP=0
INGEST_THREADS=0
LOADER_NICE=10
EXTRA_YAML=""

usage() {
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'
Options:
  --duration S      seconds of load per measurement (default 20)
  --long            also run Basalt for 10 minutes at half its peak, sampling its RSS every 10 s
  --connections N   wrk connections (default 64)
  --users N         players simulated by the generator (default 1000)
  --ingest-threads N  Basalt's HTTP I/O threads (`ingest.threads`; default 0: one per CPU
                    it may run on and at least two, i.e. two on its pinned core)
  --loader-nice N   the nice value of Basalt's loader thread (`loader.thread_nice`, 0..19;
                    default 10)
  --yaml TEXT       appends TEXT to Basalt's basalt.yaml (e.g. 'warehouse: {memory_limit: 1GB}')
  --basalt PATH     the basalt binary (default build/basalt, or $BASALT_BIN)
  --gen PATH        a binary with the `gen` command, when basalt is not built yet
                    (default: the basalt binary, else build*/**/basalt-gen)
  --baseline-only   measure the baseline alone
  --keep            keep the temp dir (configs, logs, raw figures)
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --long) LONG=1; shift ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --users) USERS=$2; shift 2 ;;
    --ingest-threads) INGEST_THREADS=$2; shift 2 ;;
    --loader-nice) LOADER_NICE=$2; shift 2 ;;
    --yaml) EXTRA_YAML=$2; shift 2 ;;
    --basalt) BASALT=$2; shift 2 ;;
    --gen) GEN=$2; shift 2 ;;
    --baseline-only) BASELINE_ONLY=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "ingest.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 1 ]] || { echo "ingest.sh: --duration wants seconds" >&2; exit 2; }
[[ $INGEST_THREADS =~ ^[0-9]+$ ]] || { echo "ingest.sh: --ingest-threads wants a number" >&2; exit 2; }
[[ $LOADER_NICE =~ ^[0-9]+$ ]] && (( LOADER_NICE <= 19 )) ||
  { echo "ingest.sh: --loader-nice wants 0..19" >&2; exit 2; }

for tool in nginx redis-server redis-cli wrk taskset curl python3; do
  command -v "$tool" >/dev/null || { echo "ingest.sh: $tool is missing (see bench/README.md)" >&2; exit 2; }
done
[[ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ]] ||
  { echo "ingest.sh: libnginx-mod-http-lua is missing" >&2; exit 2; }

HAVE_BASALT=0
if [[ $BASELINE_ONLY -eq 0 ]]; then
  if [[ -x $BASALT ]]; then
    HAVE_BASALT=1
  else
    echo "ingest.sh: $BASALT not found: measuring the baseline only" >&2
  fi
fi
if [[ -z $GEN ]]; then
  if [[ -x $BASALT ]]; then
    GEN=$BASALT
  else
    GEN=$(ls -t "$ROOT"/build*/src/gen/basalt-gen "$ROOT"/build*/gen/basalt-gen 2>/dev/null | head -1 || true)
  fi
fi
[[ -n $GEN && -x $GEN ]] || { echo "ingest.sh: no binary with the gen command (build basalt or pass --gen)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/basalt-ingest-bench.XXXXXX)
RAW=$TMP/results.txt
PIDS=()
WATCHDOG=""

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  [[ -n $WATCHDOG ]] && kill "$WATCHDOG" 2>/dev/null || true
  if [[ $KEEP -eq 1 ]]; then
    echo "kept $TMP" >&2
  else
    cp "$RAW" "/tmp/basalt-ingest-results.txt" 2>/dev/null || true
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DRAIN_MAX=90  # seconds drain_loader waits at most
# The whole run is bounded: 8 measurements per body kind at most, the 2 with the tracking plan,
# plus start-up and the long run.
BUDGET=$(( 2 * 4 * (DURATION + 40) + 2 * (DURATION + 40) + 6 * DRAIN_MAX + 240 + LONG * (LONG_SECONDS + 120) ))
(
  trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
  sleep "$BUDGET" >/dev/null 2>&1 &
  sleeper=$!
  wait "$sleeper"
  echo "ingest.sh: over its ${BUDGET}s budget, stopping" >&2
  kill -TERM $$
) >/dev/null &
WATCHDOG=$!

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for NAME SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local name=$1 seconds=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS >= deadline )); then echo "ingest.sh: $name did not start in ${seconds}s" >&2; return 1; fi
    sleep 0.2
  done
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# ---------------------------------------------------------------------------------------------
# Request bodies: the same files for both systems.
log "generating bodies with $GEN ($USERS players, $DAYS days)"
"$GEN" gen --users "$USERS" --days "$DAYS" --seed 1 --end 2024-05-15T00:00:00Z \
  --batch-size 100 --out "$TMP/batch.ndjson"
"$GEN" gen --users "$USERS" --days "$DAYS" --seed 1 --end 2024-05-15T00:00:00Z \
  --batch-size 1 --out "$TMP/single.ndjson"
BATCH_BYTES=$(awk '{n += length($0)} END {printf "%.0f", n / NR}' "$TMP/batch.ndjson")
SINGLE_BYTES=$(awk '{n += length($0)} END {printf "%.0f", n / NR}' "$TMP/single.ndjson")
{
  echo "# ingest benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ) duration=${DURATION}s connections=$CONNECTIONS"
  echo "# bodies: batch mean ${BATCH_BYTES} B, single mean ${SINGLE_BYTES} B"
  echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
} > "$RAW"

# ---------------------------------------------------------------------------------------------
# Baseline: redis-server and nginx + Lua, both on core 0.
REDIS_PORT=$(free_port)
mkdir -p "$TMP/redis" "$TMP/nginx"
taskset -c 0 redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$TMP/redis" \
  --save '' --appendonly no --daemonize no --logfile "$TMP/redis/redis.log" &
PIDS+=($!)
REDIS_PID=$!
wait_for redis-server 20 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping

NGINX_PORT=$(free_port)
USER_LINE=""
[[ $(id -u) -eq 0 ]] && USER_LINE="user root;"
sed -e "s|@DIR@|$TMP/nginx|g" -e "s|@PORT@|$NGINX_PORT|g" -e "s|@REDIS_PORT@|$REDIS_PORT|g" \
  -e "s|@LUA_DIR@|$ROOT/bench/baseline|g" -e "s|@USER_LINE@|$USER_LINE|g" \
  "$ROOT/bench/baseline/nginx.conf.in" > "$TMP/nginx/nginx.conf"
taskset -c 0 nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx/" 2>>"$TMP/nginx/stderr.log" &
PIDS+=($!)
NGINX_PID=$!
wait_for nginx 20 curl -sf "http://127.0.0.1:$NGINX_PORT/healthz"
# One request of each kind must be stored before measuring.
head -1 "$TMP/single.ndjson" | curl -sf -H 'Content-Type: application/json' --data-binary @- \
  "http://127.0.0.1:$NGINX_PORT/v1/track" | grep -q '"success":true' ||
  { echo "ingest.sh: the baseline did not accept an event (see $TMP/nginx/error.log)" >&2; KEEP=1; exit 1; }
head -1 "$TMP/batch.ndjson" | curl -sf -H 'Content-Type: application/json' --data-binary @- \
  "http://127.0.0.1:$NGINX_PORT/v1/batch" | grep -q '"success":true' ||
  { echo "ingest.sh: the baseline did not accept a batch (see $TMP/nginx/error.log)" >&2; KEEP=1; exit 1; }
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" flushall >/dev/null

# ---------------------------------------------------------------------------------------------
# Basalt on core 0, serving a bench project.
if [[ $HAVE_BASALT -eq 1 ]]; then
  INGEST_PORT=$(free_port)
  API_PORT=$(free_port)
  mkdir -p "$TMP/project" "$TMP/basalt-data"
  printf 'project: bench\nsources:\n  - {name: bench, write_key: bench-key}\napi: {admin_token: bench-token}\ningest: {threads: %s}\nloader: {thread_nice: %s}\n' \
    "$INGEST_THREADS" "$LOADER_NICE" > "$TMP/project/basalt.yaml"
  [[ -n $EXTRA_YAML ]] && printf '%s\n' "$EXTRA_YAML" >> "$TMP/project/basalt.yaml"
  taskset -c 0 "$BASALT" up "$TMP/project" --data "$TMP/basalt-data" \
    --ingest-port "$INGEST_PORT" --api-port "$API_PORT" > "$TMP/basalt.log" 2>&1 &
  PIDS+=($!)
  BASALT_PID=$!
  wait_for basalt 60 curl -sf "http://127.0.0.1:$INGEST_PORT/readyz"
  BASALT_AUTH="Basic $(printf 'bench-key:' | base64)"
  head -1 "$TMP/batch.ndjson" | curl -sf -H 'Content-Type: application/json' \
    -H "Authorization: $BASALT_AUTH" --data-binary @- -o /dev/null \
    "http://127.0.0.1:$INGEST_PORT/v1/batch" ||
    { echo "ingest.sh: basalt did not accept a batch (see $TMP/basalt.log)" >&2; KEEP=1; exit 1; }
  log "basalt up: pid $BASALT_PID, ingest port $INGEST_PORT, RSS $(rss_kb "$BASALT_PID") kB"
fi

# run_wrk LABEL URL BODIES AUTH RATE [SECONDS]: one measurement; appends "LABEL RESULT…" to RAW.
run_wrk() {
  local label=$1 url=$2 bodies=$3 auth=$4 rate=$5 seconds=${6:-$DURATION}
  log "$label: wrk -c$CONNECTIONS -d${seconds}s${rate:+ at $rate req/s} $url"
  local out
  out=$(WRK_BODIES=$bodies WRK_AUTH=$auth WRK_RATE=$rate WRK_THREADS=1 WRK_UNIQUE_IDS=1 \
    timeout $((seconds + 60)) taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${seconds}s" \
    --timeout 10s -s "$ROOT/bench/wrk/post_bodies.lua" "$url" 2>&1) || true
  local line
  line=$(grep '^RESULT ' <<<"$out" || true)
  if [[ -z $line ]]; then
    echo "ingest.sh: wrk gave no result for $label:" >&2
    echo "$out" >&2
    line="RESULT requests=0 rps=0 eps=0 p50_ms=nan p99_ms=nan status_errors=0 socket_errors=0"
  fi
  echo "$label ${line#RESULT }" >> "$RAW"
  log "$label: ${line#RESULT }"
}

# drain_loader PORT LABEL: waits (at most DRAIN_MAX s) until the Basalt on PORT has loaded
# every durable event, so a measurement does not start while its loader is still busy with
# the previous one's backlog (it would compete for core 0); appends "LABEL drained_s=…".
drain_loader() {
  local port=$1 label=$2 start=$SECONDS lag
  while true; do
    lag=$(curl -sf "http://127.0.0.1:$port/metrics" |
      awk '$1 == "basalt_loader_lag_events" { print $2; exit }')
    [[ ${lag:-x} == 0 ]] && break
    if (( SECONDS - start >= DRAIN_MAX )); then
      log "$label: loader lag still ${lag:-unknown} events after ${DRAIN_MAX}s; measuring anyway"
      break
    fi
    sleep 0.5
  done
  # The warehouse's writes of the previous run may still be in the page cache; written back
  # during the measurement they would slow the WAL's fdatasyncs (single events wait for them).
  local sync_start=$SECONDS
  sync
  echo "$label drained_s=$((sync_start - start)) sync_s=$((SECONDS - sync_start)) lag_at_start=${lag:-unknown}" >> "$RAW"
  (( SECONDS - start > 0 )) && log "$label: waited $((SECONDS - start))s for the loader to catch up"
  return 0
}

# field LABEL KEY: a figure of a measurement from RAW.
field() {
  awk -v l="$1" -v k="$2" '$1 == l { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) v = kv[2] } } END { print v }' "$RAW"
}

redis_note() {  # LABEL: events stored in the list and Redis memory, then empty it
  local len mem
  len=$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" llen events)
  mem=$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" info memory | awk -F: '/^used_memory_human/ {print $2}' | tr -d '\r')
  echo "$1 redis_list_events=$len redis_used_memory=$mem nginx_worker_rss_kb=$(rss_kb "$(ps -o pid= --ppid "$NGINX_PID" | head -1 | tr -d ' ')") redis_rss_kb=$(rss_kb "$REDIS_PID")" >> "$RAW"
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" flushall >/dev/null
}

for kind in batch single; do
  path=/v1/batch
  [[ $kind == single ]] && path=/v1/track
  bodies=$TMP/$kind.ndjson
  run_wrk "baseline_${kind}_peak" "http://127.0.0.1:$NGINX_PORT$path" "$bodies" "" ""
  redis_note "baseline_${kind}_peak"
  if [[ $HAVE_BASALT -eq 1 ]]; then
    drain_loader "$INGEST_PORT" "basalt_${kind}_peak"
    run_wrk "basalt_${kind}_peak" "http://127.0.0.1:$INGEST_PORT$path" "$bodies" "$BASALT_AUTH" ""
    peak=$(field "basalt_${kind}_peak" rps)
  else
    peak=$(field "baseline_${kind}_peak" rps)
  fi
  half=$(awk -v p="$peak" 'BEGIN { printf "%d", p / 2 }')
  if (( half > 0 )); then
    echo "${kind}_half_rate_rps=$half" >> "$RAW"
    run_wrk "baseline_${kind}_half" "http://127.0.0.1:$NGINX_PORT$path" "$bodies" "" "$half"
    redis_note "baseline_${kind}_half"
    if [[ $HAVE_BASALT -eq 1 ]]; then
      drain_loader "$INGEST_PORT" "basalt_${kind}_half"
      run_wrk "basalt_${kind}_half" "http://127.0.0.1:$INGEST_PORT$path" "$bodies" "$BASALT_AUTH" "$half"
    fi
  fi
done

# ---------------------------------------------------------------------------------------------
# The tracking plan's cost: a second Basalt, alone on core 0 after the first has answered its
# measurements, serving the demo game's plan with the bench source strict (every event checked
# against the plan; the generator's events all pass it), at its peak for each body kind.
if [[ $HAVE_BASALT -eq 1 ]]; then
  mkdir -p "$TMP/project-plan/tracking" "$TMP/basalt-plan-data"
  cp "$TMP/project/basalt.yaml" "$TMP/project-plan/basalt.yaml"
  cp "$ROOT"/examples/demo/tracking/{properties,events,user_attributes}.yaml "$TMP/project-plan/tracking/"
  printf 'enforcement:\n  default: strict\n  sources:\n    bench: strict\n' \
    > "$TMP/project-plan/tracking/enforcement.yaml"
  kill -STOP "$BASALT_PID"  # the first one keeps its state for the lag figures below
  PLAN_INGEST_PORT=$(free_port)
  taskset -c 0 "$BASALT" up "$TMP/project-plan" --data "$TMP/basalt-plan-data" \
    --ingest-port "$PLAN_INGEST_PORT" --api-port "$(free_port)" > "$TMP/basalt-plan.log" 2>&1 &
  PIDS+=($!)
  PLAN_PID=$!
  wait_for "basalt (plan)" 60 curl -sf "http://127.0.0.1:$PLAN_INGEST_PORT/readyz"
  head -1 "$TMP/batch.ndjson" | curl -sf -H 'Content-Type: application/json' \
    -H "Authorization: $BASALT_AUTH" --data-binary @- "http://127.0.0.1:$PLAN_INGEST_PORT/v1/batch" |
    grep -q '^{"success":true}$' ||
    { echo "ingest.sh: the demo plan refused generated events (see $TMP/basalt-plan.log)" >&2; KEEP=1; exit 1; }
  for kind in batch single; do
    path=/v1/batch
    [[ $kind == single ]] && path=/v1/track
    drain_loader "$PLAN_INGEST_PORT" "basalt_plan_${kind}_peak"
    run_wrk "basalt_plan_${kind}_peak" "http://127.0.0.1:$PLAN_INGEST_PORT$path" "$TMP/$kind.ndjson" "$BASALT_AUTH" ""
  done
  echo "basalt_plan_quarantined=$(curl -sf "http://127.0.0.1:$PLAN_INGEST_PORT/metrics" | awk '$1 ~ /^basalt_ingest_events_total/ && /rejected/ { print $2 }')" >> "$RAW"
  kill "$PLAN_PID" 2>/dev/null || true
  wait "$PLAN_PID" 2>/dev/null || true
  kill -CONT "$BASALT_PID"
fi

# ---------------------------------------------------------------------------------------------
# Basalt's loader lag and memory.
metric() {  # NAME: a metric's value from Basalt's /metrics
  curl -sf "http://127.0.0.1:$INGEST_PORT/metrics" | awk -v n="$1" '$1 == n { print $2; exit }'
}
if [[ $HAVE_BASALT -eq 1 ]]; then
  echo "basalt_after_load loader_lag_events=$(metric basalt_loader_lag_events) loader_lag_seconds=$(metric basalt_loader_lag_seconds) rss_kb=$(rss_kb "$BASALT_PID")" >> "$RAW"
  sleep 10
  echo "basalt_10s_later loader_lag_events=$(metric basalt_loader_lag_events) loader_lag_seconds=$(metric basalt_loader_lag_seconds) rss_kb=$(rss_kb "$BASALT_PID")" >> "$RAW"
  echo "basalt_data_dir_bytes=$(du -sb "$TMP/basalt-data" | cut -f1)" >> "$RAW"

  if [[ $LONG -eq 1 ]]; then
    half=$(field basalt_batch_peak rps | awk '{printf "%d", $1 / 2}')
    log "long run: ${LONG_SECONDS}s of batches at $half req/s, RSS every 10 s"
    (
      for _ in $(seq $((LONG_SECONDS / 10))); do
        sleep 10
        echo "basalt_long_rss t=$SECONDS rss_kb=$(rss_kb "$BASALT_PID") loader_lag_events=$(metric basalt_loader_lag_events)" >> "$RAW"
      done
    ) &
    sampler=$!
    run_wrk basalt_long "http://127.0.0.1:$INGEST_PORT/v1/batch" "$TMP/batch.ndjson" "$BASALT_AUTH" "$half" "$LONG_SECONDS"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
  fi
fi

# ---------------------------------------------------------------------------------------------
# The table.
fmt_eps() { awk -v v="$1" 'BEGIN { if (v == "") print "-"; else printf "%.0f", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
echo
printf '%-26s %12s %10s %10s %10s %8s\n' "measurement" "events/s" "req/s" "p50 ms" "p99 ms" "errors"
for kind in batch single; do
  for mode in peak half; do
    for sys in baseline basalt; do
      l=${sys}_${kind}_${mode}
      [[ -n $(field "$l" requests) ]] || continue
      printf '%-26s %12s %10s %10s %10s %8s\n' "$l" "$(fmt_eps "$(field "$l" eps)")" \
        "$(fmt_eps "$(field "$l" rps)")" "$(field "$l" p50_ms)" "$(field "$l" p99_ms)" \
        "$(( $(field "$l" status_errors) + $(field "$l" socket_errors) ))"
    done
    if [[ $HAVE_BASALT -eq 1 ]]; then
      printf '%-26s %12s %10s %10s %10s\n' "  ratio basalt/baseline" \
        "$(ratio "$(field "basalt_${kind}_${mode}" eps)" "$(field "baseline_${kind}_${mode}" eps)")" "" \
        "$(ratio "$(field "basalt_${kind}_${mode}" p50_ms)" "$(field "baseline_${kind}_${mode}" p50_ms)")" \
        "$(ratio "$(field "basalt_${kind}_${mode}" p99_ms)" "$(field "baseline_${kind}_${mode}" p99_ms)")"
    fi
  done
done
if [[ -n $(field basalt_plan_batch_peak requests) ]]; then
  echo
  printf '%-26s %12s %10s %10s %10s %8s\n' "tracking plan" "events/s" "req/s" "p50 ms" "p99 ms" "errors"
  for kind in batch single; do
    for l in basalt_${kind}_peak basalt_plan_${kind}_peak; do
      printf '%-26s %12s %10s %10s %10s %8s\n' "$l" "$(fmt_eps "$(field "$l" eps)")" \
        "$(fmt_eps "$(field "$l" rps)")" "$(field "$l" p50_ms)" "$(field "$l" p99_ms)" \
        "$(( $(field "$l" status_errors) + $(field "$l" socket_errors) ))"
    done
    printf '%-26s %12s\n' "  ratio plan/no plan" \
      "$(ratio "$(field "basalt_plan_${kind}_peak" eps)" "$(field "basalt_${kind}_peak" eps)")"
  done
fi
echo
grep -E '^(basalt_plan_quarantined|baseline_.*redis_list|basalt_after|basalt_10s|basalt_data|batch_half|single_half|basalt_long_rss)| drained_s=' "$RAW" || true
echo
echo "raw figures: $RAW$([[ $KEEP -eq 1 ]] || echo " (copied to /tmp/basalt-ingest-results.txt)")"
