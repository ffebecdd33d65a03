import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Observation } from "../engine/health";
import { type PlanInput, plan, recordsOf } from "../engine/plan";
import { dsoStatusSchema } from "../schema/dso";
import { ValidationError } from "../schema/validate";
import { rebalanceOf } from "./rebalance";
import { invalidSpecStatus, recordsFromStatus, sameStatus, statusOf } from "./status";
import { nextHealthDeadline } from "./wake";

const GRACE = 5_000;
const healthy = (ready: number): Observation => ({ healthy: true, readyReplicas: ready, currentReplicas: ready });
const down: Observation = { healthy: false, failure: "Unreachable", message: "probe: ECONNREFUSED 127.0.0.1:6443" };
const ids = { a: "fleetscale-system/fleetscale-member-a+scaler@a", b: "fleetscale-system/fleetscale-member-b+scaler@b" };

function input(observations: Record<"a" | "b", Observation>, previous: PlanInput["previous"], now: number, total = 10): PlanInput {
  return {
    workload: "default/web",
    totalReplicas: total,
    policy: { gracePeriodMs: GRACE, maxRebalancePercentage: 50 },
    previous,
    now,
    members: [
      { name: "a", weight: 4, observation: observations.a },
      { name: "b", weight: 6, observation: observations.b },
    ],
  };
}

describe("status", () => {
  const placed = plan(input({ a: healthy(4), b: healthy(6) }, {}, 1_000));
  const observations = { a: healthy(4), b: healthy(6) };
  const first = statusOf({ generation: 3, plan: placed, observations, ids, selector: "app=web", previous: undefined, now: 1_000 });

  it("shows the article's fields and Ready/Active conditions, and passes the status schema", () => {
    assert.deepEqual(dsoStatusSchema.parse(first), first);
    assert.deepEqual(
      [first.membersHealthyCount, first.membersTotalCount, first.totalCurrentReplicas, first.selector, first.observedGeneration],
      [2, 2, 10, "app=web", 3],
    );
    assert.deepEqual(first.memberClusterStatuses!.b, {
      id: ids.b,
      state: "Ready",
      description: "Cluster is healthy",
      currentReplicas: 6,
      desiredReplicas: 6,
      excluded: false,
      lastStatusChangeTime: new Date(1_000).toISOString(),
    });
    assert.deepEqual(first.conditions!.map((c) => [c.type, c.status, c.reason]), [["Ready", "True", "Converged"], ["Active", "True", "ScaledUp"]]);
  });

  it("round-trips the engine's records, so a restarted runtime plans exactly as before", () => {
    assert.deepEqual(recordsFromStatus(first), recordsOf(placed));
    assert.deepEqual(recordsFromStatus({ memberClusterStatuses: { a: { state: "Nonsense" } } }), {});
    assert.deepEqual(recordsFromStatus(undefined), {});
  });

  it("keeps condition transition times while their status holds; an unchanged step yields an equal status", () => {
    const again = plan(input(observations, recordsOf(placed), 9_000));
    const second = statusOf({ generation: 3, plan: again, observations, ids, selector: "app=web", previous: first, now: 9_000 });
    assert.ok(sameStatus(second, first), JSON.stringify(second));
    const reordered = Object.fromEntries(Object.entries(first).reverse());
    assert.ok(sameStatus(reordered, first));
  });

  it("keeps a failing member's last count within the grace period and drops it once excluded", () => {
    const failing = plan(input({ a: healthy(4), b: down }, recordsOf(placed), 2_000));
    const during = statusOf({ generation: 3, plan: failing, observations: { a: healthy(4), b: down }, ids, selector: undefined, previous: first, now: 2_000 });
    assert.deepEqual([during.memberClusterStatuses!.b!.state, during.memberClusterStatuses!.b!.currentReplicas, during.totalCurrentReplicas, during.membersHealthyCount], ["Unreachable", 6, 10, 1]);
    assert.equal(during.conditions![0]!.reason, "MembersUnhealthy");
    assert.equal(nextHealthDeadline(failing, GRACE, 2_000), 2_000 + GRACE, "woken when the grace period ends");

    const excluded = plan(input({ a: healthy(4), b: down }, recordsOf(failing), 2_000 + GRACE));
    const after = statusOf({ generation: 3, plan: excluded, observations: { a: healthy(4), b: down }, ids, selector: undefined, previous: during, now: 2_000 + GRACE });
    assert.deepEqual([after.memberClusterStatuses!.b!.state, after.memberClusterStatuses!.b!.excluded, after.memberClusterStatuses!.b!.currentReplicas], ["Excluded", true, 0]);
    assert.equal(nextHealthDeadline(excluded, GRACE, 2_000 + GRACE), 2_000 + GRACE + 60_000, "woken when a's raise stops counting as in motion");
    assert.equal(after.memberClusterStatuses!.b!.consecutiveFailures, 1, "the exclusion is counted");
    assert.deepEqual(recordsFromStatus(after).b, recordsOf(excluded).b, "and survives a restart");
    const event = rebalanceOf(excluded)!;
    assert.equal(event.reason, "MemberExcluded");
    assert.match(event.message, /b 6 -> 0: excluded after failing/);
    assert.match(event.message, /a 4 -> 10: takes over the share of b/);
  });

  it("names each rebalance by its cause, and none when nothing moved", () => {
    assert.equal(rebalanceOf(placed)!.reason, "Rebalanced");
    assert.equal(rebalanceOf(plan(input(observations, recordsOf(placed), 3_000))), undefined);
  });

  it("on an invalid spec keeps the member statuses and lists every bad field", () => {
    const error = new ValidationError("DistributedScaledObject default/x", [
      { path: "metadata.name", message: "must be a DNS-1123 label" },
      { path: "spec.scaledObjectSpec.minReplicaCount", message: "minReplicaCount must not exceed maxReplicaCount" },
    ]);
    const invalid = invalidSpecStatus(first, 4, error, 5_000);
    assert.deepEqual(invalid.memberClusterStatuses, first.memberClusterStatuses);
    assert.equal(invalid.observedGeneration, 4);
    const ready = invalid.conditions!.find((c) => c.type === "Ready")!;
    assert.deepEqual([ready.status, ready.reason, ready.lastTransitionTime], ["False", "InvalidSpec", new Date(5_000).toISOString()]);
    assert.equal(ready.message, "metadata.name: must be a DNS-1123 label; spec.scaledObjectSpec.minReplicaCount: minReplicaCount must not exceed maxReplicaCount");
  });
});
