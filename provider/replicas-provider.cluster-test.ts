import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { createRequire } from "node:module";
import * as path from "node:path";
import { MemberClient } from "../members/client";
import { dsoCrdManifest } from "../schema/crd";
import { LocalFleet } from "../test/support/fleet";
import { onboardMember } from "../test/support/onboard";
import { deployment, eventually } from "../test/support/workloads";
import { type ReplicasInputs, type ReplicasOutputs, replicasProvider as provider } from "./replicas-provider";
import { installedProviderLoader, replicasProviderLoader } from "./replicas-provider-loader";

const HUB_NAMESPACE = "fleetscale-system";
const unreachableHub = `apiVersion: v1
kind: Config
clusters: [{name: h, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: "t"}}]
contexts: [{name: h, context: {cluster: h, user: u}}]
current-context: h
`;

function inputs(overrides: Partial<ReplicasInputs> = {}): ReplicasInputs {
  return {
    hubKubeconfig: unreachableHub,
    hubNamespace: HUB_NAMESPACE,
    dsoNamespace: "default",
    dsoName: "web",
    members: [
      { name: "member-1", weight: 4 },
      { name: "member-2", weight: 6 },
    ],
    gracePeriod: "1m",
    maxRebalancePercentage: 50,
    targetKind: "Deployment",
    targetName: "web",
    declaredTotal: 10,
    timeoutSeconds: 60,
    scaleToZeroOnDelete: false,
    ...overrides,
  };
}

async function checked(news: ReplicasInputs): Promise<ReplicasInputs> {
  const result = await provider.check!(news, news);
  assert.deepEqual(result.failures ?? [], []);
  return result.inputs as ReplicasInputs;
}

describe("replicas provider: check and diff", () => {
  it("puts the weighted split of the declared total per member into the inputs", async () => {
    const result = await checked(inputs());
    assert.deepEqual(result.plan, { "member-1": 4, "member-2": 6 });
  });

  it("reports invalid inputs as check failures naming the property", async () => {
    const result = await provider.check!(inputs(), inputs({ gracePeriod: "soon", maxRebalancePercentage: 0 }));
    assert.deepEqual(result.failures?.map((f) => f.property), ["gracePeriod", "maxRebalancePercentage"]);
    assert.equal(result.inputs, undefined);
  });

  it("sees a weight change as a change; an identical input, a new live total or drift found by refresh as none", async () => {
    const before = await checked(inputs());
    const outputs = { ...before, actual: { ...before.plan }, memberStates: {}, records: {} } as ReplicasOutputs;
    assert.equal((await provider.diff!("default/web", outputs, before)).changes, false);
    const reweighted = await checked(inputs({ members: [{ name: "member-1", weight: 5 }, { name: "member-2", weight: 5 }] }));
    assert.deepEqual(reweighted.plan, { "member-1": 5, "member-2": 5 });
    assert.equal((await provider.diff!("default/web", outputs, reweighted)).changes, true);
    // A new version of the provider's code is a change, so refresh and destroy never run stale code.
    const withCode = <T extends object>(props: T, code: string): T => ({ ...props, __provider: code });
    assert.equal((await provider.diff!("default/web", withCode(outputs, "v1"), withCode(before, "v1"))).changes, false);
    assert.equal((await provider.diff!("default/web", withCode(outputs, "v1"), withCode(before, "v2"))).changes, true);
    // A rotated hub credential is a change, so refresh and destroy never use the old one.
    assert.equal((await provider.diff!("default/web", outputs, { ...before, hubKubeconfig: `${before.hubKubeconfig}\n# rotated` })).changes, true);
    // An up that a failing member left unfinished shows as a change, so the next up finishes it.
    assert.equal((await provider.diff!("default/web", { ...outputs, converged: false }, before)).changes, true);
    // The autoscaler moved the total and the runtime split it anew: not the user's change.
    const scaled = { ...outputs, totalReplicas: 5, actual: { "member-1": 2, "member-2": 3 } };
    assert.equal((await provider.diff!("default/web", scaled, before)).changes, false);
  });

  it("is kept in state as a loader of about a kilobyte, which runs the compiled provider as Pulumi's provider process loads it", async () => {
    const hostModule = async (loader: pulumi.dynamic.ResourceProvider) => {
      const serialized = await pulumi.runtime.serializeFunction(() => loader); // as pulumi.dynamic.Resource does
      // As Pulumi's provider process evaluates it: a module whose require resolves from the program's directory.
      const module = { exports: {} as Record<string, () => pulumi.dynamic.ResourceProvider> };
      new Function("module", "exports", "require", serialized.text)(module, module.exports, createRequire(path.join(process.cwd(), "provider-host.js")));
      return { text: serialized.text, provider: module.exports[serialized.exportName]!() };
    };
    const { text, provider: loaded } = await hostModule(installedProviderLoader());
    assert.ok(text.length < 4_000, `the serialized loader is ${text.length} bytes`);
    assert.doesNotMatch(text, /function settle|apportion|require\("zod"\)/, "no engine code and no zod in state");
    assert.deepEqual((await loaded.check!(inputs(), inputs())).inputs?.plan, { "member-1": 4, "member-2": 6 });

    const { provider: misplaced } = await hostModule(replicasProviderLoader("./no/such/provider.js"));
    await assert.rejects(misplaced.check!(inputs(), inputs()), /cannot load \.\/no\/such\/provider\.js from .*; build the project \(npm run build\)/);
  });
});

