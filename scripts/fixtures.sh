#!/usr/bin/env bash
# Builds the WebAssembly test fixtures from our own sources (test/fixtures/wasm/<name>/build.sh),
# cached outside the repository by a hash of each fixture's sources, then copies the modules
# into test/fixtures/wasm/build/. A machine with an empty cache builds everything.
# Usage: bash scripts/fixtures.sh [name...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${PALISADE_CACHE_DIR:-$HOME/.cache/palisade}/fixtures"
out="$root/test/fixtures/wasm/build"
mkdir -p "$out" "$cache"
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for dir in "$root"/test/fixtures/wasm/*/; do
    [ -f "$dir/build.sh" ] && names+=("$(basename "$dir")")
  done
fi
for name in "${names[@]}"; do
  dir="$root/test/fixtures/wasm/$name"
  hash=$(cd "$dir" && find . -type f -not -path './node_modules/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
  target="$cache/$name-$hash"
  if [ ! -f "$target/.done" ]; then
    echo "fixtures: building $name" >&2
    start=$SECONDS
    rm -rf "$target.tmp" && mkdir -p "$target.tmp"
    (cd "$dir" && PALISADE_ROOT="$root" bash ./build.sh "$target.tmp")
    touch "$target.tmp/.done" && rm -rf "$target" && mv "$target.tmp" "$target"
    echo "fixtures: built $name in $((SECONDS - start)) s" >&2
  fi
  cp "$target"/*.wasm "$out"/
done
