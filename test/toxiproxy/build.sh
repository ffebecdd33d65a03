#!/usr/bin/env bash
# Builds Toxiproxy (a TCP proxy that injects faults: latency, bandwidth limits, black holes,
# connection resets) from its Go module, for the fault tests and benchmarks:
#   toxiproxy-server <- github.com/Shopify/toxiproxy/v2/cmd/server (version in go.mod)
#
# Output: ${FLEETSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetscale}/toxiproxy/<key>/bin
# where <key> hashes go.mod, go.sum, this script and ../go-step.sh. A second run finds the binary
# and returns at once. The last line printed on stdout is the bin directory. Progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
. "$here/../go-step.sh"

command -v go >/dev/null || { echo "build.sh: go is not on PATH (Go >= 1.26 and the Go module proxy are needed to build Toxiproxy)" >&2; exit 1; }
command -v sha256sum >/dev/null || { echo "build.sh: sha256sum is missing" >&2; exit 1; }

cache_root="${FLEETSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetscale}"
key="$(cat go.mod go.sum build.sh ../go-step.sh | sha256sum | cut -c1-16)"
out="$cache_root/toxiproxy/$key"
bin="$out/bin"

version="$(awk '$1 == "github.com/Shopify/toxiproxy/v2" && $2 ~ /^v/ { print $2; exit }' go.mod)"
[[ -n "$version" ]] || { echo "build.sh: cannot read the Toxiproxy version from go.mod" >&2; exit 1; }

have() { [[ -f "$bin/.complete" && -x "$bin/toxiproxy-server" ]]; }

if have; then echo "$bin"; exit 0; fi

mkdir -p "$out"
# Serialise concurrent builds of the same key (several test runners may start at once).
exec 9>"$out/.lock"
if command -v flock >/dev/null; then flock 9; fi

if ! have; then
  start=$(date +%s)
  echo "build.sh: building Toxiproxy $version into $bin (cold: well under a minute on 2 cores)" >&2
  export GOTOOLCHAIN=local            # never try to download a Go toolchain
  export GOFLAGS="-mod=readonly ${GOFLAGS:-}"
  export CGO_ENABLED=0                # static binary, no C toolchain needed
  go_step "downloading the Go modules of test/toxiproxy/go.mod" go mod download
  rm -rf "$out"/.build-*              # debris of interrupted builds (we hold the lock)
  tmp="$out/.build-$$"
  mkdir -p "$tmp"
  go_step "building toxiproxy-server (github.com/Shopify/toxiproxy/v2/cmd/server)" \
    go build -p 2 -ldflags "-s -w -X github.com/Shopify/toxiproxy/v2.Version=$version" \
    -o "$tmp/toxiproxy-server" github.com/Shopify/toxiproxy/v2/cmd/server
  mkdir -p "$bin"
  mv -f "$tmp/toxiproxy-server" "$bin/toxiproxy-server"
  rm -rf "$tmp"
  echo "toxiproxy=$version" >"$bin/versions.txt"
  touch "$bin/.complete"
  echo "build.sh: built in $(( $(date +%s) - start ))s" >&2
fi

echo "$bin"
