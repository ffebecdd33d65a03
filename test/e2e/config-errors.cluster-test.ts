/**
 * A bad stack config with the real Pulumi engine on a real hub: the program refuses it before
 * registering anything, so a typo can never plan the deletion of what the stack manages, and
 * the CLI prints one line per problem with its config path, without a stack trace.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RunResult } from "../support/pulumi";
import { LocalFleet } from "../support/fleet";
import { ProjectStack, changeSummary } from "../support/project-stack";
import { deployment } from "../support/workloads";

/** The lines the CLI prints as errors; a stack trace or an object dump would add others. */
const errorLines = (result: RunResult) => `${result.stdout}\n${result.stderr}`.split("\n").filter((line) => /^\s*error:/.test(line)).map((line) => line.trim());

function assertClean(result: RunResult): void {
  const output = `${result.stdout}\n${result.stderr}`;
  assert.notEqual(result.status, 0, output);
  assert.doesNotMatch(output, /^\s+at /m, "no stack trace");
  assert.doesNotMatch(output, /\x1b\[/, "no terminal colour codes");
  assert.doesNotMatch(output, /unhandled exception|ValidationError|problems: \[/, "no exception dump");
}

describe("a bad stack config, on a real hub with the real Pulumi engine", () => {
  let fleet: LocalFleet;
  let stack: ProjectStack;
  const hub = () => ({ kubeconfigPath: fleet.cluster("hub").kubeconfig, replicas: 1 });
  const members = { home: { inHub: true } };
  const workloads = { web: { totalTargetReplicas: 2, scaledObjectSpec: { scaleTargetRef: { name: "web" } } } };
  const resourceCount = async () => (JSON.parse(await stack.exportState()) as { deployment: { resources: unknown[] } }).deployment.resources.length;

  before(async () => {
    fleet = LocalFleet.start({ clusters: ["hub"] });
    fleet.apply("hub", deployment("web", 1));
    stack = await ProjectStack.create({ hub: hub(), members, workloads });
    await stack.up();
  });
  after(async () => {
    try {
      if (stack) {
        stack.writeConfig({ hub: hub(), members, workloads });
        await stack.run(["destroy", "--yes", "--skip-preview"]);
      }
    } finally {
      stack?.cleanup();
      fleet?.down();
    }
  });

  it("a misspelt top-level key fails preview and up, naming the key and the one meant, and deletes nothing", async () => {
    const deployed = await resourceCount();
    stack.writeConfig({ hub: hub(), members, workload: workloads });

    const preview = await stack.run(["preview", "--diff"]);
    assertClean(preview);
    assert.deepEqual(errorLines(preview), ["error: fleetscale:workload: unknown key; did you mean fleetscale:workloads?", "error: invalid stack config: 1 problem, listed above"]);
    assert.equal(changeSummary(preview.stdout)["delete"], undefined, preview.stdout);
    assert.doesNotMatch(preview.stdout, /^\s*- /m, "no resource planned for deletion");

    const up = await stack.run(["up", "--yes", "--skip-preview"]);
    assertClean(up);
    assert.equal(await resourceCount(), deployed, "up changed the stack");
  });

  it("two bad fields print exactly one line each, with its config path", async () => {
    stack.writeConfig({ hub: { ...hub(), replicas: 9 }, members: { home: { ...members.home, weight: -1 } }, workloads });
    const preview = await stack.run(["preview", "--diff"]);
    assertClean(preview);
    assert.deepEqual(errorLines(preview), [
      "error: fleetscale:hub.replicas: Too big: expected number to be <=5",
      "error: fleetscale:members.home.weight: Too small: expected number to be >=0",
      "error: invalid stack config: 2 problems, listed above",
    ]);
    for (const path of ["fleetscale:hub.replicas", "fleetscale:members.home.weight"]) {
      assert.equal(`${preview.stdout}\n${preview.stderr}`.split(path).length - 1, 1, `${path} is printed once`);
    }
  });
});
