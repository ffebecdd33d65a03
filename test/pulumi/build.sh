#!/usr/bin/env bash
# Builds the Pulumi toolchain the tests run, from Go modules only (see README.md):
#
#   ${FLEETSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetscale}/pulumi/<key>/
#     bin/pulumi                         CLI + engine, pkg/v3 v3.259.0            (./cli)
#     bin/pulumi-language-nodejs         Node.js language host, sdk/v3 v3.68.0    (./langhost)
#     bin/pulumi-resource-pulumi-nodejs  dynamic-provider launcher script, copied from sdk/v3 v3.259.0
#     bin/pulumi-language-yaml           YAML language host, pulumi-yaml v1.38.1 on pkg/v3 v3.259.0 (./yaml)
#     home/                              PULUMI_HOME with resource plugin kubernetes 4.25.0 (./kubernetes)
#
# The cache dir is printed as the last line of stdout. <key> hashes this script and every
# go.mod/go.sum/*.go under test/pulumi, so a warm run only hashes files and returns.
# Exit status 0 = toolchain ready; anything else = it could not be built (details on stderr).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../go-step.sh"

pulumi_version="v3.259.0"        # = "@pulumi/pulumi" in package.json (without the v)
langhost_version="v3.68.0"       # last sdk/v3 release that contains nodejs/cmd/pulumi-language-nodejs
k8s_version="4.25.0"             # = "@pulumi/kubernetes" in package.json
yaml_version="v1.38.1"           # newest pulumi-yaml release the module proxy serves (see README.md)

die() { echo "build.sh: $*" >&2; exit 1; }

cache_root="${FLEETSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetscale}"
key="$(
  cd "$here"
  { echo build.sh; echo ../go-step.sh; find cli langhost yaml kubernetes -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) | LC_ALL=C sort; } |
    while read -r f; do printf '%s\n' "$f"; sha256sum <"$f"; done | sha256sum | cut -c1-16
)"
out="$cache_root/pulumi/$key"

if [[ -f "$out/.complete" ]]; then
  echo "$out"
  exit 0
fi

mkdir -p "$cache_root/pulumi"
# One build at a time per key (test processes may start in parallel); the others wait here.
exec 9>"$cache_root/pulumi/.lock-$key"
flock 9
if [[ -f "$out/.complete" ]]; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || die "go is not on PATH (Go >= 1.25 and the Go module proxy are needed to build the Pulumi toolchain)"
export GOTOOLCHAIN=local   # never try to download a Go toolchain
export GOFLAGS="-mod=readonly ${GOFLAGS:-}"
tmp="$(mktemp -d "$cache_root/pulumi/.tmp-$key.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/home" "$tmp/src"
start=$SECONDS
step() { echo "build.sh: [$((SECONDS - start))s] $*" >&2; }

# module_dir MODULE_DIR MODULE_PATH: the directory of MODULE_PATH (at the version MODULE_DIR's
# go.mod requires) in the module cache, downloading it first if needed. `go list -m` alone only
# reports modules already in the cache, which hid a missing download on warm machines.
module_dir() {
  local info d version
  version="$(cd "$1" && go list -m -f '{{.Version}}' "$2")" || die "$2 is not required by $1/go.mod"
  if ! info="$(cd "$1" && go mod download -json "$2" 2>&1)"; then
    d="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' | head -n1)"
    die "cannot download Go module $2@$version from GOPROXY=$(go env GOPROXY): ${d:-$info}"
  fi
  d="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1)"
  [[ -n "$d" && -d "$d" ]] || die "go mod download reported no directory for $2@$version"
  echo "$d"
}

# No blanket `go mod download`: it asks the proxy for every module's .info, and the proxy refuses
# some (e.g. gocloud.dev's pseudo-version) while serving the .mod/.zip that `go build` actually needs.
step "GOPROXY=$(go env GOPROXY)"
step "building pulumi $pulumi_version (github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)"
(cd "$here/cli" && go_step "building the pulumi CLI" go build -p 2 -o "$tmp/bin/pulumi" \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version" \
  github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)

step "building pulumi-language-nodejs $langhost_version (github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs)"
(cd "$here/langhost" && go_step "building the Node.js language host" go build -p 2 -o "$tmp/bin/pulumi-language-nodejs" \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$langhost_version" \
  github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs)

step "building pulumi-language-yaml $yaml_version (github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml)"
(cd "$here/yaml" && go_step "building the YAML language host" go build -p 2 -o "$tmp/bin/pulumi-language-yaml" \
  -ldflags "-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=$yaml_version" \
  github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml)

step "copying pulumi-resource-pulumi-nodejs from sdk/v3 $pulumi_version"
sdk_dir="$(module_dir "$here/cli" github.com/pulumi/pulumi/sdk/v3)"
install -m 0755 "$sdk_dir/nodejs/dist/pulumi-resource-pulumi-nodejs" "$tmp/bin/pulumi-resource-pulumi-nodejs"

step "building pulumi-resource-kubernetes $k8s_version"
# Build from a scratch copy of ./kubernetes, next to the schema/mapping files that main.go embeds.
k8s_cmd="$(module_dir "$here/kubernetes" github.com/pulumi/pulumi-kubernetes/provider/v4)/cmd/pulumi-resource-kubernetes"
cp -R "$here/kubernetes" "$tmp/src/kubernetes"
(
  cd "$tmp/src/kubernetes"
  go_step "generating the kubernetes provider's embedded schema" go run ./gen "$k8s_cmd" . "$k8s_version"
  go_step "building the kubernetes provider" go build -p 2 -o "$tmp/src/pulumi-resource-kubernetes" \
    -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$k8s_version" .
)

step "installing resource plugin kubernetes $k8s_version into home/"
(
  cd "$tmp"
  export PULUMI_HOME="$tmp/home" PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  "$tmp/bin/pulumi" plugin install resource kubernetes "$k8s_version" --file "$tmp/src/pulumi-resource-kubernetes" --non-interactive >&2
  "$tmp/bin/pulumi" plugin ls --non-interactive >&2
) || die "pulumi plugin install failed"

"$tmp/bin/pulumi" version >&2
rm -rf "$tmp/src"
chmod 0755 "$tmp"
date -u +%FT%TZ >"$tmp/.complete"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
step "done"
echo "$out"
