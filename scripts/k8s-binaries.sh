#!/usr/bin/env bash
# Builds kube-apiserver and etcd from Go modules for the integration tests, because neither Debian
# nor npm ships a usable kube-apiserver and Debian's etcd (3.4.23) is too old for kube-apiserver
# 1.35 (no RequestWatchProgress). Binaries land in
#   ${PALISADE_CACHE_DIR:-$HOME/.cache/palisade}/k8s/<k8s>-<etcd>/bin/{kube-apiserver,etcd}
# next to the script's own Go module and build caches (k8s/go-mod, k8s/go-build), so a machine
# with an empty cache needs only Go and the module proxy. A stamp file makes reruns instant.
# The last line on stdout is the bin directory; everything else goes to stderr. It also makes sure
# the openssl CLI is there, which test/support/kube.ts needs for the test PKI.
# Usage: bash scripts/k8s-binaries.sh               build if needed (K8S_VERSION / ETCD_VERSION override the pins)
#        bash scripts/k8s-binaries.sh --print-dir   only print the bin directory, build nothing
set -euo pipefail

k8s_version="${K8S_VERSION:-1.35.8}"
etcd_version="${ETCD_VERSION:-3.6.8}"
# Bump when the recipe changes in a way that alters the binaries (flags, ldflags), so caches rebuild.
recipe=1

cache="${PALISADE_CACHE_DIR:-$HOME/.cache/palisade}/k8s"
target="$cache/$k8s_version-$etcd_version"
bin="$target/bin"
stamp="$target/.stamp"
stamp_line="k8s=$k8s_version etcd=$etcd_version recipe=$recipe"

log() { echo "k8s-binaries: $*" >&2; }

if [ "${1:-}" = "--print-dir" ]; then
  echo "$bin"
  exit 0
fi
command -v openssl >/dev/null || bash "$(dirname "$0")/apt-ensure.sh" openssl

is_built() {
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_line" ] &&
    [ -x "$bin/kube-apiserver" ] && [ -x "$bin/etcd" ]
}

if is_built; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { log "go is not on PATH (Go >= 1.25 is needed)"; exit 1; }
mkdir -p "$cache"
# Parallel test runs on one machine would otherwise build twice and race on the final move.
exec 9>"$cache/.lock"
flock 9
if is_built; then
  echo "$bin"
  exit 0
fi

# GOTOOLCHAIN=local: a version needing a newer Go must fail here, not download a toolchain.
# -modcacherw: the module cache stays deletable with plain rm -rf.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-modcacherw -buildvcs=false"
export GOMODCACHE="${PALISADE_GOMODCACHE:-$cache/go-mod}"
export GOCACHE="${PALISADE_GOCACHE:-$cache/go-build}"
# Other builds share this machine: two compile jobs at most.
jobs="${PALISADE_GO_JOBS:-2}"

work="$(mktemp -d "$cache/work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
start_all=$SECONDS

# json_field FILE KEY: a top-level string field of `go mod download -json` output (no jq needed).
json_field() { sed -n "s/^[[:space:]]*\"$2\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p" "$1" | head -n1; }

build_apiserver() {
  local dir="$work/apiserver" minor patch gomod info commit built_at staging m ldflags=()
  mkdir -p "$dir" && cd "$dir"
  go mod init palisade.local/kube-apiserver-build 2>/dev/null
  go mod download -json "k8s.io/kubernetes@v$k8s_version" >"$work/k8s.json"
  gomod="$(json_field "$work/k8s.json" GoMod)"
  info="$(json_field "$work/k8s.json" Info)"
  [ -f "$gomod" ] || { log "no go.mod for k8s.io/kubernetes@v$k8s_version"; return 1; }
  minor="$(echo "$k8s_version" | cut -d. -f2)"
  patch="$(echo "$k8s_version" | cut -d. -f3)"
  # k8s.io/kubernetes requires its staging modules at the fictitious v0.0.0 and replaces them with
  # ./staging/... paths, which a dependency's go.mod cannot do; the published v0.<minor>.<patch>
  # tags are the same code. Derive the list from go.mod: it changes between releases.
  staging="$(sed -n 's/^[[:space:]]*\(k8s\.io\/[a-z0-9.-]*\) v0\.0\.0\( \/\/ indirect\)\{0,1\}$/\1/p' "$gomod")"
  [ -n "$staging" ] || { log "no staging modules found in $gomod"; return 1; }
  for m in $staging; do
    go mod edit "-replace=$m=$m@v0.$minor.$patch"
  done
  # The main module's go and godebug lines decide GODEBUG defaults; keep the ones k8s ships with.
  go mod edit "-go=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")"
  sed -n 's/^godebug \(.*\)$/\1/p' "$gomod" | while read -r setting; do
    go mod edit "-godebug=$setting"
  done
  log "resolving k8s.io/kubernetes@v$k8s_version ($(echo "$staging" | wc -l) staging modules)"
  go get "k8s.io/kubernetes/cmd/kube-apiserver@v$k8s_version" >&2
  # Version variables as hack/lib/version.sh sets them; without them the server reports
  # v0.0.0-master, which breaks kubeVersion constraints and version-gated client logic.
  commit="$(sed -n 's/.*"Hash":"\([0-9a-f]*\)".*/\1/p' "$info")"
  built_at="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info")"
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags+=("-X $pkg.gitVersion=v$k8s_version" "-X $pkg.gitMajor=1" "-X $pkg.gitMinor=$minor"
      "-X $pkg.gitCommit=$commit" "-X $pkg.gitTreeState=clean" "-X $pkg.buildDate=$built_at")
  done
  log "building kube-apiserver v$k8s_version"
  go build -p "$jobs" -trimpath -ldflags "-s -w ${ldflags[*]}" -o "$work/bin/kube-apiserver" \
    k8s.io/kubernetes/cmd/kube-apiserver
}

build_etcd() {
  local dir="$work/etcd"
  mkdir -p "$dir" && cd "$dir"
  go mod init palisade.local/etcd-build 2>/dev/null
  # The server module's root package is the etcd main; its ../api replaces are ignored as a
  # dependency, and its requires name real versions, so a wrapper module is enough.
  log "resolving go.etcd.io/etcd/server/v3@v$etcd_version"
  go get "go.etcd.io/etcd/server/v3@v$etcd_version" >&2
  log "building etcd v$etcd_version"
  go build -p "$jobs" -trimpath -ldflags "-s -w" -o "$work/bin/etcd" go.etcd.io/etcd/server/v3
}

t=$SECONDS
build_etcd
log "etcd built in $((SECONDS - t)) s"
t=$SECONDS
build_apiserver
log "kube-apiserver built in $((SECONDS - t)) s"

reported="$("$work/bin/kube-apiserver" --version)"
[ "$reported" = "Kubernetes v$k8s_version" ] || { log "kube-apiserver reports '$reported'"; exit 1; }
reported="$("$work/bin/etcd" --version)"
[ "${reported%%$'\n'*}" = "etcd Version: $etcd_version" ] || { log "etcd reports '$reported'"; exit 1; }

rm -rf "$target"
mkdir -p "$target"
mv "$work/bin" "$bin"
echo "$stamp_line" >"$stamp"
log "done in $((SECONDS - start_all)) s: $(du -sh "$bin" | cut -f1) of binaries"
echo "$bin"
