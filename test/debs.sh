# Debian 12 packages for the toolchain, downloaded and checked WITHOUT installing anything:
# sourced by test/nft/fetch.sh and test/node/fetch-runtime.sh, which set
#   pins_amd64  "name version sha256 pool-path" lines, suite (bookworm), out (their cache
#   directory, locked), pins_file (their path, for the message when pins go stale),
#   say and die (messages with their name),
# then call `fetch_debs DIR`: the pinned .debs into DIR (and DIR/versions.txt, name=version),
# checked against the pins, or, when a pin is gone from the mirror (a point release superseded
# it) or on another architecture than amd64, the current versions resolved with apt on private
# state directories, with the pin lines to paste printed. Downloads go through apt's own
# downloader (/usr/lib/apt/apt-helper, part of apt; it honours apt's proxy settings).

apt_helper=/usr/lib/apt/apt-helper
[[ -x "$apt_helper" ]] || die "$apt_helper is missing (package apt): cannot download Debian packages"
for tool in dpkg dpkg-deb sha256sum; do command -v "$tool" >/dev/null || die "$tool is missing"; done

# The Debian mirror: FLEETSCALE_DEBIAN_MIRROR, else the first http(s) URI of the system's apt
# sources that serves a bookworm suite (deb822 .sources or one-line .list), else deb.debian.org.
mirror() {
  if [[ -n "${FLEETSCALE_DEBIAN_MIRROR:-}" ]]; then echo "${FLEETSCALE_DEBIAN_MIRROR%/}"; return; fi
  local file line uri types suites uris
  for file in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$file" ]] || continue
    # deb822 stanzas, separated by blank lines: the URIs of a "Types: deb" stanza whose Suites has bookworm.
    types="" suites="" uris=""
    while IFS= read -r line || [[ -n "$line" ]]; do
      case "$line" in
        Types:*) types=" ${line#Types:} " ;;
        Suites:*) suites=" ${line#Suites:} " ;;
        URIs:*) uris="${line#URIs:}" ;;
      esac
      if [[ -z "${line//[[:space:]]/}" ]]; then types="" suites="" uris=""; continue; fi
      if [[ "$types" == *" deb "* && "$suites" =~ [[:space:]]bookworm[[:space:]] && -n "$uris" ]]; then
        read -r uri _ <<<"$uris"
        [[ "$uri" == http* ]] && { echo "${uri%/}"; return; }
      fi
    done <"$file"
  done
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$file" ]] || continue
    uri="$(awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
             if ($(i+1) == "bookworm" && $i ~ /^https?:/) { print $i; exit } }' "$file")"
    [[ -n "$uri" ]] && { echo "${uri%/}"; return; }
  done
  echo "http://deb.debian.org/debian"
}

# apt's downloaders drop to the _apt user, which cannot write into root's cache directory.
apt_opts=()
[[ "$(id -u)" == 0 ]] && apt_opts+=(-o APT::Sandbox::User=root)

# download URL TARGET SHA256. When it fails, sets $failure to one line naming the URL and the
# reason (e.g. "HTTP 404 Not Found") and returns 2 for "not found" (404/410), 1 otherwise.
failure=""
download() {
  local url="$1" target="$2" sha="$3" log
  if log="$("$apt_helper" "${apt_opts[@]}" download-file "$url" "$target" "SHA256:$sha" 2>&1)"; then
    [[ "$(sha256sum <"$target" | cut -d' ' -f1)" == "$sha" ]] || { failure="download failed: $url: SHA256 mismatch"; return 1; }
    return 0
  fi
  local why
  why="$(printf '%s\n' "$log" | sed -n 's/^E: Failed to fetch [^ ]*[[:space:]]*//p' | head -n1 | sed 's/ *\[IP: [^]]*\]//; s/  */ /g')"
  [[ "$why" =~ ^[0-9][0-9][0-9][[:space:]] ]] && why="HTTP $why"
  [[ -n "$why" ]] || why="$(printf '%s\n' "$log" | grep -v '^Get:\|^Fetched\|^Err:\|^E: Download Failed' | head -n1)"
  failure="download failed: $url: ${why:-apt-helper exited without saying why}"
  [[ "$why" =~ ^HTTP\ (404|410)\  ]] && return 2
  return 1
}

