#!/usr/bin/env bash
# Instructions per ingest request, by thread kind, counted by callgrind: a figure that does
# not move with the machine's load (unlike times on a shared machine). Starts `basalt up` under
# valgrind --tool=callgrind (one output per thread), lets wrk send the generated bodies at a
# fixed rate for a fixed time, counts from the first measured request to the last, and prints
# the instructions of the I/O threads, the WAL writer and the loader per request and per event.
# What it is for and how to read it: bench/README.md.
#
#   bench/ingest_instructions.sh [--kind single|batch] [--rate REQ_PER_S] [--duration S]
#                                [--connections N] [--basalt PATH] [--keep]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
KIND=single
RATE=""
DURATION=10
CONNECTIONS=16
BASALT=${BASALT_BIN:-$ROOT/build/basalt}
KEEP=0

while [[ $# -gt 0 ]]; do
  case "$1" in
    --kind) KIND=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --basalt) BASALT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ingest_instructions.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $KIND == single || $KIND == batch ]] || { echo "ingest_instructions.sh: --kind single|batch" >&2; exit 2; }
# Under valgrind a request costs some 50 times its native CPU: rates a few hundred times lower.
[[ -n $RATE ]] || { [[ $KIND == single ]] && RATE=200 || RATE=20; }
for tool in valgrind callgrind_control callgrind_annotate wrk curl; do
  command -v "$tool" >/dev/null || { echo "ingest_instructions.sh: $tool is missing" >&2; exit 2; }
done
[[ -x $BASALT ]] || { echo "ingest_instructions.sh: no $BASALT (make build)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/basalt-instructions.XXXXXX)
PID=""
cleanup() {
  [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  if [[ $KEEP -eq 1 ]]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

batch_size=1
path=/v1/track
[[ $KIND == batch ]] && { batch_size=100; path=/v1/batch; }
"$BASALT" gen --users 200 --days 3 --seed 1 --end 2024-05-15T00:00:00Z --batch-size "$batch_size" \
  --out "$TMP/bodies.ndjson" >/dev/null
mkdir -p "$TMP/project" "$TMP/data"
# Under valgrind every thread runs in turn on one simulated CPU: a loader batch (DuckDB's
# fixed cost, some 50 times slower) would take most of the measured time. The loader waits a
# minute before its first batch here; what it costs is not what this counts.
printf 'project: bench\nsources:\n  - {name: bench, write_key: bench-key}\napi: {admin_token: bench-token}\nloader: {batch_interval: 60s}\n' \
  > "$TMP/project/basalt.yaml"
PORT=$(free_port)
valgrind --tool=callgrind --separate-threads=yes --compress-strings=no --compress-pos=no \
  --callgrind-out-file="$TMP/callgrind.out" \
  "$BASALT" up "$TMP/project" --data "$TMP/data" --ingest-port "$PORT" --api-port "$(free_port)" \
  > "$TMP/basalt.log" 2>&1 &
PID=$!
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "basalt did not start" >&2; cat "$TMP/basalt.log" >&2; exit 1; }
AUTH="Basic $(printf 'bench-key:' | base64)"
load() {  # SECONDS: wrk at RATE; prints wrk's RESULT line
  WRK_BODIES=$TMP/bodies.ndjson WRK_AUTH=$AUTH WRK_RATE=$RATE WRK_THREADS=1 \
    wrk -t1 -c"$CONNECTIONS" -d"$1s" --timeout 30s -s "$ROOT/bench/wrk/post_bodies.lua" \
    "http://127.0.0.1:$PORT$path" 2>&1 | grep '^RESULT'
}
load 3 >/dev/null  # warm-up: first-use allocations, the plan, the first WAL segment
sleep 2
# Dumps zero the counters: the second dump holds the measured load alone.
callgrind_control -d "$PID" >/dev/null
result=$(load "$DURATION")
callgrind_control -d "$PID" >/dev/null
requests=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$result")
events=$(awk -v r="$requests" -v b="$batch_size" 'BEGIN { print r * b }')
echo "wrk: $result"

# The dump holds one file per thread; the kind of each from the functions it ran.
declare -A total=([io]=0 [wal]=0 [loader]=0 [other]=0)
for f in "$TMP"/callgrind.out.2-*; do
  ir=$(awk '/^summary:/ { print $2; exit }' "$f")
  [[ -n $ir ]] || continue
  kind=other
  if grep -q 'basalt::http::Server' "$f"; then kind=io
  elif grep -q 'writer_loop' "$f"; then kind=wal
  elif grep -q 'basalt::loader::' "$f"; then kind=loader
  fi
  total[$kind]=$(( ${total[$kind]} + ir ))
done
printf '%-8s %16s %14s %12s\n' thread instructions per_request per_event
for kind in io wal loader other; do
  awk -v k="$kind" -v t="${total[$kind]}" -v r="$requests" -v e="$events" \
    'BEGIN { printf "%-8s %16d %14.0f %12.0f\n", k, t, t / r, t / e }'
done
