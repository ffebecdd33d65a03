#!/usr/bin/env bash
# Loads an image from podman's store into the real node of a local fleet (fleet up --real-node):
# podman save as an OCI archive, then `fleet import-image` into the node's containerd, where a
# pod with that exact reference and imagePullPolicy IfNotPresent or Never runs it.
# Usage: load.sh <fleet dir> <image>
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# == 2 ]] || { echo "usage: load.sh <fleet dir> <image>" >&2; exit 2; }
fleet_dir="$1" image="$2"
export CONTAINERS_CONF="$here/containers.conf"
launcher="$("$here/../fleet/build.sh" | tail -n1)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
podman save --quiet --format oci-archive -o "$work/image.oci.tar" "$image"
"$launcher/fleet" import-image --dir "$fleet_dir" "$work/image.oci.tar"