# Downloads the pinned .debs into $1. Returns 2 when one of them is gone from the mirror.
fetch_pinned() {
  local dir="$1" base line name version sha path rc
  base="$(mirror)"
  say "downloading ${#pins_amd64[@]} pinned Debian $suite packages from $base"
  for line in "${pins_amd64[@]}"; do
    read -r name version sha path <<<"$line"
    rc=0
    download "$base/$path" "$dir/$name.deb" "$sha" || rc=$?
    [[ $rc == 0 ]] || return $rc
    echo "$name=$version" >>"$dir/versions.txt"
  done
}

# Downloads the current Debian 12 versions of the pinned packages into $1 with apt-get, on
# private lists/cache/sources (nothing of the system's apt state is read or written, except
# its configuration such as proxies), and prints pin lines for them.
fetch_current() {
  local dir="$1" base state name names=() line
  for line in "${pins_amd64[@]}"; do read -r name _ <<<"$line"; names+=("$name"); done
  base="$(mirror)"
  state="$(mktemp -d "$out/.apt-XXXXXX")"
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/sources.list.d"
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [[ -f "$keyring" ]] || die "$keyring is missing (package debian-archive-keyring): cannot check the Debian indexes"
  echo "deb [signed-by=$keyring] $base $suite main" >"$state/sources.list"
  local opts=(-q "${apt_opts[@]}" -o Dir::State::Lists="$state/lists" -o Dir::Cache="$state/cache"
              -o Dir::Etc::SourceList="$state/sources.list" -o Dir::Etc::SourceParts="$state/sources.list.d"
              -o Dir::State::extended_states="$state/extended_states")
  say "resolving the current Debian $suite versions with apt (private lists in $state)"
  local log
  log="$(apt-get "${opts[@]}" update 2>&1)" || die "apt-get update of $base $suite failed: $(printf '%s\n' "$log" | grep -m1 '^E:\|^Err:' || printf '%s\n' "$log" | tail -n1)"
  log="$(cd "$dir" && apt-get "${opts[@]}" download "${names[@]}" 2>&1)" || die "apt-get download failed: $(printf '%s\n' "$log" | grep -m1 '^E:' || printf '%s\n' "$log" | tail -n1)"
  local deb version sha path
  say "pins for the current versions (paste into pins_amd64 in $pins_file):"
  for name in "${names[@]}"; do
    deb="$(ls "$dir/${name}"_*.deb)"
    mv "$deb" "$dir/$name.deb"
    version="$(dpkg-deb -f "$dir/$name.deb" Version)"
    sha="$(sha256sum <"$dir/$name.deb" | cut -d' ' -f1)"
    path="$(apt-cache "${opts[@]}" show "$name=$version" 2>/dev/null | sed -n 's/^Filename: //p' | head -n1 || true)"
    printf '  "%-23s %-20s %s %s"\n' "$name" "$version" "$sha" "$path" >&2
    echo "$name=$version" >>"$dir/versions.txt"
  done
  rm -rf "$state"
}

# fetch_debs DIR: the pinned packages, else the current ones (see the top of this file).
fetch_debs() {
  local dir="$1" rc=0
  : >"$dir/versions.txt"
  if [[ "$(dpkg --print-architecture)" == amd64 ]]; then
    fetch_pinned "$dir" || rc=$?
    [[ $rc == 1 ]] && die "$failure"
  else
    rc=2
  fi
  if [[ $rc == 2 ]]; then
    [[ "$(dpkg --print-architecture)" == amd64 ]] && say "$failure: a pinned version is gone from the mirror (the pins in $pins_file are stale); using the current versions"
    : >"$dir/versions.txt"
    rm -f "$dir"/*.deb
    fetch_current "$dir"
  fi
}
