/**
 * fleetscale added to a platform team's own Pulumi program (examples/own-program), as a user
 * adds it: the repository packed as npm publishes it, installed beside the program's own
 * @pulumi/* packages, type-checked against the package's declarations, and run by the real
 * engine on a real local fleet.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { MemberClient, type WorkloadRef } from "../../members/client";
import { HubClient } from "../../members/hub";
import { LocalFleet } from "../support/fleet";
import { PulumiWorkspace, check } from "../support/pulumi";

const app: WorkloadRef = { kind: "Deployment", namespace: "default", name: "app" };

describe("fleetscale in a user's own Pulumi program, from the npm package", () => {
  let fleet: LocalFleet;
  let program: PulumiWorkspace;
  const replicas = async (member: string) => (await new MemberClient(member, fleet.kubeconfig(member)).readReplicas(app)).desired;

  before(async () => {
    fleet = LocalFleet.start({ clusters: ["hub", "member-1", "member-2"] });
    program = await PulumiWorkspace.create({
      example: "own-program",
      config: {
        hubKubeconfig: { value: fleet.kubeconfig("hub"), secret: true },
        memberKubeconfigs: { value: JSON.stringify({ "member-1": fleet.kubeconfig("member-1"), "member-2": fleet.kubeconfig("member-2") }), secret: true },
        memberWeights: JSON.stringify({ "member-1": 1, "member-2": 2 }),
        totalReplicas: "6",
      },
    });
  });
  after(async () => {
    try {
      if (program) check(await program.destroy());
    } finally {
      program?.cleanup();
      fleet?.down();
    }
  });

  it("shares one Pulumi SDK with fleetscale: the program's @pulumi/pulumi is the one fleetscale loads", () => {
    const modules = path.join(program.projectDir, "node_modules");
    assert.ok(fs.existsSync(path.join(modules, "fleetscale", "dist", "fleetscale.d.ts")), "the package ships its declarations");
    assert.ok(!fs.existsSync(path.join(modules, "fleetscale", "node_modules", "@pulumi")), "no second @pulumi/* under fleetscale");
    assert.ok(!fs.existsSync(path.join(modules, "fleetscale", "dist", "test")), "the package ships no tests");
  });

  it("pulumi up deploys the program's app and the fleet beside it, and splits the app 2/4 by weight", async () => {
    // Not transpile-only: ts-node type-checks the program against fleetscale's declarations.
    const up = check(await program.up());
    assert.equal(up.events.filter((e) => e.diagnosticEvent?.severity === "error").length, 0);
    assert.deepEqual([await replicas("member-1"), await replicas("member-2")], [2, 4]);
    const stored = await new HubClient(fleet.kubeconfig("hub")).memberKubeconfigs("fleetscale-system");
    assert.deepEqual([...stored.keys()].sort(), ["member-1", "member-2"]);
    const outputs = await program.outputs();
    assert.deepEqual(outputs["dsoNames"], ["default/app"]);
    assert.deepEqual(outputs["replicas"], { app: { "member-1": 2, "member-2": 4 } });
  });

  it("a weight changed in the program's config previews per member and applies; the app's own replicas stay the fleet's", async () => {
    await program.setConfig("memberWeights", JSON.stringify({ "member-1": 1, "member-2": 1 }));
    const preview = await program.preview();
    assert.equal(preview.status, 0, preview.stderr);
    const replicasStep = preview.steps.find((s) => s.newState?.type === "pulumi-nodejs:dynamic/fleetscale:DistributedReplicas");
    assert.deepEqual(replicasStep?.newState?.inputs?.["plan"], { "member-1": 3, "member-2": 3 });
    const appSteps = preview.steps.filter((s) => s.newState?.type === "kubernetes:apps/v1:Deployment" && s.op !== "same");
    assert.deepEqual(appSteps.map((s) => s.urn), [], "the program's Deployments ignore spec.replicas, which fleetscale owns");
    check(await program.up());
    assert.deepEqual([await replicas("member-1"), await replicas("member-2")], [3, 3]);
  });
});
