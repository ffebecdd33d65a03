#!/usr/bin/env bash
# Prints the directory holding KEDA's real CRDs (config/crd/bases: keda.sh_scaledobjects.yaml,
# keda.sh_triggerauthentications.yaml, ...), taken from the KEDA Go module through the Go
# module proxy. The module zip is checksum-verified against sum.golang.org and cached in
# GOMODCACHE, so only the first run downloads anything.
#
# Usage: test/keda/crds.sh            -> first version in the list below that the proxy serves
#        KEDA_VERSION=v2.18.3 test/keda/crds.sh
# The last line on stdout is the CRD directory; the chosen version goes to stderr.
set -euo pipefail

command -v go >/dev/null || { echo "crds.sh: go is not on PATH" >&2; exit 1; }

# Newest first. Fallbacks exist because the proxy this project runs behind refuses some
# module versions (403); any of these ships the v1alpha1 ScaledObject CRD we test against.
versions=("${KEDA_VERSION:-v2.21.0}" v2.20.2 v2.18.3 v2.17.2 v2.16.1)

# Outside any module, so no go.mod (test/fleet's, say) takes part in the download.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"

for version in "${versions[@]}"; do
  if ! info="$(go mod download -json "github.com/kedacore/keda/v2@${version}" 2>&1)"; then
    why="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' | head -n1)"
    echo "crds.sh: github.com/kedacore/keda/v2@${version} not available (${why:-$info}), trying the next version" >&2
    continue
  fi
  dir="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1)"
  crds="$dir/config/crd/bases"
  if [[ -n "$dir" && -f "$crds/keda.sh_scaledobjects.yaml" ]]; then
    echo "crds.sh: KEDA ${version}" >&2
    echo "$crds"
    exit 0
  fi
  echo "crds.sh: KEDA ${version} has no $crds/keda.sh_scaledobjects.yaml" >&2
done

echo "crds.sh: no KEDA version could be downloaded from GOPROXY=$(go env GOPROXY) (tried ${versions[*]}; reasons above)" >&2
exit 1
