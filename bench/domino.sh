#!/usr/bin/env bash
# Domino scheduling overhead with no-op shell tasks, on a throw-away project:
#   wide:  1 task, then N tasks depending on it      → tasks/s
#   deep:  a chain of D tasks                         → per-hop start-to-start latency p50/p99
#          (an upper bound of the scheduling overhead: it includes starting and running `true`)
#   many:  M DAGs × 10 tasks (a chain of 2, then 8 wide), all due when the scheduler starts
#          (@daily, started yesterday) → tasks/s
# Usage: bench/domino.sh [N=10000] [D=1000] [M=1000]   (BASALT=path/to/basalt, needs sqlite3)
set -euo pipefail
N=${1:-10000}
D=${2:-1000}
M=${3:-1000}
BASALT=${BASALT:-$(dirname "$0")/../build/basalt}
BASALT=$(realpath "$BASALT")
command -v sqlite3 > /dev/null || { echo "needs the sqlite3 command (apt-get install sqlite3)"; exit 2; }
work=$(mktemp -d)
trap 'kill -TERM "${pid:-0}" 2> /dev/null || true; wait 2> /dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/p/dags"
cat > "$work/p/basalt.yaml" << 'YAML'
data_dir: data
domino:
  parallelism: 64
  pools: {default: 64}
  tick_interval: 50ms
YAML
python3 - "$work/p/dags" "$N" "$D" "$M" << 'PY'
import datetime, sys
d, n, deep, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with open(f"{d}/wide.yaml", "w") as f:
    f.write("dag: wide\nmax_active_tasks: 64\ntasks:\n  - {id: start, type: shell, command: 'true'}\n")
    for i in range(n):
        f.write(f"  - {{id: t{i}, type: shell, command: 'true', upstream: [start]}}\n")
with open(f"{d}/deep.yaml", "w") as f:
    f.write("dag: deep\ntasks:\n  - {id: t0, type: shell, command: 'true'}\n")
    for i in range(1, deep):
        f.write(f"  - {{id: t{i}, type: shell, command: 'true', upstream: [t{i-1}]}}\n")
for k in range(m):
    with open(f"{d}/many_{k}.yaml", "w") as f:
        start = datetime.date.today() - datetime.timedelta(days=2)
        f.write(f"dag: many_{k}\nschedule: '@daily'\nstart_date: {start}\n"
                "tasks:\n  - {id: a, type: shell, command: 'true'}\n"
                "  - {id: b, type: shell, command: 'true', upstream: [a]}\n")
        for i in range(8):
            f.write(f"  - {{id: c{i}, type: shell, command: 'true', upstream: [b]}}\n")
PY
cd "$work"
db=data/domino.db
"$BASALT" domino p > domino.log 2>&1 &
pid=$!
sleep 2
wait_runs() {  # until $1 runs have succeeded or failed
  while [ "$(sqlite3 "$db" "select count(*) from dag_runs where state in ('success','failed')")" -lt "$1" ]; do
    sleep 0.2
  done
}
span() {  # seconds from the first start to the last end of the DAGs matching $1
  sqlite3 "$db" "select (max(t.ended_us) - min(t.started_us)) / 1e6, count(*) from task_instances t
                 join dag_runs r on r.id = t.run where r.dag_id like '$1'"
}
wait_runs "$M"
IFS='|' read -r secs count < <(span 'many_%')
echo "many: $M DAGs, $count tasks in ${secs}s = $(python3 -c "print(round($count / $secs))") tasks/s"
"$BASALT" dag trigger wide --project p --data data > /dev/null
wait_runs $((M + 1))
IFS='|' read -r secs count < <(span wide)
echo "wide: $count tasks in ${secs}s = $(python3 -c "print(round($count / $secs))") tasks/s"
"$BASALT" dag trigger deep --project p --data data > /dev/null
wait_runs $((M + 2))
sqlite3 "$db" "select t.started_us from task_instances t join dag_runs r on r.id = t.run
               where r.dag_id = 'deep' order by cast(substr(t.task_id, 2) as int)" |
  python3 -c "
import sys
s = [int(x) for x in sys.stdin]
h = sorted((b - a) / 1000 for a, b in zip(s, s[1:]))
print(f'deep: {len(s)} tasks, start-to-start per hop p50 {h[len(h)//2]:.1f} ms, p99 {h[int(len(h)*0.99)]:.1f} ms')"
# CPU time of the scheduler process itself (not of the tasks it ran), from /proc.
total=$(sqlite3 "$db" "select count(*) from task_instances")
read -r utime stime < <(awk '{print $14, $15}' "/proc/$pid/stat")
python3 -c "
ticks = $(getconf CLK_TCK)
cpu = ($utime + $stime) / ticks
print(f'scheduler CPU: {cpu:.1f} s for $total tasks = {cpu * 1e6 / $total:.0f} us a task')"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
