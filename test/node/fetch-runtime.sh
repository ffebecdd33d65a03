#!/usr/bin/env bash
# Provides the container runtime of the real node from Debian 12's own packages, WITHOUT
# installing anything on the system (as test/nft/fetch.sh does for nft): containerd 1.6 (+ ctr,
# containerd-shim-runc-v2), runc, the CNI plugins (bridge, portmap, host-local, loopback, ...) and
# iptables (nft backend; the bridge plugin's ipMasq and portmap call it) with the shared libraries
# they link, unpacked with `dpkg-deb -x` into a cache directory.
#
# Output: ${FLEETSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetscale}/node/runtime/<key>
#   root/     the unpacked packages
#   bin/      PATH entries: containerd, ctr, containerd-shim-runc-v2, runc, iptables* (symlinks)
#   env       `export PATH=... LD_LIBRARY_PATH=...` lines to source before starting containerd
#   cni/      the CNI plugin directory (bin_dir for containerd's CRI config)
# <key> hashes this script. The last line on stdout is the output directory.
#
# SPIKE: the package versions are resolved with apt on private lists (the host's apt state is
# neither read nor written) rather than pinned with SHA256 sums like test/nft/fetch.sh; apt
# checks the index signatures against debian-archive-keyring, and versions.txt records what came.
set -euo pipefail

packages=(containerd runc containernetworking-plugins iptables libip4tc2 libip6tc2 libxtables12
          libnetfilter-conntrack3 libnfnetlink0 libnftnl11 libmnl0 libseccomp2)
suite=bookworm

say() { echo "fetch-runtime.sh: $*" >&2; }
die() { say "$*"; exit 1; }
for tool in apt-get dpkg-deb sha256sum; do command -v "$tool" >/dev/null || die "$tool is missing"; done

cache_root="${FLEETSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetscale}"
key="$(sha256sum <"${BASH_SOURCE[0]}" | cut -c1-16)"
out="$cache_root/node/runtime/$key"
have() { [[ -f "$out/.complete" ]]; }
if have; then echo "$out"; exit 0; fi

mirror() {
  if [[ -n "${FLEETSCALE_DEBIAN_MIRROR:-}" ]]; then echo "${FLEETSCALE_DEBIAN_MIRROR%/}"; return; fi
  local uri
  uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
    grep -oE 'https?://[^ ]*/debian/?( |$)' | head -n1 | tr -d ' ' || true)"
  echo "${uri:-http://deb.debian.org/debian}" | sed 's|/$||'
}

mkdir -p "$out"
exec 9>"$out/.lock"
if command -v flock >/dev/null; then flock 9; fi
if ! have; then
  start=$(date +%s)
  rm -rf "$out"/.fetch-* "$out/root" "$out/bin" "$out/cni" "$out/env"
  tmp="$out/.fetch-$$"
  trap 'rm -rf "$tmp"' EXIT
  state="$tmp/apt"
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/sources.list.d" "$tmp/debs" "$tmp/root"
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [[ -f "$keyring" ]] || die "$keyring is missing (package debian-archive-keyring)"
  base="$(mirror)"
  echo "deb [signed-by=$keyring] $base $suite main" >"$state/sources.list"
  opts=(-q -o Dir::State::Lists="$state/lists" -o Dir::Cache="$state/cache"
        -o Dir::Etc::SourceList="$state/sources.list" -o Dir::Etc::SourceParts="$state/sources.list.d"
        -o Dir::State::extended_states="$state/extended_states")
  [[ "$(id -u)" == 0 ]] && opts+=(-o APT::Sandbox::User=root)
  say "downloading ${packages[*]} from $base $suite"
  log="$(apt-get "${opts[@]}" update 2>&1)" || die "apt-get update failed: $(printf '%s\n' "$log" | grep -m1 '^E:\|^Err:' || printf '%s\n' "$log" | tail -n1)"
  log="$(cd "$tmp/debs" && apt-get "${opts[@]}" download "${packages[@]}" 2>&1)" || die "apt-get download failed: $(printf '%s\n' "$log" | grep -m1 '^E:' || printf '%s\n' "$log" | tail -n1)"
  for deb in "$tmp"/debs/*.deb; do
    echo "$(dpkg-deb -f "$deb" Package)=$(dpkg-deb -f "$deb" Version) $(sha256sum <"$deb" | cut -d' ' -f1)" >>"$tmp/versions.txt"
    dpkg-deb -x "$deb" "$tmp/root"
  done
  rm -rf "$tmp/root/usr/share/doc" "$tmp/root/usr/share/man" "$tmp/root/usr/share/lintian"
  r="$tmp/root"
  for f in usr/bin/containerd usr/bin/ctr usr/bin/containerd-shim-runc-v2 usr/sbin/runc usr/lib/cni/bridge usr/lib/cni/portmap usr/sbin/xtables-nft-multi; do
    [[ -x "$r/$f" ]] || die "unpacked packages have no $f"
  done
  mkdir -p "$tmp/bin"
  for f in containerd ctr containerd-shim containerd-shim-runc-v1 containerd-shim-runc-v2 containerd-stress; do
    [[ -x "$r/usr/bin/$f" ]] && ln -s "../root/usr/bin/$f" "$tmp/bin/$f"
  done
  ln -s ../root/usr/sbin/runc "$tmp/bin/runc"
  # iptables' alternatives are not unpacked by dpkg-deb: link the nft backend under each name
  # (xtables-nft-multi dispatches on argv[0]).
  for n in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    ln -s ../root/usr/sbin/xtables-nft-multi "$tmp/bin/$n"
  done
  ln -s root/usr/lib/cni "$tmp/cni"
  libdirs="$(cd "$r" && find . -name '*.so.*' -printf '%h\n' | sed 's|^\./||' | sort -u)"
  libpath=""; for d in $libdirs; do libpath+="${libpath:+:}$out/root/$d"; done
  # For xtables' own extensions (libxt_*.so) the unpacked directory must be named explicitly.
  xt="$(cd "$r" && find . -type d -name xtables | head -n1 | sed 's|^\./||')"
  {
    echo "export PATH=\"$out/bin:\$PATH\""
    echo "export LD_LIBRARY_PATH=\"$libpath\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\""
    [[ -n "$xt" ]] && echo "export XTABLES_LIBDIR=\"$out/root/$xt\""
  } >"$tmp/env"
  if command -v ldd >/dev/null; then
    for f in usr/sbin/runc usr/sbin/xtables-nft-multi usr/bin/containerd; do
      missing="$(LD_LIBRARY_PATH="${libpath//$out/$tmp}" ldd "$r/$f" 2>&1 | grep 'not found' || true)"
      [[ -z "$missing" ]] || die "unpacked $f misses libraries: $missing"
    done
  fi
  mv "$tmp/root" "$out/root"; mv "$tmp/bin" "$out/bin"; mv "$tmp/cni" "$out/cni"; mv "$tmp/env" "$out/env"
  mv "$tmp/versions.txt" "$out/versions.txt"
  rm -rf "$tmp"
  touch "$out/.complete"
  say "ready in $out in $(( $(date +%s) - start ))s: $(cut -d' ' -f1 "$out/versions.txt" | tr '\n' ' ')"
fi
echo "$out"
