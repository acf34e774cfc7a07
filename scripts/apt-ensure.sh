#!/usr/bin/env bash
# Installs the named Debian packages that are missing (CI and developer machines run as root).
# Usage: bash scripts/apt-ensure.sh clang lld wasi-libc
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "apt-ensure: installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
# Several fixture builds may ask at once: dpkg's own lock would make the loser fail.
exec 9>/tmp/palisade-apt.lock
flock 9
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
