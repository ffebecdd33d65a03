#!/usr/bin/env bash
# End-to-end check of the local fleet (see README.md). Builds (or finds) the binaries, starts a
# fleet, and checks: Deployment readiness, the /scale subresource, stop/start with data kept,
# TokenRequest authentication (403 from RBAC, not 401), a second fleet side by side, and that
# `fleet down` leaves no process behind. Exits non-zero on the first failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$("$here/build.sh" | tail -n1)"
fleet="$bin/fleet"
work="$(mktemp -d "${TMPDIR:-/tmp}/fleet-smoke.XXXXXX")"
d1="$work/f1"
d2="$work/f2"
cleanup() {
  "$fleet" down --dir "$d1" >/dev/null 2>&1 || true
  "$fleet" down --dir "$d2" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*" >&2; }
fail() { echo "FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# wait_for <seconds> <description> <command...>: retry the command until it succeeds.
wait_for() {
  local timeout="$1" what="$2"; shift 2
  local end=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) < end )) || fail "timed out after ${timeout}s waiting for $what"
    sleep 0.5
  done
}

step "fleet up (3 clusters) in $d1"
t=$(now)
"$fleet" up --dir "$d1"
echo "fleet up took $(since "$t")" >&2
cat "$d1/fleet.json" >&2

kc="$d1/member-1.kubeconfig"
k() { "$bin/kubectl" --kubeconfig "$kc" "$@"; }
server="$(jq -r '.clusters[] | select(.name=="member-1") | .server' "$d1/fleet.json")"
ca="$(jq -r '.clusters[] | select(.name=="member-1") | .caFile' "$d1/fleet.json")"

step "version"
k version -o json | jq -c .serverVersion >&2
k get --raw /version | jq -e '.gitVersion | startswith("v1.")' >/dev/null || fail "/version has no real gitVersion"

ready_is() { [[ "$(k get deployment web -o jsonpath='{.status.readyReplicas}')" == "$1" ]]; }

step "Deployment with 2 replicas becomes ready"
t=$(now)
k create deployment web --image=registry.k8s.io/pause:3.10 --replicas=2 >&2
wait_for 120 "readyReplicas=2" ready_is 2
echo "readyReplicas=2 after $(since "$t")" >&2

step "PATCH /scale to 3"
t=$(now)
k patch deployment web --subresource=scale --type=merge -p '{"spec":{"replicas":3}}' >&2
wait_for 120 "readyReplicas=3" ready_is 3
echo "readyReplicas=3 after $(since "$t")" >&2
k get pods -o wide >&2

step "stop member-1: its URL refuses connections"
"$fleet" stop --dir "$d1" member-1
set +e
curl -sS --max-time 5 --cacert "$ca" "$server/readyz" >/dev/null 2>&1
rc=$?
set -e
[[ $rc == 7 ]] || fail "expected curl exit 7 (connection refused) from stopped member-1, got $rc"
echo "curl exit $rc (connection refused)" >&2
"$bin/kubectl" --kubeconfig "$d1/hub.kubeconfig" get --raw /readyz >/dev/null || fail "hub affected by member-1 stop"

step "start member-1: Deployment still there"
t=$(now)
"$fleet" start --dir "$d1" member-1
echo "fleet start took $(since "$t")" >&2
k get deployment web >&2
wait_for 120 "readyReplicas=3 after restart" ready_is 3
t=$(now)
k scale deployment web --replicas=4 >&2
wait_for 120 "readyReplicas=4 after restart (new pods need the restarted controllers and kwok)" ready_is 4
echo "readyReplicas=4 after restart in $(since "$t")" >&2

step "ServiceAccount + TokenRequest"
k create serviceaccount probe >&2
token="$(k create token probe --duration=10m)"
[[ -n "$token" ]] || fail "empty token"
code="$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$ca" -H "Authorization: Bearer $token" "$server/api/v1/namespaces/default/pods")"
[[ "$code" == 403 ]] || fail "expected 403 for the SA token (authenticated, not authorized), got $code"
code_bad="$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$ca" -H "Authorization: Bearer not-a-token" "$server/api/v1/namespaces/default/pods")"
[[ "$code_bad" == 401 ]] || fail "expected 401 for a bogus token, got $code_bad"
who="$(curl -sS --cacert "$ca" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -X POST \
  -d '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}' \
  "$server/apis/authentication.k8s.io/v1/selfsubjectreviews" | jq -r .status.userInfo.username)"
[[ "$who" == "system:serviceaccount:default:probe" ]] || fail "token authenticates as '$who'"
echo "token: 403 on pods, 401 for a bogus token, identity $who" >&2

step "controllers: serviceaccount-token, garbage collector (foreground), namespace"
k apply -f - >&2 <<'EOF'
apiVersion: v1
kind: Secret
metadata:
  name: probe-token
  annotations:
    kubernetes.io/service-account.name: probe
type: kubernetes.io/service-account-token
EOF
has_token() { [[ -n "$(k get secret probe-token -o jsonpath='{.data.token}')" ]]; }
wait_for 60 "serviceaccount-token controller to fill the secret" has_token
t=$(now)
k delete deployment web --cascade=foreground --wait=true --timeout=60s >&2
no_pods() { [[ -z "$(k get pods -l app=web -o name)" ]]; }
wait_for 60 "pods of the deleted deployment to go" no_pods
echo "foreground delete done in $(since "$t")" >&2
t=$(now)
k create namespace scratch >&2
k -n scratch create configmap c --from-literal=a=b >&2
k delete namespace scratch --wait=true --timeout=60s >&2
echo "namespace delete done in $(since "$t")" >&2

step "second fleet side by side in $d2"
t=$(now)
"$fleet" up --dir "$d2" --clusters a,b
echo "second fleet up took $(since "$t")" >&2
"$bin/kubectl" --kubeconfig "$d2/a.kubeconfig" get nodes >&2
"$bin/kubectl" --kubeconfig "$d1/hub.kubeconfig" get nodes >&2
"$fleet" status --dir "$d1" >&2
"$fleet" status --dir "$d2" >&2

step "fleet down leaves nothing behind"
"$fleet" down --dir "$d1"
"$fleet" down --dir "$d2"
sleep 1
if pgrep -f "$work/" >/dev/null; then
  pgrep -af "$work/" >&2
  fail "processes left behind"
fi
[[ ! -e "$d1" && ! -e "$d2" ]] || fail "fleet dirs not removed"

echo
echo "smoke: all checks passed"
