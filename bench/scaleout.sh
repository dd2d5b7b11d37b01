#!/usr/bin/env bash
# Scale-out benchmark: ingest throughput of `basalt up` with the stream sinks off, with the
# Redis sink, with the Kafka sink and with both; then loader throughput of `basalt load
# --from kafka` into ClickHouse; then the metrics layer's benchmark queries (query_bench's) on
# ClickHouse beside DuckDB on the same data (QUERY_EVENTS events of QUERY_USERS players made by
# query_bench, copied into ClickHouse; DuckDB in the benchmark process on core 0, ClickHouse
# on core 1). Kafka is librdkafka's mock cluster (build target kafka_mock), Redis and
# ClickHouse are Debian's servers, all on free ports of 127.0.0.1 in a temp dir.
# Figures and how to read them: bench/README.md ("Scale-out").
#
#   bench/scaleout.sh [--duration S] [--connections N] [--users N] [--query-events N]
#                     [--query-users N] [--only-queries] [--no-queries] [--keep]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=15
CONNECTIONS=32
USERS=1000
DAYS=7
KEEP=0
QUERY_EVENTS=5000000
QUERY_USERS=100000
QUERIES=1
INGEST=1
BASALT=${BASALT_BIN:-$ROOT/build/basalt}
KAFKA_MOCK=${KAFKA_MOCK_BIN:-$ROOT/build/bench/kafka_mock}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --users) USERS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --query-events) QUERY_EVENTS=$2; shift 2 ;;
    --query-users) QUERY_USERS=$2; shift 2 ;;
    --only-queries) INGEST=0; shift ;;
    --no-queries) QUERIES=0; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "scaleout.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
for tool in redis-server clickhouse-server wrk taskset curl python3; do
  command -v "$tool" >/dev/null || { echo "scaleout.sh: $tool is missing (scripts/setup.sh)" >&2; exit 2; }
done
[[ -x $BASALT ]] || { echo "scaleout.sh: build basalt first ($BASALT)" >&2; exit 2; }
[[ -x $KAFKA_MOCK ]] || { echo "scaleout.sh: build the kafka_mock target first ($KAFKA_MOCK)" >&2; exit 2; }
QUERY_BENCH=${QUERY_BENCH_BIN:-$ROOT/build/bench/query_bench}
SCALEOUT_QUERY_BENCH=${SCALEOUT_QUERY_BENCH_BIN:-$ROOT/build/bench/scaleout_query_bench}
if [[ $QUERIES -eq 1 ]]; then
  for b in "$QUERY_BENCH" "$SCALEOUT_QUERY_BENCH"; do
    [[ -x $b ]] || { echo "scaleout.sh: build the query_bench and scaleout_query_bench targets first ($b)" >&2; exit 2; }
  done
fi

