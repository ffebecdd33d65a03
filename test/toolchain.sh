#!/usr/bin/env bash
# Builds (or finds, cached) every real component the tests and the local fleet run on:
# the Kubernetes control plane and kwok (test/fleet), the Pulumi CLI, Node.js language host
# and Kubernetes provider (test/pulumi), KEDA's and the Prometheus Operator's CRDs (test/keda,
# test/prometheus-operator) and Toxiproxy, the fault-injecting
# TCP proxy of the fault tests and benchmarks (test/toxiproxy) and promtool, which checks and
# unit-tests the runtime's alert rules (test/promtool). All from Go modules, except nft
# (test/nft: unpacked from Debian's nftables packages, not installed, for silenced connections)
# and the runtime image (test/image: built from the Dockerfile with podman, which it installs
# from Debian with runc and debootstrap when missing); and the real node of `fleet up --real-node`
# (test/node: kubelet + kube-proxy from the Go module, containerd/runc/CNI/iptables unpacked from
# pinned Debian packages, its pause and hello images built with podman).
# A second run takes seconds. Needs Go >= 1.26, the Go module proxy, the npm registry, the
# Debian mirror and root (podman).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v go >/dev/null || { echo "toolchain: Go is not installed (needed to build Kubernetes and Pulumi from Go modules)" >&2; exit 1; }
start=$(date +%s)
fleet="$("$here/fleet/build.sh" | tail -n1)"
pulumi="$("$here/pulumi/build.sh" | tail -n1)"
keda="$("$here/keda/crds.sh" | tail -n1)"
promop="$("$here/prometheus-operator/crds.sh" | tail -n1)"
toxiproxy="$("$here/toxiproxy/build.sh" | tail -n1)"
promtool="$("$here/promtool/build.sh" | tail -n1)"
nft="$("$here/nft/fetch.sh" | tail -n1)"
image="$("$here/image/build.sh" | tail -n1)"
kubelet="$("$here/node/build-kubelet.sh" | tail -n1)"
noderuntime="$("$here/node/fetch-runtime.sh" | tail -n1)"
nodeimages="$("$here/node/build-images.sh" | tail -n1)"
echo "toolchain ready in $(( $(date +%s) - start ))s" >&2
printf 'fleet     %s\npulumi    %s\nkeda      %s\nprom-op   %s\ntoxiproxy %s\npromtool  %s\nnft       %s\nimage     %s\nkubelet   %s\nnode-rt   %s\nnode-img  %s\n' \
  "$fleet" "$pulumi" "$keda" "$promop" "$toxiproxy" "$promtool" "$nft" "$image" "$kubelet" "$noderuntime" "$nodeimages"
