#!/usr/bin/env bash
# Builds the real node's (test/fleet: fleet up --real-node) two small images with podman, each a static Go binary FROM scratch:
#   fleetscale.local/pause:1  the pod sandbox process (containerd's sandbox_image; the upstream
#                             pause image's registry is unreachable)
#   fleetscale.local/hello:1  an HTTP server on :8080 (/healthz, /get?url=) for test/real-node.cluster-test.ts
# and saves them as OCI archives for `ctr -n k8s.io images import`.
#
# Output: ${FLEETSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetscale}/node/images/<key>
#   pause.oci.tar, hello.oci.tar, names.txt
# <key> hashes this script and images/. podman keeps its storage under the cache (node/podman),
# configured through CONTAINERS_CONF / CONTAINERS_STORAGE_CONF: nothing in /etc is read or changed
# beyond podman's packaged defaults. Needs Go and podman (Debian's 4.3, installed with apt-get when
# missing, as test/image/base.sh does).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
say() { echo "build-images.sh: $*" >&2; }
die() { say "$*"; exit 1; }
# podman from Debian when missing, installed the way test/image/base.sh does (needs root).
if ! command -v podman >/dev/null; then
  [[ "$(id -u)" == 0 ]] || die "podman is missing and installing it needs root"
  say "installing podman from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends podman >&2
fi
command -v go >/dev/null || die "go is missing"

cache_root="${FLEETSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetscale}"
key="$( (cat build-images.sh; find images -type f | sort | xargs cat) | sha256sum | cut -c1-16)"
out="$cache_root/node/images/$key"
have() { [[ -f "$out/.complete" ]]; }
if have; then echo "$out"; exit 0; fi

# podman: runc (crun refuses hybrid cgroups; Debian's podman pulls in crun, not runc, so the runc
# unpacked by fetch-runtime.sh is named), cgroupfs, the hard nofile limit this machine allows,
# storage of its own.
runtime="$("$here/fetch-runtime.sh" | tail -n1)"
. "$runtime/env"
pm="$cache_root/node/podman"
mkdir -p "$pm/storage" "$pm/run"
cat >"$pm/containers.conf" <<EOC
[containers]
default_ulimits=["nofile=20000:20000","nproc=32768:32768"]
[engine]
runtime="runc"
cgroup_manager="cgroupfs"
[engine.runtimes]
runc=["$runtime/bin/runc"]
EOC
cat >"$pm/storage.conf" <<EOC
[storage]
driver = "overlay"
graphroot = "$pm/storage"
runroot = "$pm/run"
EOC
export CONTAINERS_CONF="$pm/containers.conf" CONTAINERS_STORAGE_CONF="$pm/storage.conf"

mkdir -p "$out"
exec 9>"$out/.lock"
if command -v flock >/dev/null; then flock 9; fi
if ! have; then
  start=$(date +%s)
  rm -rf "$out"/.build-*
  tmp="$out/.build-$$"
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp"
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=readonly ${GOFLAGS:-}"
  for img in pause hello; do
    mkdir -p "$tmp/$img"
    go build -trimpath -ldflags "-s -w" -o "$tmp/$img/$img" "./images/$img"
    cp "images/$img/Containerfile" "$tmp/$img/Containerfile"
    name="fleetscale.local/$img:1"
    podman build -q --pull=never -t "$name" "$tmp/$img" >/dev/null
    rm -f "$tmp/$img.oci.tar"
    podman save -q --format oci-archive -o "$tmp/$img.oci.tar" "$name" >&2
    echo "$img $name" >>"$tmp/names.txt"
  done
  mv "$tmp/pause.oci.tar" "$tmp/hello.oci.tar" "$tmp/names.txt" "$out/"
  rm -rf "$tmp"
  touch "$out/.complete"
  say "built in $(( $(date +%s) - start ))s into $out"
fi
echo "$out"
