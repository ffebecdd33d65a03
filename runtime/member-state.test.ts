import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemberError, type WorkloadRef } from "../members/client";
import { healthOf, observedReplicas, sameHealth, snapshotOf, writtenAfter } from "./member-state";

const ref: WorkloadRef = { kind: "Deployment", namespace: "default", name: "web" };
const synced = { what: "watch deployments", synced: true, failure: undefined };
const deployment = (replicas: number, ready: number, generation = 1) => ({
  metadata: { generation },
  spec: { replicas, selector: { matchLabels: { app: "web", tier: "front" } } },
  status: { readyReplicas: ready, replicas },
});

describe("member health", () => {
  const refused = new MemberError("m", "Unreachable", "probe: ECONNREFUSED");

  it("is pending until probed and listed, failed when either fails (the probe first), healthy otherwise", () => {
    assert.equal(healthOf("m", undefined, [synced], 1_000).kind, "pending");
    assert.equal(healthOf("m", "ok", [{ ...synced, synced: false }], 1_000).kind, "pending");
    assert.equal(healthOf("m", "ok", [synced], 1_000).kind, "healthy");
    const forbidden = healthOf("m", "ok", [{ what: "watch deployments", synced: false, failure: Object.assign(new Error("Forbidden"), { statusCode: 403 }) }], 1_000);
    assert.ok(forbidden.kind === "failed" && forbidden.error.failure === "Unauthorized", JSON.stringify(forbidden));
    assert.match((forbidden as { error: MemberError }).error.message, /watch deployments: forbidden \(403\)/);
    const both = healthOf("m", refused, [{ ...synced, synced: false, failure: new Error("x") }], 1_000);
    assert.ok(both.kind === "failed" && both.error === refused);
  });

  it("compares by failure kind, not message", () => {
    const again = new MemberError("m", "Unreachable", "probe: no answer within 2000 ms");
    assert.ok(sameHealth({ kind: "failed", error: refused }, { kind: "failed", error: again }));
    assert.ok(!sameHealth({ kind: "failed", error: refused }, { kind: "healthy" }));
  });
});

describe("workload replicas from the cache", () => {
  it("projects the object and remembers since when it is short of ready replicas", () => {
    const short = snapshotOf(deployment(4, 1), undefined, 1_000);
    assert.deepEqual(short, { desired: 4, readyReplicas: 1, currentReplicas: 4, generation: 1, selector: "app=web,tier=front", shortSince: 1_000 });
    assert.equal(snapshotOf(deployment(4, 2), short, 2_000).shortSince, 1_000);
    assert.equal(snapshotOf(deployment(4, 4), short, 3_000).shortSince, undefined);
  });

  it("is WorkloadMissing when absent and NotReady once short for longer than the deadline", () => {
    assert.throws(() => observedReplicas("m", ref, undefined, undefined, 0, 60_000), (e: MemberError) => e.failure === "WorkloadMissing");
    const short = snapshotOf(deployment(4, 1), undefined, 1_000);
    assert.equal(observedReplicas("m", ref, short, undefined, 60_999, 60_000).readyReplicas, 1);
    assert.throws(() => observedReplicas("m", ref, short, undefined, 61_000, 60_000), (e: MemberError) => e.failure === "NotReady" && /1 of 4 replicas ready/.test(e.message));
  });

  it("answers spec.replicas from our last write until the watch shows a newer generation", () => {
    const cached = snapshotOf(deployment(4, 4, 7), undefined, 0);
    const written = { replicas: 6, overGeneration: 7 };
    assert.equal(observedReplicas("m", ref, cached, written, 0, 60_000).desired, 6);
    const caughtUp = snapshotOf(deployment(5, 4, 8), cached, 0);
    assert.equal(observedReplicas("m", ref, caughtUp, written, 0, 60_000).desired, 5);
  });

  it("keeps answering a second write made before the watch showed the first, until it shows the second", () => {
    // 4 at generation 7; write 3, then 2 while the cache still says generation 7.
    const cached = snapshotOf(deployment(4, 4, 7), undefined, 0);
    const first = writtenAfter(3, 7, undefined);
    const second = writtenAfter(2, 7, first);
    assert.deepEqual(second, { replicas: 2, overGeneration: 8 });
    // The first write's event (generation 8, 3 replicas) must not bring back 3: the step would write 2 again.
    const firstShown = snapshotOf(deployment(3, 4, 8), cached, 0);
    assert.equal(observedReplicas("m", ref, firstShown, second, 0, 60_000).desired, 2);
    const secondShown = snapshotOf(deployment(2, 4, 9), firstShown, 0);
    assert.equal(observedReplicas("m", ref, secondShown, second, 0, 60_000).desired, 2);
    // A write after the watch caught up starts from the cached generation.
    assert.deepEqual(writtenAfter(5, 9, second), { replicas: 5, overGeneration: 9 });
  });
});
