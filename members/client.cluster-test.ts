import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { LocalFleet } from "../test/support/fleet";
import { deployment, eventually } from "../test/support/workloads";
import { MemberClient, type WorkloadRef } from "./client";
import { fanOut } from "./fan-out";

const web: WorkloadRef = { kind: "Deployment", namespace: "default", name: "web" };


describe("member client on a real kube-apiserver", () => {
  let fleet: LocalFleet;
  before(() => {
    fleet = LocalFleet.start({ clusters: ["alpha", "beta"] });
  });
  after(() => fleet?.down());

  it("reads replicas and scales through the /scale subresource; readiness follows", async () => {
    fleet.apply("alpha", deployment("web", 2));
    const alpha = new MemberClient("alpha", fleet.kubeconfig("alpha"));
    await eventually("2 ready", () => alpha.readReplicas(web), (r) => r.readyReplicas === 2);
    await alpha.scale(web, 3);
    const scaled = await eventually("3 ready", () => alpha.readReplicas(web), (r) => r.readyReplicas === 3);
    assert.equal(scaled.desired, 3);
    assert.equal(scaled.selector, "app=web");
    assert.equal(fleet.kubectl("alpha", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"), "3");
  });

  it("proves who it is with one authenticated probe", async () => {
    assert.match(await new MemberClient("alpha", fleet.kubeconfig("alpha")).probe(), /admin|kubernetes/);
  });

  it("names a missing workload, a rejected token and a forbidden call distinctly", async () => {
    const alpha = new MemberClient("alpha", fleet.kubeconfig("alpha"));
    const missing = await alpha.observe({ ...web, name: "nowhere" });
    assert.deepEqual([missing.healthy, !missing.healthy && missing.failure], [false, "WorkloadMissing"]);

    const forged = new MemberClient("alpha", fleet.tokenKubeconfig("alpha", "not-a-real-token"));
    await assert.rejects(forged.probe(), (e: Error & { failure?: string }) => e.failure === "Unauthorized" && /credentials rejected \(401\)/.test(e.message));

    fleet.kubectl("alpha", "create", "serviceaccount", "nobody");
    const token = fleet.kubectl("alpha", "create", "token", "nobody").trim();
    const nobody = new MemberClient("alpha", fleet.tokenKubeconfig("alpha", token));
    const forbidden = await nobody.observe(web);
    assert.ok(!forbidden.healthy && forbidden.failure === "Unauthorized" && /forbidden \(403\)/.test(forbidden.message), JSON.stringify(forbidden));
  });

  it("reports a stopped API server as unreachable, and fan-out keeps the other member's answer", async () => {
    fleet.apply("beta", deployment("web", 1));
    const clients = new Map(["alpha", "beta"].map((name) => [name, new MemberClient(name, fleet.kubeconfig(name), { timeoutMs: 2_000 })]));
    await eventually("beta ready", () => clients.get("beta")!.readReplicas(web), (r) => r.readyReplicas === 1);
    fleet.stop("beta");
    try {
      const started = Date.now();
      const outcomes = await fanOut(["alpha", "beta"], (name) => clients.get(name)!.readReplicas(web));
      assert.ok(Date.now() - started < 5_000, "a dead member must not stall the others past the timeout");
      const [alpha, beta] = outcomes;
      assert.ok(alpha!.ok && alpha.value.desired === 3);
      assert.ok(!beta!.ok && beta.error.failure === "Unreachable", JSON.stringify(beta));
      assert.match(beta.error.message, /^beta: get deployment default\/web: (ECONNREFUSED|no answer)/);
    } finally {
      fleet.start("beta");
    }
    const back = await eventually("beta back", () => clients.get("beta")!.observe(web), (o) => o.healthy);
    assert.ok(back.healthy && back.currentReplicas === 1, "the workload survives the restart");
  });
});
