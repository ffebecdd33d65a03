import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Plan } from "../engine/plan";
import type { MemberState } from "../engine/states";
import { RuntimeMetrics } from "./metrics";

const planWith = (states: Record<string, MemberState>): Plan =>
  ({
    totalReplicas: 2,
    plannedReplicas: 2,
    notes: [],
    converged: true,
    members: Object.entries(states).map(([name, state]) => ({ name, state, desiredReplicas: 1, previousReplicas: 1, targetReplicas: 1 })),
  }) as unknown as Plan;

async function stateSeries(metrics: RuntimeMetrics): Promise<string[]> {
  const values = (await metrics.memberState.get()).values;
  return values.map((v) => `${v.labels.workload}/${v.labels.member}=${v.labels.state}:${v.value}`).sort();
}

describe("runtime metrics", () => {
  it("export one state series per workload and member, the current one, and none once forgotten", async () => {
    const metrics = new RuntimeMetrics();
    metrics.recordPlan("ns/web", planWith({ a: "Ready", b: "Ready" }), {});
    metrics.recordPlan("ns/web", planWith({ a: "Ready", b: "Unreachable" }), {});
    assert.deepEqual(await stateSeries(metrics), ["ns/web/a=Ready:1", "ns/web/b=Unreachable:1"]);
    metrics.forgetWorkload("ns/web", ["a", "b"]);
    assert.deepEqual(await stateSeries(metrics), []);
  });

  it("export each workload's total and whether it converged, kept when members leave it and removed with it", async () => {
    const metrics = new RuntimeMetrics();
    const moving = { ...planWith({ a: "Ready", b: "Ready" }), totalReplicas: 7, converged: false };
    metrics.recordPlan("ns/web", moving, {});
    metrics.recordPlan("ns/api", planWith({ a: "Ready" }), {});
    const series = async (gauge: "totalReplicas" | "converged") =>
      (await metrics[gauge].get()).values.map((v) => `${v.labels.workload}=${v.value}`).sort();
    assert.deepEqual(await series("totalReplicas"), ["ns/api=2", "ns/web=7"]);
    assert.deepEqual(await series("converged"), ["ns/api=1", "ns/web=0"]);
    metrics.forgetMembersOf("ns/web", ["b"]);
    assert.deepEqual(await series("converged"), ["ns/api=1", "ns/web=0"]);
    assert.deepEqual(await stateSeries(metrics), ["ns/api/a=Ready:1", "ns/web/a=Ready:1"]);
    metrics.forgetWorkload("ns/web", ["a"]);
    assert.deepEqual(await series("totalReplicas"), ["ns/api=2"]);
    assert.deepEqual(await series("converged"), ["ns/api=1"]);
    assert.deepEqual(await stateSeries(metrics), ["ns/api/a=Ready:1"]);
  });
});
