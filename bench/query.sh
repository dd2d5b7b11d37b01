#!/bin/sh
# The semantic layer's benchmark: generates EVENTS events (default 50 M) of USERS players
# (default 1 M) over 30 days inside DuckDB (session-shaped by default; QUERY_BENCH_DATA=uniform
# spreads them evenly) and builds the rollups, then times DAU by day, revenue by channel with a
# previous-period comparison, a 5-step funnel and a 30-day retention triangle: cold, cached and
# as their generated SQL run directly, with the layer's own compile + reshape time, and cold
# with the rollups switched off (QUERY_BENCH_RAW=0 skips that). Prints the commit, the
# machine's load and which targets are met.
# Usage: bench/query.sh [EVENTS] [USERS] [RUNS]; QUERY_BENCH_SQL=1 prints each query's SQL.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
cmake --build "$BUILD" --target query_bench >/dev/null
echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (modified)'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "data: ${QUERY_BENCH_DATA:-sessions}"
exec nice -n 10 "$BUILD/bench/query_bench" "${1:-50000000}" "${2:-1000000}" "${3:-3}"
