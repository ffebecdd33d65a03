/**
 * The fleetscale program itself, with the real Pulumi engine, on a real local fleet:
 * onboarding, least privilege, per-member preview diffs, make-before-break applies,
 * adding and removing members, and no credential in plain text anywhere.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { MemberClient, type WorkloadRef } from "../../members/client";
import { HubClient } from "../../members/hub";
import { LocalFleet } from "../support/fleet";
import { ProjectStack, changeSummary } from "../support/project-stack";
import { deployment } from "../support/workloads";

const HUB_NAMESPACE = "fleetscale-system";
const web: WorkloadRef = { kind: "Deployment", namespace: "default", name: "web" };

describe("fleetscale stack on a real fleet with the real Pulumi engine", () => {
  let fleet: LocalFleet;
  let stack: ProjectStack;
  const members = ["member-1", "member-2", "member-3"];
  const config = (weights: Record<string, number>) => ({
    hub: { kubeconfigPath: fleet.cluster("hub").kubeconfig, namespace: HUB_NAMESPACE, replicas: 1 },
    members: Object.fromEntries(Object.entries(weights).map(([name, weight]) => [name, { kubeconfigPath: fleet.cluster(name).kubeconfig, weight }])),
    workloads: { web: { totalTargetReplicas: 10, scaledObjectSpec: { scaleTargetRef: { name: "web" } } } },
  });
  const replicas = async (member: string) => new MemberClient(member, fleet.kubeconfig(member)).readReplicas(web);
  const storedKubeconfig = async (member: string) => (await new HubClient(fleet.kubeconfig("hub")).memberKubeconfigs(HUB_NAMESPACE)).get(member);

  before(async () => {
    fleet = LocalFleet.start({ clusters: ["hub", ...members] });
    for (const member of members) fleet.apply(member, deployment("web", 1));
    stack = await ProjectStack.create(config({ "member-1": 4, "member-2": 6 }));
  });
  after(async () => {
    try {
      if (stack) await stack.destroy();
    } finally {
      stack?.cleanup();
      fleet?.down();
    }
  });

  it("pulumi up onboards two members and distributes 10 replicas 4/6 through their stored credentials", async () => {
    await stack.up();
    assert.deepEqual([(await replicas("member-1")).desired, (await replicas("member-2")).desired], [4, 6]);
    assert.ok(await storedKubeconfig("member-1"));
    assert.ok(await storedKubeconfig("member-2"));
  });

  it("a preview right after up shows no changes", async () => {
    const summary = changeSummary((await stack.preview()).stdout);
    assert.deepEqual(Object.keys(summary), ["unchanged"], JSON.stringify(summary));
  });

  it("the stored member credential can scale and observe workloads, and nothing else", async () => {
    const scaler = new MemberClient("member-1", (await storedKubeconfig("member-1"))!);
    assert.match(await scaler.probe(), /^system:serviceaccount:fleetscale:/);
    await scaler.scale(web, 4);
    assert.equal((await scaler.readReplicas(web)).desired, 4);
    const stored = (await storedKubeconfig("member-1"))!;
    const as = (...args: string[]) => {
      try {
        fleet.kubectlAs(stored, ...args);
        return "allowed";
      } catch (error) {
        const stderr = String((error as { stderr?: unknown }).stderr ?? "");
        return /forbidden/i.test(stderr) ? "forbidden" : `failed: ${stderr}`;
      }
    };
    assert.equal(as("get", "secrets", "-n", "default"), "forbidden");
    assert.equal(as("get", "secrets", "-n", "fleetscale"), "forbidden");
    assert.equal(as("run", "intruder", "--image=registry.invalid/x:1", "-n", "default"), "forbidden");
    assert.equal(as("patch", "deployment", "web", "-n", "default", "--type=merge", "-p", '{"spec":{"template":{"metadata":{"labels":{"x":"y"}}}}}'), "forbidden");
    assert.equal(as("delete", "deployment", "web", "-n", "default"), "forbidden");
    assert.equal(as("scale", "deployment", "web", "-n", "default", "--replicas=4"), "allowed");
  });

  it("a weight change previews as old => new replicas per member, and up applies it with ready capacity never below 10", async () => {
    stack.writeConfig(config({ "member-1": 5, "member-2": 5 }));
    const preview = (await stack.preview()).stdout;
    assert.match(preview, /member-1: 4 => 5/);
    assert.match(preview, /member-2: 6 => 5/);
    assert.deepEqual(changeSummary(preview), { update: 2, unchanged: 29 }, preview.slice(preview.lastIndexOf("Resources:")));

    let lowest = Infinity;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const ready = (await replicas("member-1")).readyReplicas + (await replicas("member-2")).readyReplicas;
        lowest = Math.min(lowest, ready);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await stack.up();
    sampling = false;
    await sampler;
    assert.deepEqual([(await replicas("member-1")).desired, (await replicas("member-2")).desired], [5, 5]);
    assert.ok(lowest >= 10, `ready capacity fell to ${lowest} during the update`);
    assert.deepEqual(Object.keys(changeSummary((await stack.preview()).stdout)), ["unchanged"], "a second preview is empty");
  });

  it("adding a member to config onboards it on up; removing it offboards it and leaves no RBAC behind", async () => {
    stack.writeConfig(config({ "member-1": 5, "member-2": 5, "member-3": 5 }));
    await stack.up();
    assert.ok(await storedKubeconfig("member-3"));
    assert.match(fleet.kubectl("member-3", "get", "clusterroles", "-l", "app.kubernetes.io/managed-by=fleetscale", "-o", "name"), /clusterrole/);
    // 10 over 5:5:5 leaves one replica to a tie; for workload default/web member-3 ranks first (engine/tiebreak.ts).
    assert.equal((await replicas("member-3")).desired, 4, "10 replicas over 5:5:5, member-3 winning the tie");

    stack.writeConfig(config({ "member-1": 5, "member-2": 5 }));
    await stack.up();
    assert.equal(await storedKubeconfig("member-3"), undefined);
    for (const kind of ["clusterroles", "clusterrolebindings"]) {
      assert.equal(fleet.kubectl("member-3", "get", kind, "-l", "app.kubernetes.io/managed-by=fleetscale", "-o", "name").trim(), "", `${kind} left in member-3`);
    }
    assert.equal(fleet.kubectl("member-3", "get", "namespaces", "-o", "name").includes("namespace/fleetscale\n"), false);
    assert.deepEqual([(await replicas("member-1")).desired, (await replicas("member-2")).desired], [5, 5]);
  });

  it("a member stopped during up is reported, and the member still answering is not lowered for it", async () => {
    fleet.stop("member-2");
    try {
      stack.writeConfig(config({ "member-1": 4, "member-2": 6 }));
      await stack.up();
      const state = JSON.parse(await stack.exportState()) as { deployment: { resources: { type: string; outputs?: Record<string, unknown> }[] } };
      const replicasResource = state.deployment.resources.find((r) => r.type === "pulumi-nodejs:dynamic/fleetscale:DistributedReplicas")!;
      const memberStates = replicasResource.outputs!["memberStates"] as Record<string, { state: string; description: string }>;
      assert.equal(memberStates["member-2"]!.state, "Unreachable");
      assert.match(memberStates["member-2"]!.description, /ECONNREFUSED|no answer/);
      // Within member-2's grace period member-1 keeps its 5, though its new share is 4.
      assert.equal((await replicas("member-1")).desired, 5);
    } finally {
      fleet.start("member-2");
    }
    await stack.up();
    assert.deepEqual([(await replicas("member-1")).desired, (await replicas("member-2")).desired], [4, 6]);
  });

  it("keeps every kubeconfig and token out of the state file and out of every log", async () => {
    const state = await stack.exportState();
    const secrets: string[] = [];
    for (const name of ["hub", ...members]) {
      const admin = readFileSync(fleet.cluster(name).kubeconfig, "utf8");
      secrets.push(/client-key-data: (\S+)/.exec(admin)![1]!.slice(0, 48));
    }
    for (const member of ["member-1", "member-2"]) {
      const token = /token: (\S+)/.exec((await storedKubeconfig(member))!)![1]!;
      secrets.push(token.slice(0, 48));
    }
    const logs = stack.transcript.join("\n");
    for (const secret of secrets) {
      assert.equal(state.includes(secret), false, "a credential is in the state file in plain text");
      assert.equal(logs.includes(secret), false, "a credential was printed");
    }
    assert.ok(state.includes('"ciphertext"'), "secrets are stored encrypted");
  });
});
