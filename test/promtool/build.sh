#!/usr/bin/env bash
# Builds promtool (Prometheus' rule checker and rule unit-test runner) from its Go module, for the
# tests of the runtime's alert rules (components/runtime-alerts.test.ts):
#   promtool <- github.com/prometheus/prometheus/cmd/promtool (version in go.mod)
# Prometheus 3.x is published as the Go module version v0.3MM.P (3.MM.P): the module path has no
# /v3 suffix, so `go list -m -versions github.com/prometheus/prometheus` lists v0.316.0 for 3.16.0.
#
# Output: ${FLEETSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetscale}/promtool/<key>/bin
# where <key> hashes go.mod, go.sum, this script and ../go-step.sh. A second run finds the binary
# and returns at once. The last line printed on stdout is the bin directory. Progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
. "$here/../go-step.sh"

command -v go >/dev/null || { echo "build.sh: go is not on PATH (Go >= 1.26.7 and the Go module proxy are needed to build promtool)" >&2; exit 1; }
command -v sha256sum >/dev/null || { echo "build.sh: sha256sum is missing" >&2; exit 1; }

cache_root="${FLEETSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetscale}"
key="$(cat go.mod go.sum build.sh ../go-step.sh | sha256sum | cut -c1-16)"
out="$cache_root/promtool/$key"
bin="$out/bin"

version="$(awk '$1 == "github.com/prometheus/prometheus" && $2 ~ /^v/ { print $2; exit }' go.mod)"
[[ -n "$version" ]] || { echo "build.sh: cannot read the Prometheus version from go.mod" >&2; exit 1; }
# v0.316.0 -> 3.16.0, the version promtool reports and Prometheus' release is named by.
release="$(sed -E 's/^v0\.3([0-9]{2})\.([0-9]+)$/3.\1.\2/; s/^3\.0([0-9])\./3.\1./' <<<"$version")"

have() { [[ -f "$bin/.complete" && -x "$bin/promtool" ]]; }

if have; then echo "$bin"; exit 0; fi

mkdir -p "$out"
# Serialise concurrent builds of the same key (several test runners may start at once).
exec 9>"$out/.lock"
if command -v flock >/dev/null; then flock 9; fi

if ! have; then
  start=$(date +%s)
  echo "build.sh: building promtool $release ($version) into $bin (cold: ~8 CPU-minutes, 19 min on 2 busy cores)" >&2
  export GOTOOLCHAIN=local            # never try to download a Go toolchain
  export GOFLAGS="-mod=readonly ${GOFLAGS:-}"
  export CGO_ENABLED=0                # static binary, no C toolchain needed
  rm -rf "$out"/.build-*              # debris of interrupted builds (we hold the lock)
  tmp="$out/.build-$$"
  mkdir -p "$tmp"
  # No blanket `go mod download`: `go build` fetches just the modules promtool's packages need.
  go_step "building promtool (github.com/prometheus/prometheus/cmd/promtool)" \
    go build -p 2 -trimpath \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$release" \
    -o "$tmp/promtool" github.com/prometheus/prometheus/cmd/promtool
  mkdir -p "$bin"
  mv -f "$tmp/promtool" "$bin/promtool"
  rm -rf "$tmp"
  "$bin/promtool" --version >&2
  echo "promtool=$release" >"$bin/versions.txt"
  touch "$bin/.complete"
  echo "build.sh: built in $(( $(date +%s) - start ))s" >&2
fi

echo "$bin"
