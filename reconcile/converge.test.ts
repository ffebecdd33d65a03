import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { WorkloadRef } from "../members/client";
import { converge } from "./converge";
import type { MemberAccess, MemberTarget } from "./step";

/** A member whose pods turn ready as soon as they are asked for; every write is recorded. */
function member(name: string, replicas: number, writes: string[]): MemberTarget {
  let desired = replicas;
  const access: MemberAccess = {
    readReplicas: async () => ({ desired, readyReplicas: desired, currentReplicas: desired }),
    scale: async (_ref: WorkloadRef, to: number) => {
      writes.push(`${name}->${to}`);
      desired = to;
    },
  };
  return { spec: { name, weight: name === "member-1" ? 4 : 6 }, ref: { kind: "Deployment", namespace: "default", name: "web" }, access };
}

const input = (writes: string[]) => ({
  workload: "default/web",
  totalReplicas: 10,
  policy: { gracePeriodMs: 60_000, maxRebalancePercentage: 100 },
  previous: {},
  members: [member("member-1", 5, writes), member("member-2", 5, writes)],
});

describe("converge", () => {
  it("moves 5/5 to 4/6 make-before-break: member-2 up first, member-1 down once member-2's pods are ready", async () => {
    const writes: string[] = [];
    const result = await converge(input(writes), { timeoutMs: 5_000, pollMs: 1 });
    assert.deepEqual(writes, ["member-2->6", "member-1->4"]);
    assert.equal(result.takenOver, false);
  });

  it("stops before its next step once another writer has taken over, and writes nothing more", async () => {
    const writes: string[] = [];
    let asked = 0;
    const result = await converge(input(writes), { timeoutMs: 5_000, pollMs: 1, takenOver: async () => ++asked >= 1 });
    assert.deepEqual(writes, ["member-2->6"], "member-1 is left to the runtime that took over");
    assert.equal(result.takenOver, true);
    assert.equal(asked, 1);
  });

  it("passes on an error from the takeover check: not knowing stops the writes", async () => {
    const writes: string[] = [];
    await assert.rejects(
      converge(input(writes), { timeoutMs: 5_000, pollMs: 1, takenOver: async () => Promise.reject(new Error("Lease unreadable")) }),
      /Lease unreadable/,
    );
    assert.deepEqual(writes, ["member-2->6"]);
  });
});
