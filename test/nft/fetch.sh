#!/usr/bin/env bash
# Provides `nft` (nftables, for silenceOpenConnections() in test/support/toxiproxy.ts) from
# Debian's own packages, WITHOUT installing anything on the system: downloads the .deb files of
# nftables and of every shared library it links (except libc) from the Debian mirror, checks
# their SHA256 against the pins below, unpacks them with `dpkg-deb -x` into a cache directory
# and writes bin/nft there, a wrapper that runs the unpacked binary with LD_LIBRARY_PATH on the
# unpacked libraries (so neither /usr/sbin/nft nor the system's libnftables is ever used).
#
# Output: ${FLEETSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetscale}/nft/<key>/bin
# where <key> hashes this script (which pins names, versions and SHA256 sums). A second run
# returns at once. The last line printed on stdout is the bin directory. Progress goes to stderr.
#
# Downloads go through apt's own downloader (/usr/lib/apt/apt-helper, part of apt, so present on
# every Debian machine; it honours apt's proxy settings) from the mirror named in the system's
# apt sources (or FLEETSCALE_DEBIAN_MIRROR). The host's apt lists are not used: a fresh machine
# may have none. Needs: bash, apt, dpkg-deb, sha256sum, the Debian mirror. Running nft itself
# needs root or CAP_NET_ADMIN.
#
# When Debian drops a pinned version from its pool (a point release supersedes it), the pinned
# download fails with 404; the script then resolves the current Debian 12 versions with apt,
# using private state directories (the index signatures are checked by apt against
# /usr/share/keyrings/debian-archive-keyring.gpg), and prints the pin lines to paste below.
# Other architectures than amd64 always go that way.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Debian 12 (bookworm), amd64: package version sha256 pool path.
# libc6 is left out (every system has it; nft needs >= 2.34). libmd0, libgmp10 and libtinfo6
# are in a minimal bookworm (dpkg, coreutils, bash depend on them) but are pinned too, so that
# nft never depends on what the host has.
pins_amd64=(
  "nftables     1.0.6-2+deb12u2   966ff20ce58c17163a771c02ddbca264291408f94c512bd85dd18da0ebdbe88c pool/main/n/nftables/nftables_1.0.6-2+deb12u2_amd64.deb"
  "libnftables1 1.0.6-2+deb12u2   3a8223f9bfba99d97bf25296ac83de307ab036e1df63e5965f88809266851947 pool/main/n/nftables/libnftables1_1.0.6-2+deb12u2_amd64.deb"
  "libnftnl11   1.2.4-2           9e619e1470a1915264e906020f3bfc046fd8458043b1342686d997b5078213af pool/main/libn/libnftnl/libnftnl11_1.2.4-2_amd64.deb"
  "libmnl0      1.0.4-3           4581f42e3373cb72f9ea4e88163b17873afca614a6c6f54637e95aa75983ea7c pool/main/libm/libmnl/libmnl0_1.0.4-3_amd64.deb"
  "libjansson4  2.14-2            3fc9742f9f1a37bcb9931df6074b4d1483419ef832ad5349f47323e75fc27864 pool/main/j/jansson/libjansson4_2.14-2_amd64.deb"
  "libedit2     3.1-20221030-2    1cf14abf2716d3279db12d0657a5737cf70074a1e71d3bdf73206625e3c89ce6 pool/main/libe/libedit/libedit2_3.1-20221030-2_amd64.deb"
  "libxtables12 1.8.9-2           cb841d66950a43af4a398625313d2f3da9065299c9738538de6c2c3495857040 pool/main/i/iptables/libxtables12_1.8.9-2_amd64.deb"
  "libbsd0      0.11.7-2          bb31cc8b40f962a85b2cec970f7f79cc704a1ae4bad24257a822055404b2c60b pool/main/libb/libbsd/libbsd0_0.11.7-2_amd64.deb"
  "libmd0       1.0.4-2           03539fd30c509e27101d13a56e52eda9062bdf1aefe337c07ab56def25a13eab pool/main/libm/libmd/libmd0_1.0.4-2_amd64.deb"
  "libgmp10     2:6.2.1+dfsg1-1.1 187aedef2ed763f425c1e523753b9719677633c7eede660401739e9c893482bd pool/main/g/gmp/libgmp10_6.2.1+dfsg1-1.1_amd64.deb"
  "libtinfo6    6.4-4             072d908f38f51090ca28ca5afa3b46b2957dc61fe35094c0b851426859a49a51 pool/main/n/ncurses/libtinfo6_6.4-4_amd64.deb"
)
suite=bookworm

