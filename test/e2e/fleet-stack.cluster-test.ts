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
import { check } from "../support/pulumi";
import { deployment, eventually } from "../support/workloads";
import type { RuntimeHandle } from "../../runtime/runtime";
import { startTestRuntime } from "../support/runtime";

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

  it("keeps each DistributedReplicas' state small: the provider's code is loaded from the project, not stored", async () => {
    type Kept = { type: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> };
    const state = JSON.parse(await stack.exportState()) as { deployment: { resources: Kept[] } };
    const resource = state.deployment.resources.find((r) => r.type === "pulumi-nodejs:dynamic/fleetscale:DistributedReplicas")!;
    const bytes = JSON.stringify(resource).length;
    const code = JSON.stringify(resource.inputs["__provider"]).length;
    const largest = Object.entries(resource.outputs)
      .map(([key, value]) => [key, JSON.stringify(value).length] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3);
    // 195,124 bytes before the loader, 84,095 of them the serialized provider (kept twice).
    console.log(`# DistributedReplicas state: ${bytes} bytes; largest outputs (each also an input): ${largest.map(([k, n]) => `${k} ${n}`).join(", ")}`);
    assert.ok(code < 4_000, `the serialized provider is ${code} bytes`);
    assert.ok(bytes < 32_000, `the resource's state is ${bytes} bytes`);
  });

  it("a preview right after up shows no changes", async () => {
    const summary = changeSummary((await stack.preview()).stdout);
    assert.deepEqual(Object.keys(summary), ["unchanged"], JSON.stringify(summary));
  });

  it("a total moved in the hub (as KEDA or the runtime move it) is no change to preview; the stack output says what runs", async () => {
    const total = (n: number) => fleet.kubectl("hub", "patch", "dso", "web", "-n", "default", "--type", "merge", "-p", JSON.stringify({ spec: { totalTargetReplicas: n } }));
    const split = async (a: number, b: number) => {
      await new MemberClient("member-1", fleet.kubeconfig("member-1")).scale(web, a);
      await new MemberClient("member-2", fleet.kubeconfig("member-2")).scale(web, b);
    };
    const state = JSON.parse(await stack.exportState()) as { deployment: { resources: { type: string; urn: string }[] } };
    const urn = state.deployment.resources.find((r) => r.type === "pulumi-nodejs:dynamic/fleetscale:DistributedReplicas")!.urn;
    const refreshReplicas = async () => check(await stack.run(["refresh", "--yes", "--skip-preview", "--target", urn]));
    // What the autoscaler and the runtime do: a new total, split by weight.
    total(5);
    await split(2, 3);
    try {
      const preview = (await stack.preview()).stdout;
      assert.deepEqual(Object.keys(changeSummary(preview)), ["unchanged"], preview.slice(preview.lastIndexOf("Resources:")));
      // Stack outputs come from the program: refresh records what runs, the next up (with nothing to change) reports it.
      await refreshReplicas();
      assert.deepEqual(Object.keys(changeSummary((await stack.up()).stdout)), ["unchanged"]);
      const outputs = JSON.parse(check(await stack.run(["stack", "output", "--json"])).stdout) as { replicas: Record<string, Record<string, number>> };
      assert.deepEqual(outputs.replicas["web"], { "member-1": 2, "member-2": 3 }, "the output is the split that runs, not the one at the declared total");
    } finally {
      total(10);
      await split(4, 6);
      await refreshReplicas();
    }
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

  it("with a runtime leading, up hands the new weights to it and writes no member itself; up --target of the replicas alone is refused", async () => {
    const scaledLines: { member: string; to: number }[] = [];
    const runtime = await startTestRuntime(fleet.cluster("hub").kubeconfig, HUB_NAMESPACE, "e2e-runtime", (line) => {
      const parsed = JSON.parse(line) as { msg: string; member?: string; to?: number };
      if (parsed.msg === "scaled") scaledLines.push({ member: parsed.member!, to: parsed.to! });
    });
    const seen: Record<string, number[]> = { "member-1": [], "member-2": [] };
    let sampling = true;
    let sampler: Promise<void> | undefined;
    try {
      await eventually("the runtime leads", () => runtime.isLeader(), (leads) => leads, 20_000);
      await eventually("the runtime has the fleet at 4/6", async () => [(await replicas("member-1")).desired, (await replicas("member-2")).desired], (r) => r[0] === 4 && r[1] === 6, 20_000);
      // Every value each member's spec takes while up runs, to see who wrote it and that none goes back and forth.
      sampler = (async () => {
        while (sampling) {
          for (const member of Object.keys(seen)) {
            const desired = (await replicas(member)).desired;
            if (seen[member]!.at(-1) !== desired) seen[member]!.push(desired);
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const before = scaledLines.length;
      stack.writeConfig(config({ "member-1": 2, "member-2": 8 }));
      await stack.up();
      assert.deepEqual([(await replicas("member-1")).desired, (await replicas("member-2")).desired], [2, 8], "up returns once the runtime converged");
      const writes = scaledLines.slice(before);
      for (const [member, values] of Object.entries(seen)) {
        const moves = values.slice(1).map((v, i) => Math.sign(v - values[i]!));
        assert.ok(moves.every((m) => m === moves[0]), `${member} went ${values.join(" -> ")}: back and forth`);
        // Every value a member took was written by the runtime: the provider wrote none.
        for (const value of values.slice(1)) assert.ok(writes.some((w) => w.member === member && w.to === value), `${member} -> ${value} not written by the runtime`);
      }
      console.log(`# one writer: ${writes.length} member writes, all by the runtime: ${writes.map((w) => `${w.member}->${w.to}`).join(", ")}`);

      const state = JSON.parse(await stack.exportState()) as { deployment: { resources: { type: string; urn: string }[] } };
      const urn = state.deployment.resources.find((r) => r.type === "pulumi-nodejs:dynamic/fleetscale:DistributedReplicas")!.urn;
      stack.writeConfig(config({ "member-1": 5, "member-2": 5 }));
      const targeted = await stack.run(["up", "--yes", "--skip-preview", "--target", urn]);
      assert.notEqual(targeted.status, 0, "up --target of the replicas alone must fail while the DSO says otherwise");
      assert.match(targeted.stdout + targeted.stderr, /the runtime e2e-runtime leads and plans from the DistributedScaledObject in the hub, whose members are member-1=2, member-2=8, not member-1=5, member-2=5/);
      assert.deepEqual([(await replicas("member-1")).desired, (await replicas("member-2")).desired], [2, 8], "nothing was written");
      await stack.up();
      assert.deepEqual([(await replicas("member-1")).desired, (await replicas("member-2")).desired], [5, 5]);
    } finally {
      sampling = false;
      await sampler;
      await runtime.stop();
    }
  });

  it("a runtime that starts in the middle of an up takes over: up stops writing, and no value goes back and forth", async () => {
    await eventually("no runtime leads", () => new HubClient(fleet.kubeconfig("hub")).runtimeLeader(HUB_NAMESPACE), (leader) => leader === undefined, 30_000);
    assert.deepEqual([(await replicas("member-1")).desired, (await replicas("member-2")).desired], [5, 5]);
    const seen: Record<string, number[]> = { "member-1": [5], "member-2": [5] };
    const generation = (member: string) => Number(fleet.kubectl(member, "get", "deployment", "web", "-n", "default", "-o", "jsonpath={.metadata.generation}"));
    const generations = Object.fromEntries(Object.keys(seen).map((member) => [member, generation(member)]));
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const member of Object.keys(seen)) {
          const desired = (await replicas(member)).desired;
          if (seen[member]!.at(-1) !== desired) seen[member]!.push(desired);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const runtimeWrites: { member: string; to: number }[] = [];
    let runtime: RuntimeHandle | undefined;
    // No node of member-2 takes new pods: up raises member-2 and then waits, make-before-break, to lower member-1.
    const nodes = fleet.kubectl("member-2", "get", "nodes", "-o", "name").split(/\s+/).filter(Boolean);
    fleet.kubectl("member-2", "cordon", ...nodes);
    let cordoned = true;
    try {
      stack.writeConfig(config({ "member-1": 2, "member-2": 8 }));
      const up = stack.up();
      await eventually("up raised member-2", () => replicas("member-2"), (r) => r.desired === 8, 120_000);
      runtime = await startTestRuntime(fleet.cluster("hub").kubeconfig, HUB_NAMESPACE, "e2e-runtime-mid-up", (line) => {
        const parsed = JSON.parse(line) as { msg: string; member?: string; to?: number };
        if (parsed.msg === "scaled") runtimeWrites.push({ member: parsed.member!, to: parsed.to! });
      });
      await eventually("the runtime leads", () => runtime!.isLeader(), (leads) => leads, 20_000);
      await new Promise((r) => setTimeout(r, 2_000)); // past up's next look at the Lease
      fleet.kubectl("member-2", "uncordon", ...nodes);
      cordoned = false;
      await up;
      assert.deepEqual([(await replicas("member-1")).desired, (await replicas("member-2")).desired], [2, 8]);
    } finally {
      sampling = false;
      await sampler;
      if (cordoned) fleet.kubectl("member-2", "uncordon", ...nodes);
      await runtime?.stop();
    }
    // up raised member-2 before the runtime led; the runtime lowered member-1 as member-2's pods
    // became ready; up wrote nothing after it. Every spec change shows in the Deployment's
    // generation, so the counts below include writes the sampler was too slow to see.
    const changes = Object.fromEntries(Object.keys(seen).map((member) => [member, generation(member) - generations[member]!]));
    const byRuntime = (member: string) => runtimeWrites.filter((w) => w.member === member).map((w) => w.to);
    assert.deepEqual(seen["member-2"], [5, 8]);
    assert.equal(changes["member-2"], 1, "member-2 was written once, by up, before the runtime led");
    assert.deepEqual(byRuntime("member-2"), []);
    assert.equal(changes["member-1"], byRuntime("member-1").length, `every change of member-1 is the runtime's: ${byRuntime("member-1").join(", ")}`);
    assert.deepEqual(byRuntime("member-1"), [...byRuntime("member-1")].sort((a, b) => b - a), "member-1 only went down");
    assert.equal(byRuntime("member-1").at(-1), 2);
    console.log(`# runtime started mid-up: up wrote member-2 5->8; the runtime wrote member-1 ${[5, ...byRuntime("member-1")].join("->")}; no other write`);
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
