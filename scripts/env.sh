# Source this file: it puts Node.js >= 22 first on PATH, installing Node 24 from the npm
# registry into a cache outside the repository when the system Node is older.
# Usage: . scripts/env.sh
palisade_node_dir="${PALISADE_NODE_DIR:-$HOME/.cache/palisade-node}"
palisade_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ -x "$palisade_node_dir/node_modules/.bin/node" ]; then
  PATH="$palisade_node_dir/node_modules/.bin:$PATH"
fi
if [ "$(palisade_node_major)" -lt 22 ]; then
  echo "palisade: installing Node 24 into $palisade_node_dir (system node is $(node --version 2>/dev/null || echo absent))" >&2
  mkdir -p "$palisade_node_dir"
  npm install --silent --no-audit --no-fund --prefix "$palisade_node_dir" node@24 >&2 || return 1 2>/dev/null || exit 1
  PATH="$palisade_node_dir/node_modules/.bin:$PATH"
fi
export PATH
unset -f palisade_node_major
