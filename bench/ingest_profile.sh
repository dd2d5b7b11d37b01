#!/usr/bin/env bash
# Where a Basalt ingest server spends its core under load: `basalt up` pinned to core 0 as in
# bench/ingest.sh, wrk on core 1 posting the generator's bodies (peak or paced), `perf record`
# of the server during the load, then the top symbols per thread kind and the latency
# histograms of /metrics. How to read it: bench/README.md ("Profiling the ingest path").
#
#   bench/ingest_profile.sh [--kind batch|single] [--rate REQ_PER_S] [--duration S]
#                           [--plan] [--callgraph] [--group-commit-delay D] [--basalt PATH]
#                           [--yaml TEXT] [--keep]
#   --group-commit-delay D   sets `wal.group_commit_delay` (e.g. 500us; default: the project's 0)
#   --yaml TEXT              appends TEXT to the project's basalt.yaml (e.g. 'loader: {batch_events: 250000}')
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
KIND=batch
RATE=""
DURATION=15
PLAN=0
CALLGRAPH=0
KEEP=0
CONNECTIONS=64
GROUP_COMMIT_DELAY=""
EXTRA_YAML=""
BASALT=${BASALT_BIN:-$ROOT/build/basalt}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --kind) KIND=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --plan) PLAN=1; shift ;;
    --callgraph) CALLGRAPH=1; shift ;;
    --basalt) BASALT=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --group-commit-delay) GROUP_COMMIT_DELAY=$2; shift 2 ;;
    --yaml) EXTRA_YAML=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ingest_profile.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $KIND == batch || $KIND == single ]] || { echo "ingest_profile.sh: --kind batch|single" >&2; exit 2; }
for tool in perf wrk taskset curl python3; do
  command -v "$tool" >/dev/null || { echo "ingest_profile.sh: $tool is missing" >&2; exit 2; }
