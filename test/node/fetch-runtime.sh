#!/usr/bin/env bash
# Provides the real node's container runtime (test/fleet's `fleet up --real-node`) from Debian 12's
# own packages, WITHOUT installing anything on the system (as test/nft/fetch.sh does for nft):
# containerd 1.6 (+ ctr, containerd-shim-runc-v2), runc, the CNI plugins (bridge, portmap,
# host-local, loopback, ...) and iptables (nft backend: the bridge plugin's ipMasq, portmap and
# kube-proxy call it) with the shared libraries they link (except libc), downloaded from the
# Debian mirror, checked against the SHA256 pins below and unpacked with `dpkg-deb -x`.
#
# Output: ${FLEETSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetscale}/node/runtime/<key>
#   root/         the unpacked packages
#   bin/          containerd, ctr, containerd-shim-runc-v2, runc, iptables* (symlinks)
#   env           `export PATH=... LD_LIBRARY_PATH=... XTABLES_LIBDIR=...`, sourced before any of them runs
#   cni/          the CNI plugin directory (bin_dir of containerd's CRI config)
#   versions.txt  package=version
# <key> hashes this script (which pins names, versions and SHA256 sums). A second run returns at
# once. The last line on stdout is the output directory. Progress goes to stderr.
#
# Downloads go through apt's own downloader (/usr/lib/apt/apt-helper) from the mirror named in the
# system's apt sources (or FLEETSCALE_DEBIAN_MIRROR). When Debian drops a pinned version from its
# pool (a point release supersedes it), the pinned download fails with 404; the script then
# resolves the current Debian 12 versions with apt on private state directories (index
# signatures checked against debian-archive-keyring) and prints the pin lines to paste below.
# Other architectures than amd64 always go that way.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Debian 12 (bookworm), amd64: package version sha256 pool path.
pins_amd64=(
  "containerd              1.6.20~ds1-1+deb12u3 8669d264eeb0fcdb4a0b1ba436ab88ec5dafde4a66e1278ec279d830db4c2216 pool/main/c/containerd/containerd_1.6.20~ds1-1+deb12u3_amd64.deb"
  "runc                    1.1.5+ds1-1+deb12u1  a00351f8c0318de0b424ecf5cd0fdb69880a89f3511cae4f6fff7de3e57881c5 pool/main/r/runc/runc_1.1.5+ds1-1+deb12u1_amd64.deb"
  "containernetworking-plugins 1.1.1+ds1-3+b5   4cac8143474d1249b19f7b0e80b8d0daaa6dfdaa8bd514bc468d38d4a108099f pool/main/g/golang-github-containernetworking-plugins/containernetworking-plugins_1.1.1+ds1-3+b5_amd64.deb"
  "iptables                1.8.9-2              2928d3ca6ca8a3dc3f423f6752822b1f3614a5ba609ff7806bcba4449ffe90e1 pool/main/i/iptables/iptables_1.8.9-2_amd64.deb"
  "libip4tc2               1.8.9-2              f2c48b367f9ec13f9aa577e7ccf81b371ce5d5fe22dddf9d7aa99f1e0bb7cfc4 pool/main/i/iptables/libip4tc2_1.8.9-2_amd64.deb"
  "libip6tc2               1.8.9-2              be88db3dfa2fe3345ea343207f7c75345602686121e579023d021c348b9b4f4d pool/main/i/iptables/libip6tc2_1.8.9-2_amd64.deb"
  "libxtables12            1.8.9-2              cb841d66950a43af4a398625313d2f3da9065299c9738538de6c2c3495857040 pool/main/i/iptables/libxtables12_1.8.9-2_amd64.deb"
  "libnetfilter-conntrack3 1.0.9-3              65f1539238f60fcc85d115acd640474f45c77bfddcf402eb7d75965a783c2bc8 pool/main/libn/libnetfilter-conntrack/libnetfilter-conntrack3_1.0.9-3_amd64.deb"
  "libnfnetlink0           1.0.2-2              ae5cbba417ea48f34c1f72c27e8146a81f20614c1296bca2cd7234c8215fddcc pool/main/libn/libnfnetlink/libnfnetlink0_1.0.2-2_amd64.deb"
  "libnftnl11              1.2.4-2              9e619e1470a1915264e906020f3bfc046fd8458043b1342686d997b5078213af pool/main/libn/libnftnl/libnftnl11_1.2.4-2_amd64.deb"
  "libmnl0                 1.0.4-3              4581f42e3373cb72f9ea4e88163b17873afca614a6c6f54637e95aa75983ea7c pool/main/libm/libmnl/libmnl0_1.0.4-3_amd64.deb"
  "libseccomp2             2.5.4-1+deb12u1      108fe67957ca7cf9ba51d801118a1b37d404bea7b6e365025cd00779e9eca38d pool/main/libs/libseccomp/libseccomp2_2.5.4-1+deb12u1_amd64.deb"
)
suite=bookworm

say() { echo "fetch-runtime.sh: $*" >&2; }
die() { say "$*"; exit 1; }

cache_root="${FLEETSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetscale}"
key="$(cat "${BASH_SOURCE[0]}" "$here/../debs.sh" | sha256sum | cut -c1-16)"
out="$cache_root/node/runtime/$key"
have() { [[ -f "$out/.complete" ]]; }
if have; then echo "$out"; exit 0; fi

pins_file=test/node/fetch-runtime.sh
. "$here/../debs.sh"

mkdir -p "$out"
# Serialise concurrent fetches of the same key (several test runners may start at once).
exec 9>"$out/.lock"
if command -v flock >/dev/null; then flock 9; fi
if ! have; then
  start=$(date +%s)
  rm -rf "$out"/.fetch-* "$out"/.apt-* "$out/root" "$out/bin" "$out/cni" "$out/env"   # debris of interrupted runs (we hold the lock)
  tmp="$out/.fetch-$$"
  trap 'rm -rf "$tmp" "$out"/.apt-*' EXIT
  mkdir -p "$tmp/debs" "$tmp/root"
  fetch_debs "$tmp/debs"
  for deb in "$tmp"/debs/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done
  rm -rf "$tmp/root/usr/share/doc" "$tmp/root/usr/share/man" "$tmp/root/usr/share/lintian"
  r="$tmp/root"
  for f in usr/bin/containerd usr/bin/ctr usr/bin/containerd-shim-runc-v2 usr/sbin/runc usr/lib/cni/bridge usr/lib/cni/portmap usr/lib/cni/host-local usr/sbin/xtables-nft-multi; do
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
  mv "$tmp/debs/versions.txt" "$out/versions.txt"
  rm -rf "$tmp"
  touch "$out/.complete"
  say "ready in $out in $(( $(date +%s) - start ))s: $(tr '\n' ' ' <"$out/versions.txt")"
fi
echo "$out"
