#!/usr/bin/env bash
# Installs everything Basalt needs on a Debian 12 machine: Debian packages, npm packages and the
# DuckDB library. Idempotent: a second run only checks and returns quickly.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and run-time libraries, test servers, benchmark tools.
packages=(
  build-essential cmake pkg-config ninja-build ccache
  libboost1.81-dev libsimdjson-dev nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  libcli11-dev zlib1g-dev libdeflate-dev libzstd-dev libsqlite3-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
  # Domino's task types, run for real by the tests
  php-cli default-jdk-headless python3 sqlite3
  curl
  # the original architecture, rebuilt for the side-by-side benchmark
  nginx-light libnginx-mod-http-lua lua-cjson redis-server wrk
  # profiling the ingest path (bench/ingest_profile.sh)
  linux-perf
  # enrichment and transforms at collection: user agents (uap-core regexes with RE2), geo IP
  # (libmaxminddb; the tests write a small database with the Perl writer), Lua (LuaJIT)
  uap-core libre2-dev libmaxminddb-dev libmaxmind-db-writer-perl libluajit2-5.1-dev
  # scale-out: Redis Streams and Kafka sinks, ClickHouse warehouse, PostgreSQL metadata store;
  # the servers are started by the tests on free ports
  libhiredis-dev librdkafka-dev redis-tools clickhouse-server postgresql libpq-dev
  # data products
  libeigen3-dev
  # end-to-end tests of the web console
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # Keep package scripts from starting system services (nginx, redis): tests and benchmarks
  # start their own instances on free ports.
  policy=/usr/sbin/policy-rc.d
  added_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    added_policy=1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [ "$added_policy" -eq 0 ] || $sudo rm -f "$policy"
fi

# Node.js and npm (for the DuckDB package and the web console) come with the machine image; Debian's
# own npm conflicts with that nodejs, so only check for them.
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "setup: $tool is missing: install Node.js 20 with npm" >&2; exit 1; }
done

scripts/fetch-duckdb.sh

# The web console's npm packages (ui/, exact versions from its package-lock.json), installed again
# only when the lock file changed since the last install.
lock_sum=$(sha256sum ui/package-lock.json | cut -d' ' -f1)
if [ "$(cat ui/node_modules/.basalt-lock-sha256 2>/dev/null)" != "$lock_sum" ]; then
  echo "setup: installing the web console's npm packages (npm ci in ui/)"
  (cd ui && npm ci --no-audit --no-fund)
  echo "$lock_sum" > ui/node_modules/.basalt-lock-sha256
fi
