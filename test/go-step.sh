# Sourced by the toolchain build scripts. go_step WHAT CMD...: runs a go command with its output
# on stderr as usual; when it fails, ends the script with one line a user can act on: the step,
# and the first line of go's output that says why (a refused or failed download names the
# module, version and proxy answer), e.g.
#   build.sh: building kube-apiserver failed: go: k8s.io/api@v0.36.3: reading https://proxy...: 403 Forbidden
go_step() {
  local what="$1" log rc reason last
  shift
  log="$(mktemp)"
  set +e
  "$@" 2>&1 | tee "$log" >&2
  rc=${PIPESTATUS[0]}
  set -e
  if ((rc != 0)); then
    reason="$(grep -v '^go: downloading ' "$log" |
      grep -m1 -E 'reading https?://|checksum mismatch|SECURITY ERROR|missing go\.sum|no required module|cannot find module|unknown revision|invalid version|dial tcp|no such host|i/o timeout|TLS handshake|40[0-9] |410 Gone|no space left' ||
      grep -v '^go: downloading ' "$log" | grep -v '^[[:space:]]*$' | tail -n1)"
    if [[ "$reason" != *@* ]] && last="$(grep '^go: downloading ' "$log" | tail -n1)" && [[ -n "$last" ]]; then
      reason="$reason (while ${last#go: })"
    fi
    rm -f "$log"
    echo "${0##*/}: $what failed (exit $rc): ${reason:-no output from go}" >&2
    exit 1
  fi
  rm -f "$log"
}
