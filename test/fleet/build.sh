#!/usr/bin/env bash
# Builds the local Kubernetes fleet binaries from Go modules (see README.md):
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (k8s.io/kubernetes),
#   etcd (go.etcd.io/etcd/server/v3), kwok + kwokctl (sigs.k8s.io/kwok), and our `fleet` launcher.
#
# Output: ${FLEETSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetscale}/fleet/<key>/bin
# where <key> hashes go.mod, go.sum and this script; the launcher goes into <key>/launcher/<hash of its
# sources>, beside symlinks to those binaries. A second run finds the binaries and returns in seconds.
# The last line printed on stdout is that launcher directory (use it as the bin directory). Progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
. "$here/../go-step.sh"

command -v go >/dev/null || { echo "build.sh: go is not on PATH" >&2; exit 1; }
command -v sha256sum >/dev/null || { echo "build.sh: sha256sum is missing" >&2; exit 1; }

cache_root="${FLEETSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetscale}"
key="$(cat go.mod go.sum build.sh ../go-step.sh | sha256sum | cut -c1-16)"
out="$cache_root/fleet/$key"
bin="$out/bin"

# Versions come from go.mod so that /version reports what was really built.
kube_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' go.mod)"
kwok_version="$(awk '$1 == "sigs.k8s.io/kwok" && $2 ~ /^v/ { print $2; exit }' go.mod)"
[[ -n "$kube_version" && -n "$kwok_version" ]] || { echo "build.sh: cannot read versions from go.mod" >&2; exit 1; }
kube_major="${kube_version#v}"; kube_major="${kube_major%%.*}"
kube_minor="${kube_version#v*.}"; kube_minor="${kube_minor%%.*}"

components=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwokctl)

have_all() {
  [[ -f "$bin/.complete" ]] || return 1
  local c
  for c in "${components[@]}"; do [[ -x "$bin/$c" ]] || return 1; done
}

# The launcher is small (stdlib only) and changes more often than the components: it gets a bin
# directory of its own per source hash (cmd/fleet/*.go, go.mod, go.sum), <out>/launcher/<hash>,
# with the `fleet` binary and symlinks to the components. Two worktrees with different launchers
# thus never replace each other's `fleet` in the shared cache, and a launcher change does not
# rebuild Kubernetes. That directory is what this script prints.
src_hash="$(cat go.mod go.sum cmd/fleet/*.go | sha256sum | cut -c1-16)"
launcher_bin="$out/launcher/$src_hash"
build_launcher() {
  if [[ -x "$launcher_bin/fleet" && -f "$launcher_bin/.complete" ]]; then
    return 0
  fi
  echo "build.sh: building fleet launcher $src_hash" >&2
  local tmp c
  rm -rf "$launcher_bin"
  tmp="$(mktemp -d "$out/.fleet-XXXXXX")"
  chmod 755 "$tmp"
  go_step "building the fleet launcher" go build -p 2 -o "$tmp/fleet" ./cmd/fleet
  for c in "${components[@]}" versions.txt; do ln -s "../../bin/$c" "$tmp/$c"; done
  touch "$tmp/.complete"
  mkdir -p "$out/launcher"
  mv -T "$tmp" "$launcher_bin"
}

mkdir -p "$out"
# Serialise concurrent builds of the same key (several test runners may start at once).
exec 9>"$out/.lock"
if command -v flock >/dev/null; then flock 9; fi

if ! have_all; then
  start=$(date +%s)
  echo "build.sh: building Kubernetes $kube_version, etcd, kwok $kwok_version into $bin (a cold build takes ~6 min on 2 idle cores)" >&2
  go_step "downloading the Go modules of test/fleet/go.mod" go mod download
  rm -rf "$out"/.build-* "$out"/.fleet-*   # debris of interrupted builds (we hold the lock)
  tmp="$out/.build-$$"
  mkdir -p "$tmp"
  # The module proxy records when the release was tagged; use it as the build date so that
  # rebuilds are reproducible. The release commit is not known from the module, so it stays empty.
  kube_date="$(go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes)"
  pkg="k8s.io/component-base/version"
  ldflags="-s -w"
  ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=$kube_major -X $pkg.gitMinor=$kube_minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit= -X $pkg.buildDate=${kube_date:-1970-01-01T00:00:00Z}"
  ldflags+=" -X sigs.k8s.io/kwok/pkg/consts.Version=${kwok_version#v}"
  ldflags+=" -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${kube_version#v}"
  # CGO off: static binaries, no C toolchain needed. Build one package at a time so that
  # memory stays modest, each with -p 2 parallelism inside.
  export CGO_ENABLED=0
  build_one() { # name package
    echo "build.sh:   $1 <- $2" >&2
    go_step "building $1 ($2)" go build -p 2 -ldflags "$ldflags" -o "$tmp/$1" "$2"
  }
  build_one etcd go.etcd.io/etcd/server/v3
  build_one kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
  build_one kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
  build_one kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler
  build_one kubectl k8s.io/kubernetes/cmd/kubectl
  build_one kwok sigs.k8s.io/kwok/cmd/kwok
  build_one kwokctl sigs.k8s.io/kwok/cmd/kwokctl
  mkdir -p "$bin"
  for c in "${components[@]}"; do mv -f "$tmp/$c" "$bin/$c"; done
  rm -rf "$tmp"
  {
    echo "kubernetes=$kube_version"
    echo "kwok=$kwok_version"
    echo "etcd=$(awk '$1 == "go.etcd.io/etcd/server/v3" && $2 ~ /^v/ { print $2; exit }' go.mod)"
  } >"$bin/versions.txt"
  touch "$bin/.complete"
  echo "build.sh: built in $(( $(date +%s) - start ))s" >&2
fi

build_launcher
echo "$launcher_bin"
