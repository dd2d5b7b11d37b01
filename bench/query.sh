#!/bin/sh
# The semantic layer's benchmark: generates EVENTS events (default 50 M) of USERS players
# (default 1 M) over 30 days inside DuckDB, then times DAU by day, revenue by channel with a
# previous-period comparison, a 5-step funnel and a 30-day retention triangle: cold, cached and
# as their generated SQL run directly. Usage: bench/query.sh [EVENTS] [USERS] [RUNS]
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
cmake --build "$BUILD" --target query_bench >/dev/null
exec nice -n 10 "$BUILD/bench/query_bench" "${1:-50000000}" "${2:-1000000}" "${3:-3}"