TMP=$(mktemp -d /tmp/basalt-scaleout.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ $KEEP -eq 1 ]]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {  # wait_for WHAT SECONDS CMD...
  local what=$1 secs=$2; shift 2
  for _ in $(seq $((secs * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "scaleout.sh: $what did not come up" >&2; KEEP=1; exit 1
}
metric() {  # metric PORT PREFIX: sum of the /metrics series whose name{labels} start with PREFIX
  curl -sf "http://127.0.0.1:$1/metrics" | awk -v n="$2" 'index($1, n) == 1 {s += $2} END {printf "%.0f", s}'
}

if [[ $INGEST -eq 1 ]]; then
log "generating bodies ($USERS players, $DAYS days, 100-event batches)"
"$BASALT" gen --users "$USERS" --days "$DAYS" --seed 1 --end 2024-05-15T00:00:00Z \
  --batch-size 100 --out "$TMP/batch.ndjson"

# Redis (append-only, fsync every second: a common production setting), Kafka (mock), ClickHouse.
REDIS_PORT=$(free_port)
taskset -c 1 redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$TMP" --save '' \
  --appendonly yes --appendfsync everysec > "$TMP/redis.log" 2>&1 &
PIDS+=($!)
"$KAFKA_MOCK" --partitions 4 basalt-events > "$TMP/kafka.out" 2> "$TMP/kafka.log" &
PIDS+=($!)
wait_for kafka 20 test -s "$TMP/kafka.out"
KAFKA=$(head -1 "$TMP/kafka.out")
fi
CH_HTTP=$(free_port); CH_TCP=$(free_port); CH_INTER=$(free_port)
mkdir -p "$TMP/ch"
cat > "$TMP/ch/config.xml" <<XML
<yandex>
  <logger><level>warning</level><log>$TMP/ch/server.log</log><errorlog>$TMP/ch/error.log</errorlog></logger>
  <http_port>$CH_HTTP</http_port><tcp_port>$CH_TCP</tcp_port>
  <interserver_http_port>$CH_INTER</interserver_http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>$TMP/ch/data/</path><tmp_path>$TMP/ch/tmp/</tmp_path>
  <users_config>/etc/clickhouse-server/users.xml</users_config>
  <default_profile>default</default_profile><default_database>default</default_database>
  <mark_cache_size>53687091</mark_cache_size>
</yandex>
XML
taskset -c 1 clickhouse-server --config-file="$TMP/ch/config.xml" > "$TMP/ch/stdout.log" 2>&1 &
PIDS+=($!)
[[ $INGEST -eq 1 ]] && wait_for redis 20 redis-cli -p "$REDIS_PORT" ping
wait_for clickhouse 60 curl -sf "http://127.0.0.1:$CH_HTTP/ping"

AUTH="Basic $(printf 'bench-key:' | base64)"
RESULTS=$TMP/results.txt
echo "# scaleout $(date -u +%Y-%m-%dT%H:%M:%SZ) duration=${DURATION}s connections=$CONNECTIONS" > "$RESULTS"

if [[ $INGEST -eq 1 ]]; then
# run_mode NAME SINKS_YAML: basalt up on core 0 with those sinks; wrk on core 1.
run_mode() {
  local name=$1 sinks=$2
  local dir=$TMP/$name port api
  port=$(free_port); api=$(free_port)
  mkdir -p "$dir/project"
  printf 'project: bench\nsources:\n  - {name: bench, write_key: bench-key}\napi: {admin_token: t}\n%s\n' \
    "$sinks" > "$dir/project/basalt.yaml"
  taskset -c 0 "$BASALT" up "$dir/project" --data "$dir/data" --ingest-port "$port" \
    --api-port "$api" > "$dir/basalt.log" 2>&1 &
  local pid=$!
  PIDS+=($pid)
  wait_for "basalt ($name)" 60 curl -sf "http://127.0.0.1:$port/readyz"
  log "$name: wrk -c$CONNECTIONS -d${DURATION}s"
  local out line
  out=$(WRK_BODIES="$TMP/batch.ndjson" WRK_AUTH="$AUTH" taskset -c 1 wrk -t1 -c"$CONNECTIONS" \
    -d"${DURATION}s" --timeout 10s -s "$ROOT/bench/wrk/post_bodies.lua" \
    "http://127.0.0.1:$port/v1/batch" 2>&1) || true
  line=$(grep '^RESULT ' <<<"$out" || echo "RESULT eps=0")
  local acked lag_end lag_later
  acked=$(metric "$port" 'basalt_ingest_events_total{result="accepted"}')
  lag_end=$(metric "$port" basalt_sink_lag_events)
  sleep 10
  lag_later=$(metric "$port" basalt_sink_lag_events)
  echo "$name ${line#RESULT } accepted_total=$acked sink_lag_at_end=$lag_end sink_lag_10s_later=$lag_later" >> "$RESULTS"
  log "$name: ${line#RESULT } sink lag $lag_end → $lag_later"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_mode off ""
run_mode redis "sinks: [{type: redis, url: 'redis://127.0.0.1:$REDIS_PORT/0'}]"
run_mode kafka "sinks: [{type: kafka, brokers: '$KAFKA', topic: basalt-events}]"
run_mode both "sinks: [{type: redis, url: 'redis://127.0.0.1:$REDIS_PORT/1'}, {type: kafka, brokers: '$KAFKA', topic: basalt-events}]"

# Loader throughput: everything the kafka and both runs put on the topic, into ClickHouse.
mkdir -p "$TMP/loader"
printf 'project: bench\nsources:\n  - {name: bench, write_key: bench-key}\nloader: {batch_events: 50000, batch_interval: 1s}\n' \
  > "$TMP/loader/basalt.yaml"
log "loading the topic into ClickHouse"
start=$(date +%s.%N)
BASALT_WAREHOUSE_URL="clickhouse://default@127.0.0.1:$CH_HTTP/bench" taskset -c 0 "$BASALT" load \
  "$TMP/loader" --from kafka --brokers "$KAFKA" --topic basalt-events --port 0 \
  > "$TMP/loader/load.log" 2>&1 &
LOADER=$!
PIDS+=($LOADER)
count() { curl -sf "http://127.0.0.1:$CH_HTTP/?query=SELECT+count()+FROM+bench.events" || echo 0; }
now() { date +%s.%N; }
# Done when the count has not moved for 15 s; the rate is over the time from the first stored
# row to the last (the mock keeps only the newest ~5 MB of each partition, see README).
first_at=""; last_at=""; last=0
while true; do
  sleep 0.5
  n=$(count)
  t=$(now)
  if [[ $n != "$last" ]]; then
    [[ -z $first_at ]] && first_at=$t
    last_at=$t; last=$n
  fi
  if [[ -n $last_at ]] && python3 -c "import sys; sys.exit(0 if $t - $last_at > 15 else 1)"; then break; fi
  if python3 -c "import sys; sys.exit(0 if $t - $start > 300 else 1)"; then break; fi
done
kill "$LOADER"; wait "$LOADER" 2>/dev/null || true
n=$last
secs=$(python3 -c "print(f'{$last_at - $first_at:.1f}')")
total=$(python3 -c "print(f'{$last_at - $start:.1f}')")
eps=$(python3 -c "print(f'{$n / max($last_at - $first_at, 0.1):.0f}')")
echo "loader_clickhouse events=$n seconds_first_to_last_row=$secs seconds_from_start=$total eps=$eps" >> "$RESULTS"
log "loader: $n events, ${secs}s from the first to the last row (${total}s from start) = $eps events/s"
fi

# The metrics layer's queries on ClickHouse beside DuckDB, on the same data.
if [[ $QUERIES -eq 1 ]]; then
  log "queries: generating $QUERY_EVENTS events of $QUERY_USERS players in DuckDB (query_bench)"
  taskset -c 0 "$QUERY_BENCH" "$QUERY_EVENTS" "$QUERY_USERS" 1 "$TMP/query.duckdb" > "$TMP/query_bench.out"
  cat "$TMP/query_bench.out" >&2
  log "queries: copying into ClickHouse and timing both engines"
  echo "queries events=$QUERY_EVENTS users=$QUERY_USERS (DuckDB on core 0, ClickHouse on core 1)" >> "$RESULTS"
  taskset -c 0 "$SCALEOUT_QUERY_BENCH" "$TMP/query.duckdb" "http://127.0.0.1:$CH_HTTP" 3 >> "$RESULTS"
fi
cat "$RESULTS"
