#!/usr/bin/env bash
# Prints the directory holding the Prometheus Operator's real CRDs (example/prometheus-operator-crd:
# monitoring.coreos.com_servicemonitors.yaml, monitoring.coreos.com_prometheusrules.yaml, ...),
# taken from its Go module through the Go module proxy, for the test that applies ScalerHub's
# ServiceMonitor and PrometheusRule. The module zip is checksum-verified against sum.golang.org
# and cached in GOMODCACHE, so only the first run downloads anything.
#
# Usage: test/prometheus-operator/crds.sh                 -> first version below the proxy serves
#        PROMETHEUS_OPERATOR_VERSION=v0.85.0 test/prometheus-operator/crds.sh
# The last line on stdout is the CRD directory; the chosen version goes to stderr.
set -euo pipefail

command -v go >/dev/null || { echo "crds.sh: go is not on PATH" >&2; exit 1; }

# The proxy this project runs behind refuses the newer releases (v0.95.x: 403, "not available"),
# so the one it serves comes first; the rest are fallbacks for a proxy that serves them instead.
versions=("${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}" v0.95.2)

# Outside any module, so no go.mod takes part in the download.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
export GOTOOLCHAIN=local

for version in "${versions[@]}"; do
  if ! info="$(go mod download -json "github.com/prometheus-operator/prometheus-operator@${version}" 2>&1)"; then
    why="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' | head -n1)"
    echo "crds.sh: github.com/prometheus-operator/prometheus-operator@${version} not available (${why:-$info}), trying the next version" >&2
    continue
  fi
  dir="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1)"
  crds="$dir/example/prometheus-operator-crd"
  if [[ -n "$dir" && -f "$crds/monitoring.coreos.com_servicemonitors.yaml" && -f "$crds/monitoring.coreos.com_prometheusrules.yaml" ]]; then
    echo "crds.sh: Prometheus Operator ${version}" >&2
    echo "$crds"
    exit 0
  fi
  echo "crds.sh: Prometheus Operator ${version} has no ServiceMonitor and PrometheusRule CRDs in $crds" >&2
done

echo "crds.sh: no Prometheus Operator version could be downloaded from GOPROXY=$(go env GOPROXY) (tried ${versions[*]}; reasons above)" >&2
exit 1
