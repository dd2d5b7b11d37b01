#!/usr/bin/env bash
# Unpacks the official DuckDB shared library and its C header from the npm registry into
# third_party/duckdb (ignored by git). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.4.4
bindings=@duckdb/node-bindings-linux-x64@1.4.4-r.4
dest=third_party/duckdb
if [ -f "$dest/libduckdb.so" ] && [ -f "$dest/duckdb.h" ] && [ "$(cat "$dest/VERSION" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "setup: fetching DuckDB $version"
(cd "$work" && npm pack --silent "$bindings" >/dev/null && npm pack --silent "duckdb@$version" >/dev/null)
mkdir -p "$work/lib" "$work/hdr" "$dest"
tar -xzf "$work"/duckdb-node-bindings-linux-x64-*.tgz -C "$work/lib"
tar -xzf "$work"/duckdb-"$version".tgz -C "$work/hdr" package/src/duckdb/src/include/duckdb.h
cp "$work/lib/package/libduckdb.so" "$dest/libduckdb.so"
cp "$work/hdr/package/src/duckdb/src/include/duckdb.h" "$dest/duckdb.h"
echo "$version" > "$dest/VERSION"
