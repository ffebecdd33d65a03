#!/usr/bin/env bash
# Makes a stand-in for the Dockerfile's base image (FROM node:22-bookworm-slim), which no
# registry here can serve: a minimal Debian 12 made by debootstrap from the Debian mirror, plus
# the Node.js binary the project brings from the npm registry (node_modules/node) and npm,
# imported into podman under the name the FROM uses, so that the Dockerfile builds unchanged
# with --pull=never. Cached by content: a label on the image holds the hash of this script, the
# podman settings, the Node.js and npm versions and the mirror; a second run returns at once.
# The last line on stdout is the base image's name.
#
# Needs root, and podman, runc and debootstrap (Debian packages, installed with apt-get from
# the system's apt sources when missing).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
say() { echo "image/base.sh: $*" >&2; }
die() { say "$*"; exit 1; }

[[ "$(id -u)" == 0 ]] || die "needs root (podman with runc and cgroupfs, debootstrap)"
missing=()
for tool in podman:podman runc:runc debootstrap:debootstrap; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if ((${#missing[@]} > 0)); then
  say "installing ${missing[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
export CONTAINERS_CONF="$here/containers.conf"

node_bin="$root/node_modules/node/bin/node"
[[ -x "$node_bin" ]] || die "$node_bin is missing: run npm ci first (the project brings Node.js 22 from the npm registry)"
node_version="$("$node_bin" --version)"
npm_version=10.9.9 # the npm major that Node.js 22 bundles
mirror="${FLEETSCALE_DEBIAN_MIRROR:-$(awk '/^URIs:/ && $2 ~ /\/debian\/?$/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)}"
[[ -n "$mirror" ]] || mirror="$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)"
[[ -n "$mirror" ]] || die "no Debian mirror in the apt sources; set FLEETSCALE_DEBIAN_MIRROR"

base="$(awk '$1 == "FROM" { print $2; exit }' "$root/Dockerfile")"
case "$base" in */*) ;; *) base="docker.io/library/$base" ;; esac
base_key="$( { cat "$here/base.sh" "$here/containers.conf"; echo "$node_version $npm_version $mirror"; } | sha256sum | cut -c1-16)"
# A base image of that name without the stand-in's label is the real one (pulled where a
# registry is reachable): it is used as it is, never replaced.
label="$(podman image inspect --format '{{ index .Labels "fleetscale.stand-in" }}' "$base" 2>/dev/null || echo absent)"
if [[ "$label" == "<no value>" || "$label" == "" ]]; then
  say "using $base as it is (not a stand-in)"
elif [[ "$label" != "$base_key" ]]; then
  started=$(date +%s)
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  say "making the base image stand-in $base: debootstrap bookworm from $mirror, Node.js $node_version, npm $npm_version"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
  rm -rf "$work/rootfs/var/lib/apt/lists"/* "$work/rootfs/var/cache/apt"/*.bin "$work/rootfs/var/cache/apt/archives"/*.deb
  install -m 0755 "$node_bin" "$work/rootfs/usr/local/bin/node"
  (cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null)
  mkdir -p "$work/rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$work/npm-$npm_version.tgz" -C "$work/rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/rootfs/usr/local/bin/npx"
  tar -C "$work/rootfs" -c . | podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=${node_version#v}" \
    --change 'CMD ["node"]' \
    --change "LABEL fleetscale.stand-in=$base_key" \
    - "$base" >/dev/null
  rm -rf "$work"
  trap - EXIT
  say "stand-in $base made in $(($(date +%s) - started))s, $(podman image inspect --format '{{.Size}}' "$base" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
fi

echo "$base"
