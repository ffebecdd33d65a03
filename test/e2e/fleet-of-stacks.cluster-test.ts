/**
 * A fleet of stacks, the shape large organisations run: each member cluster's team runs its
 * own stack (examples/member-stack, from the npm package) that onboards the cluster and exports
 * the scaler kubeconfig; the platform team's hub stack (this project) takes the members from
 * stack references and never holds a member's admin credential. Real engine, one file backend,
 * a real local fleet.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemberClient, type WorkloadRef } from "../../members/client";
import { HubClient } from "../../members/hub";
import { LocalFleet } from "../support/fleet";
import { ProjectStack } from "../support/project-stack";
import { PulumiWorkspace, check } from "../support/pulumi";
import { deployment } from "../support/workloads";

const HUB_NAMESPACE = "fleetscale-system";
const web: WorkloadRef = { kind: "Deployment", namespace: "default", name: "web" };
const MEMBERS = ["member-1", "member-2"] as const;

describe("a hub stack and member stacks, joined by stack references", () => {
  let fleet: LocalFleet;
  let hub: ProjectStack;
  const memberStacks = new Map<string, PulumiWorkspace>();
  const replicas = async (member: string) => (await new MemberClient(member, fleet.kubeconfig(member)).readReplicas(web)).desired;
  const storedMembers = async () => [...(await new HubClient(fleet.kubeconfig("hub")).memberKubeconfigs(HUB_NAMESPACE)).keys()].sort();
  const adminKeys = () => MEMBERS.map((member) => /client-key-data: (\S+)/.exec(fleet.kubeconfig(member))?.[1] ?? assert.fail(`${member}: no client key`));

  before(async () => {
    fleet = LocalFleet.start({ clusters: ["hub", ...MEMBERS] });
    for (const member of MEMBERS) fleet.apply(member, deployment("web", 1));
    hub = await ProjectStack.create({
      hub: { kubeconfigPath: fleet.cluster("hub").kubeconfig, namespace: HUB_NAMESPACE, replicas: 1 },
      members: {
        "member-1": { stack: "organization/fleetscale-member/member-1", weight: 4 },
        "member-2": { stack: "organization/fleetscale-member/member-2", weight: 6 },
      },
      workloads: { web: { totalTargetReplicas: 10, scaledObjectSpec: { scaleTargetRef: { name: "web" } } } },
    });
    for (const member of MEMBERS) {
      memberStacks.set(
        member,
        await PulumiWorkspace.create({
          example: "member-stack",
          stack: member,
          backendDir: hub.backendDir,
          config: { kubeconfig: { value: fleet.kubeconfig(member), secret: true }, member },
        }),
      );
    }
  });
  after(async () => {
    try {
      if (hub) await hub.destroy();
      for (const stack of memberStacks.values()) check(await stack.destroy());
    } finally {
      hub?.cleanup();
      for (const stack of memberStacks.values()) stack.cleanup();
      fleet?.down();
    }
  });

  it("each member's team onboards its cluster in its own stack, which exports only the scaler kubeconfig, as a secret", async () => {
    for (const [member, stack] of memberStacks) {
      check(await stack.up());
      const stackResource = (await stack.exportStack()).deployment.resources?.find((r) => r["type"] === "pulumi:pulumi:Stack");
      assert.equal(typeof stackResource?.["outputs"]?.kubeconfig?.ciphertext, "string", `${member}: the output is stored encrypted`);
      const outputs = await stack.outputs();
      assert.match(outputs["kubeconfig"], /token: /);
      assert.doesNotMatch(outputs["kubeconfig"], /client-key-data/, "the scaler kubeconfig carries the token, not the admin key");
    }
  });

  it("the hub stack takes both members from their stacks and splits 10 replicas 4/6, holding no member's admin credential", async () => {
    await hub.up();
    assert.deepEqual(await storedMembers(), ["member-1", "member-2"]);
    assert.deepEqual([await replicas("member-1"), await replicas("member-2")], [4, 6]);
    assert.equal(hub.transcript.join("").includes("token: "), false, "no credential printed");
    const state = check(await hub.run(["stack", "export", "--show-secrets"])).stdout;
    for (const key of adminKeys()) assert.equal(state.includes(key), false, "a member's admin key is in the hub stack's state");
    assert.ok(state.includes("token: "), "the decrypted state holds the scaler kubeconfigs, so the check above looked at them");
  });

  it("a member stack destroyed: the hub's next up warns, offboards the member and moves its replicas to the others", async () => {
    check(await memberStacks.get("member-2")!.destroy());
    const preview = await hub.preview();
    assert.match(preview.stdout + preview.stderr, /member member-2: stack organization\/fleetscale-member\/member-2 exports no kubeconfig \(destroyed\?\), so member-2 leaves the fleet/);
    await hub.up();
    assert.deepEqual(await storedMembers(), ["member-1"]);
    assert.equal(await replicas("member-1"), 10);
    const dso = JSON.parse(fleet.kubectl("hub", "get", "dso", "web", "-n", "default", "-o", "json"));
    assert.deepEqual(dso.spec.memberClusters.map((m: { name: string }) => m.name), ["member-1"]);
  });
});