say() { echo "fetch.sh: $*" >&2; }
die() { say "$*"; exit 1; }

cache_root="${FLEETSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetscale}"
key="$(cat "${BASH_SOURCE[0]}" "$here/../debs.sh" | sha256sum | cut -c1-16)"
out="$cache_root/nft/$key"
bin="$out/bin"

have() { [[ -f "$out/.complete" && -x "$bin/nft" ]]; }
if have; then echo "$bin"; exit 0; fi

pins_file=test/nft/fetch.sh
. "$here/../debs.sh"

mkdir -p "$out"
# Serialise concurrent fetches of the same key (several test runners may start at once).
exec 9>"$out/.lock"
if command -v flock >/dev/null; then flock 9; fi

if ! have; then
  start=$(date +%s)
  rm -rf "$out"/.fetch-* "$out"/.apt-* "$out/bin" "$out/root"   # debris of interrupted runs (we hold the lock)
  tmp="$out/.fetch-$$"
  trap 'rm -rf "$tmp" "$out"/.apt-*' EXIT
  mkdir -p "$tmp/debs" "$tmp/root" "$tmp/bin"
  fetch_debs "$tmp/debs"
  for deb in "$tmp"/debs/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done
  [[ -x "$tmp/root/usr/sbin/nft" ]] || die "the nftables package has no usr/sbin/nft"
  rm -rf "$tmp/root/usr/share/doc" "$tmp/root/usr/share/man" "$tmp/root/usr/share/lintian"
  # The library directories of the unpacked tree (e.g. usr/lib/x86_64-linux-gnu, lib/x86_64-linux-gnu).
  libdirs="$(cd "$tmp/root" && find . -name '*.so.*' -printf '%h\n' | sed 's|^\./||' | sort -u)"
  [[ -n "$libdirs" ]] || die "no shared libraries were unpacked"
  libpath=""
  for d in $libdirs; do libpath+="${libpath:+:}\$root/$d"; done
  cat >"$tmp/bin/nft" <<EOF
#!/bin/sh
# nft from Debian's nftables $(sed -n 's/^nftables=//p' "$tmp/debs/versions.txt"), unpacked by test/nft/fetch.sh; its libraries come
# from the unpacked tree only (never /usr/sbin/nft or the system's libnftables).
root="\$(dirname "\$(dirname "\$(readlink -f "\$0")")")/root"
LD_LIBRARY_PATH="${libpath}\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "\$root/usr/sbin/nft" "\$@"
EOF
  chmod +x "$tmp/bin/nft"
  mv "$tmp/debs/versions.txt" "$tmp/bin/versions.txt"
  # Check that every library resolves inside the tree (or is libc's).
  if command -v ldd >/dev/null; then
    missing="$(LD_LIBRARY_PATH="${libpath//\$root/$tmp/root}" ldd "$tmp/root/usr/sbin/nft" | grep 'not found' || true)"
    [[ -z "$missing" ]] || die "unpacked nft misses libraries: $missing"
  fi
  mv "$tmp/root" "$out/root"
  mv "$tmp/bin" "$bin"
  rm -rf "$tmp"
  touch "$out/.complete"
  say "nft $(sed -n 's/^nftables=//p' "$bin/versions.txt") ready in $bin in $(( $(date +%s) - start ))s"
fi

echo "$bin"