describe("replicas provider on a real fleet", () => {
  let fleet: LocalFleet;
  let live: (extra?: Partial<ReplicasInputs>) => ReplicasInputs;
  const members = () => ["member-1", "member-2"].map((m) => new MemberClient(m, fleet.kubeconfig(m)));
  const web = { kind: "Deployment" as const, namespace: "default", name: "web" };
  const replicasOf = async () => Promise.all(members().map((m) => m.readReplicas(web)));

  before(() => {
    fleet = LocalFleet.start();
    for (const member of ["member-1", "member-2"]) {
      onboardMember(fleet, { hub: "hub", member, hubNamespace: HUB_NAMESPACE });
      fleet.apply(member, deployment("web", 1));
    }
    live = (extra = {}) => inputs({ hubKubeconfig: fleet.kubeconfig("hub"), ...extra });
  });
  after(() => fleet?.down());

  it("create distributes 10 replicas 4/6 through the stored member credentials", async () => {
    const created = await provider.create!(await checked(live()));
    assert.equal(created.id, "default/web");
    assert.deepEqual(created.outs.actual, { "member-1": 4, "member-2": 6 });
    const replicas = await replicasOf();
    assert.deepEqual(replicas.map((r) => [r.desired, r.readyReplicas]), [[4, 4], [6, 6]]);
  });

  it("previews the declared total whatever the live DSO says, and converges on the live total (the CRD installs on a real API server)", async () => {
    fleet.apply("hub", dsoCrdManifest());
    await eventually("CRD established", () => fleet.kubectl("hub", "get", "crd", "distributedscaledobjects.fleetscale.io", "-o", "jsonpath={.status.conditions[?(@.type==\"Established\")].status}"), (s) => s === "True");
    fleet.apply("hub", {
      apiVersion: "fleetscale.io/v1alpha1",
      kind: "DistributedScaledObject",
      metadata: { name: "web", namespace: "default" },
      spec: { memberClusters: [{ name: "member-1", weight: 4 }, { name: "member-2", weight: 6 }], scaledObjectSpec: { scaleTargetRef: { name: "web" } }, totalTargetReplicas: 15 },
    });
    const result = await checked(live());
    assert.deepEqual(result.plan, { "member-1": 4, "member-2": 6 }, "the split of the declared 10: no diff for what the autoscaler did");
    const created = (await provider.create!(result)).outs as ReplicasOutputs;
    assert.equal(created.totalReplicas, 15);
    assert.deepEqual(created.actual, { "member-1": 6, "member-2": 9 });
    fleet.kubectl("hub", "delete", "dso", "web", "-n", "default");
  });

  it("update moves to new weights make-before-break: ready capacity never drops below the total", async () => {
    const olds = (await provider.create!(await checked(live()))).outs as ReplicasOutputs;
    let lowest = Infinity;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const ready = (await replicasOf()).reduce((sum, r) => sum + r.readyReplicas, 0);
        lowest = Math.min(lowest, ready);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const news = await checked(live({ members: [{ name: "member-1", weight: 1 }, { name: "member-2", weight: 9 }], maxRebalancePercentage: 10 }));
    const updated = await provider.update!("default/web", olds, news);
    sampling = false;
    await sampler;
    assert.deepEqual(updated.outs.actual, { "member-1": 1, "member-2": 9 });
    assert.ok(lowest >= 10, `ready capacity fell to ${lowest}`);
    assert.equal((await provider.diff!("default/web", updated.outs as ReplicasOutputs, news)).changes, false, "a second preview is empty");
  });

  it("refresh records drift; a member stopped during up is reported and the other keeps its replicas", async () => {
    const olds = (await provider.create!(await checked(live()))).outs as ReplicasOutputs;
    await members()[0]!.scale(web, 7);
    const refreshed = await provider.read!("default/web", olds);
    assert.deepEqual(refreshed.props.actual, { "member-1": 7, "member-2": 6 });
    // Recorded, not previewed as a change: correcting drift is the runtime's job, or the next up's.
    assert.equal((await provider.diff!("default/web", refreshed.props as ReplicasOutputs, await checked(live()))).changes, false);

    fleet.stop("member-2");
    try {
      const news = await checked(live({ members: [{ name: "member-1", weight: 5 }, { name: "member-2", weight: 5 }] }));
      const updated = await provider.update!("default/web", refreshed.props as ReplicasOutputs, news);
      const states = updated.outs.memberStates as ReplicasOutputs["memberStates"];
      assert.equal(states["member-2"]!.state, "Unreachable");
      assert.match(states["member-2"]!.description, /ECONNREFUSED|no answer/);
      assert.equal(updated.outs.actual["member-2"], null);
      // Within the grace period nothing is rebalanced, and member-1 keeps the 7 it runs: its
      // drifted replicas are the only reachable capacity while member-2 fails, so the drift is
      // corrected (make-before-break) once member-2 is back, not now.
      assert.equal((await members()[0]!.readReplicas(web)).desired, 7);
    } finally {
      fleet.start("member-2");
    }
  });

  it("delete leaves the workloads as they are unless asked to scale them to zero", async () => {
    const outs = (await provider.create!(await checked(live()))).outs as ReplicasOutputs;
    await provider.delete!("default/web", outs);
    assert.deepEqual((await replicasOf()).map((r) => r.desired), [4, 6]);
    await provider.delete!("default/web", { ...outs, scaleToZeroOnDelete: true });
    assert.deepEqual((await replicasOf()).map((r) => r.desired), [0, 0]);
  });
});
