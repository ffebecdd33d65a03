#!/usr/bin/env bash
# Builds the kubelet and kube-proxy from the k8s.io/kubernetes module pinned in go.mod (the same
# version as test/fleet's control plane), stamped with the same version ldflags as test/fleet/build.sh:
#   kubelet    <- k8s.io/kubernetes/cmd/kubelet
#   kube-proxy <- k8s.io/kubernetes/cmd/kube-proxy
#
# Output: ${FLEETSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetscale}/node/kubelet/<key>/bin
# where <key> hashes go.mod, go.sum, this script and ../go-step.sh. A second run returns at once.
# The last line printed on stdout is the bin directory. Progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
. "$here/../go-step.sh"

command -v go >/dev/null || { echo "build-kubelet.sh: go is not on PATH (Go >= 1.26 is needed)" >&2; exit 1; }

cache_root="${FLEETSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetscale}"
key="$(cat go.mod go.sum build-kubelet.sh ../go-step.sh | sha256sum | cut -c1-16)"
out="$cache_root/node/kubelet/$key"
bin="$out/bin"

have() { [[ -f "$bin/.complete" && -x "$bin/kubelet" && -x "$bin/kube-proxy" ]]; }
if have; then echo "$bin"; exit 0; fi

kube_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' go.mod)"
[[ -n "$kube_version" ]] || { echo "build-kubelet.sh: cannot read the Kubernetes version from go.mod" >&2; exit 1; }
kube_major="${kube_version#v}"; kube_major="${kube_major%%.*}"
kube_minor="${kube_version#v*.}"; kube_minor="${kube_minor%%.*}"

mkdir -p "$out"
exec 9>"$out/.lock"
if command -v flock >/dev/null; then flock 9; fi

if ! have; then
  start=$(date +%s)
  echo "build-kubelet.sh: building kubelet $kube_version into $bin" >&2
  export GOTOOLCHAIN=local
  export GOFLAGS="-mod=readonly ${GOFLAGS:-}"
  export CGO_ENABLED=0
  go_step "downloading the Go modules of test/node/go.mod" go mod download
  rm -rf "$out"/.build-*
  tmp="$out/.build-$$"
  mkdir -p "$tmp"
  kube_date="$(go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes)"
  pkg="k8s.io/component-base/version"
  ldflags="-s -w"
  ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=$kube_major -X $pkg.gitMinor=$kube_minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit= -X $pkg.buildDate=${kube_date:-1970-01-01T00:00:00Z}"
  for c in kubelet kube-proxy; do
    s=$(date +%s)
    go_step "building $c (k8s.io/kubernetes/cmd/$c)" \
      go build -p 2 -ldflags "$ldflags" -o "$tmp/$c" "k8s.io/kubernetes/cmd/$c"
    echo "build-kubelet.sh:   $c built in $(( $(date +%s) - s ))s" >&2
  done
  mkdir -p "$bin"
  mv -f "$tmp/kubelet" "$tmp/kube-proxy" "$bin/"
  rm -rf "$tmp"
  echo "kubernetes=$kube_version" >"$bin/versions.txt"
  touch "$bin/.complete"
  echo "build-kubelet.sh: built in $(( $(date +%s) - start ))s" >&2
fi

echo "$bin"
