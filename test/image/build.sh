#!/usr/bin/env bash
# Builds the scaler runtime image from the repository's own Dockerfile, unchanged, with podman
# and no image registry (none is reachable here):
#
# 1. base.sh makes a stand-in for the Dockerfile's base image, tagged with the name its FROM uses.
# 2. `podman build --pull=never` of the Dockerfile, tagged localhost/fleetscale-scaler:<key>.
#
# Cached by content: the image's key hashes the base image's ID, the Dockerfile, .dockerignore and
# every file its COPY lines name. A second run returns at once. The last line on stdout is the
# image reference; progress and sizes go to stderr. Needs root (see base.sh). Env:
# FLEETSCALE_IMAGE_TAG overrides the tag (e.g. a second tag for a rolling update).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
say() { echo "image/build.sh: $*" >&2; }
die() { say "$*"; exit 1; }

base="$("$here/base.sh" | tail -n1)"
export CONTAINERS_CONF="$here/containers.conf"
base_id="$(podman image inspect --format '{{.Id}}' "$base")"

# Every source the Dockerfile copies from the build context, hashed by content.
sources=()
while read -r src; do sources+=("$src"); done < <(awk '$1 == "COPY" && $2 !~ /^--from/ { for (i = 2; i < NF; i++) print $i }' "$root/Dockerfile")
image_key="$( { echo "$base_id"; cat "$here/build.sh" "$root/Dockerfile" "$root/.dockerignore"; (cd "$root" && find "${sources[@]}" -type f -not -name '*.test.ts' -not -name '*.cluster-test.ts' -print0 | sort -z | xargs -0 sha256sum); } | sha256sum | cut -c1-16)"
tag="${FLEETSCALE_IMAGE_TAG:-localhost/fleetscale-scaler:$image_key}"
if ! podman image exists "$tag"; then
  started=$(date +%s)
  say "building $tag from $root/Dockerfile"
  # The build stage runs npm ci on the host's network, so it reaches the registry as npm here
  # does. Where Node.js or npm here trust an extra CA (a TLS-intercepting gateway), the build's
  # npm is told the same through mounts that exist only while a RUN step runs and never enter
  # the image. NODE_EXTRA_CA_CERTS first: which npmrc `npm config` reads depends on which
  # Node.js runs npm (npm test puts the project's Node 22 first on PATH).
  mounts=()
  cafile="${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}"
  if [[ -n "$cafile" && "$cafile" != null && -f "$cafile" ]]; then
    npmrc="$(mktemp)"
    trap 'rm -f "$npmrc"' EXIT
    echo "cafile=/run/fleetscale-npm-ca.crt" >"$npmrc"
    mounts+=(--volume "$cafile:/run/fleetscale-npm-ca.crt:ro" --volume "$npmrc:/usr/local/etc/npmrc:ro")
  fi
  podman build --quiet --pull=never --network=host "${mounts[@]}" -f "$root/Dockerfile" -t "$tag" "$root" >/dev/null
  say "built $tag in $(($(date +%s) - started))s, $(podman image inspect --format '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
  # Images of earlier sources and the build stages' layers would otherwise pile up run after run.
  # Only those a day old: another checkout on this machine may be testing a newer one right now.
  podman images --filter until=24h --format '{{.Repository}}:{{.Tag}}' | grep -E '^localhost/fleetscale-scaler:[0-9a-f]{16}$' | grep -vxF "$tag" | xargs -r podman rmi >/dev/null 2>&1 || true
  podman image prune --force --filter until=24h >/dev/null 2>&1 || true
fi
echo "$tag"
