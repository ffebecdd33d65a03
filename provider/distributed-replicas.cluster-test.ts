/**
 * DistributedReplicas in a user's own Pulumi program, in its own directory, with the real
 * engine: the provider process loads the compiled provider through the loader kept in state,
 * and the import option is refused with a message that says what to do instead.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { PulumiWorkspace, type RunResult } from "../test/support/pulumi";

// No hub answers here: a preview's check() splits the declared total without reading it.
const program = (options: string) => `
import { DistributedReplicas } from ${JSON.stringify(path.join(__dirname, "distributed-replicas"))};

const replicas = new DistributedReplicas("web", {
  hubKubeconfig: "apiVersion: v1\\nkind: Config\\nclusters: []\\nusers: []\\ncontexts: []\\n",
  hubNamespace: "fleetscale-system",
  dsoNamespace: "default",
  dsoName: "web",
  spec: {
    memberClusters: [{ name: "member-1", weight: 4 }, { name: "member-2", weight: 6 }],
    totalTargetReplicas: 10,
    scaledObjectSpec: { scaleTargetRef: { name: "web" } },
  },
}${options});
export const plan = replicas.plan;
`;

describe("DistributedReplicas in a user's own program, with the real Pulumi engine", () => {
  const workspaces: PulumiWorkspace[] = [];
  const workspace = async (options: string) => {
    const created = await PulumiWorkspace.create({ program: program(options), transpileOnly: true });
    workspaces.push(created);
    return created;
  };
  after(() => {
    for (const w of workspaces) w.cleanup();
  });

  it("previews the split per member through the provider loaded from the fleetscale build, from another project directory", async () => {
    const preview = await (await workspace("")).preview();
    assert.equal(preview.status, 0, preview.stderr);
    const step = preview.steps.find((s) => s.newState?.type === "pulumi-nodejs:dynamic/fleetscale:DistributedReplicas");
    assert.deepEqual(step?.newState?.inputs?.["plan"], { "member-1": 4, "member-2": 6 });
  });

  it("refuses the import option with one line naming the resource and what to do instead, before anything is read", async () => {
    const result: RunResult = await (await workspace(`, { import: "default/web" }`)).run(["preview", "--stack", "test"]);
    const output = `${result.stdout}\n${result.stderr}`;
    assert.notEqual(result.status, 0, output);
    assert.match(output, /error: DistributedReplicas web cannot be imported \(Pulumi's dynamic providers cannot import\)\. Remove the import option: pulumi up adopts the workload as it runs/);
    assert.doesNotMatch(output, /^\s+at /m, "no stack trace");
    assert.doesNotMatch(output, /toJavaScript/, "not Pulumi's provider process failing");
  });
});
