#!/usr/bin/env bash
# Builds (or finds, cached) every real component the tests and the local fleet run on:
# the Kubernetes control plane and kwok (test/fleet), the Pulumi CLI, Node.js language host
# and Kubernetes provider (test/pulumi), and KEDA's CRDs (test/keda). All from Go modules.
# A second run takes seconds. Needs Go >= 1.26 and the Go module proxy.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v go >/dev/null || { echo "toolchain: Go is not installed (needed to build Kubernetes and Pulumi from Go modules)" >&2; exit 1; }
start=$(date +%s)
fleet="$("$here/fleet/build.sh" | tail -n1)"
pulumi="$("$here/pulumi/build.sh" | tail -n1)"
keda="$("$here/keda/crds.sh" | tail -n1)"
echo "toolchain ready in $(( $(date +%s) - start ))s" >&2
printf 'fleet  %s\npulumi %s\nkeda   %s\n' "$fleet" "$pulumi" "$keda"