done
[[ -x $BASALT ]] || { echo "ingest_profile.sh: no $BASALT (make build)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/basalt-profile.XXXXXX)
PID=""
cleanup() {
  [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  if [[ $KEEP -eq 1 ]]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

batch_size=100
path=/v1/batch
if [[ $KIND == single ]]; then batch_size=1; path=/v1/track; fi
"$BASALT" gen --users 1000 --days 14 --seed 1 --end 2024-05-15T00:00:00Z \
  --batch-size "$batch_size" --out "$TMP/bodies.ndjson"

mkdir -p "$TMP/project" "$TMP/data"
printf 'project: bench\nsources:\n  - {name: bench, write_key: bench-key}\napi: {admin_token: bench-token}\n' \
  > "$TMP/project/basalt.yaml"
if [[ -n $GROUP_COMMIT_DELAY ]]; then
  printf 'wal: {group_commit_delay: %s}\n' "$GROUP_COMMIT_DELAY" >> "$TMP/project/basalt.yaml"
fi
[[ -n $EXTRA_YAML ]] && printf '%s\n' "$EXTRA_YAML" >> "$TMP/project/basalt.yaml"
if [[ $PLAN -eq 1 ]]; then
  mkdir -p "$TMP/project/tracking"
  cp "$ROOT"/examples/demo/tracking/{properties,events,user_attributes}.yaml "$TMP/project/tracking/"
  printf 'enforcement:\n  default: strict\n  sources:\n    bench: strict\n' \
    > "$TMP/project/tracking/enforcement.yaml"
fi
PORT=$(free_port)
taskset -c 0 "$BASALT" up "$TMP/project" --data "$TMP/data" --ingest-port "$PORT" \
  --api-port "$(free_port)" > "$TMP/basalt.log" 2>&1 &
PID=$!
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
AUTH="Basic $(printf 'bench-key:' | base64)"

# Per thread name: voluntary and involuntary context switches, CPU ticks (1/100 s).
threads() {
  for t in /proc/"$PID"/task/*; do
    printf '%s %s\n' "$(cat "$t/comm")" \
      "$(awk '/^voluntary_ctxt/ {v=$2} /^nonvoluntary_ctxt/ {n=$2} END {print v, n}' "$t/status") $(awk '{print $14 + $15}' "$t/stat")"
  done | awk '{v[$1] += $2; n[$1] += $3; c[$1] += $4} END {for (k in v) print k, v[k], n[k], c[k]}' | sort
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
threads > "$TMP/threads.before"
WRK_BODIES=$TMP/bodies.ndjson WRK_AUTH=$AUTH WRK_RATE=$RATE WRK_THREADS=1 WRK_UNIQUE_IDS=1 \
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$((DURATION + 2))s" --timeout 10s \
  -s "$ROOT/bench/wrk/post_bodies.lua" "http://127.0.0.1:$PORT$path" > "$TMP/wrk.txt" 2>&1 &
WRK=$!
sleep 1
graph=()
[[ $CALLGRAPH -eq 1 ]] && graph=(--call-graph dwarf,16384)
perf record -q "${graph[@]}" -F 999 -p "$PID" -o "$TMP/perf.data" -- sleep "$DURATION" 2>/dev/null
wait "$WRK" || true
threads > "$TMP/threads.after"
# Read at the end of the load: the loader goes on alone while perf reports.
curl -sf "http://127.0.0.1:$PORT/metrics" > "$TMP/metrics.txt" || true
MEMORY=$(awk '/^VmHWM|^VmRSS/ {printf "%s %.0f MB  ", $1, $2 / 1024}' /proc/"$PID"/status)
grep '^RESULT' "$TMP/wrk.txt" || cat "$TMP/wrk.txt"
echo
echo "== threads during the load: context switches (voluntary, involuntary), CPU seconds"
join "$TMP/threads.before" "$TMP/threads.after" |
  awk '{printf "%-14s vol %8d  invol %8d  cpu %6.2f s\n", $1, $5 - $2, $6 - $3, ($7 - $4) / 100}'

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server memory at the end of the load: $MEMORY"

echo
echo "== CPU by thread (comm)"
perf report -i "$TMP/perf.data" --no-children --sort comm --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12 || true
echo
echo "== top symbols"
perf report -i "$TMP/perf.data" --no-children --sort comm,dso,sym --stdio 2>/dev/null \
  | grep -v '^#' | grep -v '^$' | head -60 || true
echo
echo "== /metrics at the end of the load: latency histograms (upper bound of the bucket holding p50 / p99)"
awk '
  /^basalt_(http_request|ingest_pipeline|ingest_wal|loader_batch)_seconds_bucket/ {
    name = $1; sub(/_bucket.*/, "", name)
    le = $1; sub(/.*le="/, "", le); sub(/".*/, "", le)
    n[name]++; b[name, n[name]] = le; c[name, n[name]] += $2
  }
  END {
    for (name in n) {
      total = c[name, n[name]]
      p50 = ""; p99 = ""
      for (i = 1; i <= n[name]; i++) {
        if (p50 == "" && c[name, i] >= 0.5 * total) p50 = b[name, i]
        if (p99 == "" && c[name, i] >= 0.99 * total) p99 = b[name, i]
      }
      printf "%-36s count %9d  p50 <= %-7s s  p99 <= %-7s s\n", name, total, p50, p99
    }
  }' "$TMP/metrics.txt"
grep -E '^basalt_loader_(lag|events_total|batches_total|thread_cpu)' "$TMP/metrics.txt" || true
awk '/^basalt_loader_events_total/ {e = $2} /^basalt_loader_thread_cpu_seconds/ {c = $2}
  END { if (e > 0) printf "loader CPU per stored event (up to its last commit): %.2f us\n", c / e * 1e6 }' \
  "$TMP/metrics.txt"
[[ $KEEP -eq 1 ]] && echo "perf data: $TMP/perf.data"
exit 0
