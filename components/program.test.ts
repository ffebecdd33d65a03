// The Pulumi program (index.ts) as the language host runs it: config in, fleet out.
// recording-mocks first: it installs the Pulumi mocks before any component module loads.
import { promiseOf, registrations } from "./recording-mocks";
import * as pulumi from "@pulumi/pulumi";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";

const PROGRAM = path.join(__dirname, "..", "index.js");

/** Runs the program with the given `fleetscale:` config, as `pulumi preview` would load it. */
function runProgram(config: Record<string, unknown>): Promise<Record<string, pulumi.Output<unknown>>> {
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([key, value]) => [`fleetscale:${key}`, JSON.stringify(value)])));
  delete require.cache[PROGRAM];
  return require(PROGRAM)();
}

describe("the Pulumi program", () => {
  it("refuses a bad config with one error per problem by config path and no stack trace, before registering any resource", async (t) => {
    const before = registrations.length;
    // Without an engine (as under mocks) pulumi.log.error writes to console.error.
    const logged = t.mock.method(console, "error", () => undefined);
    await assert.rejects(
      runProgram({ hub: { kubeconfigPath: "hub.kubeconfig", replicas: 9 }, members: { "m-1": { kubeconfigPath: "m.kubeconfig", weight: -1 } }, workloads: { web: { scaledObjectSpec: {} } }, workload: {} }),
      (error: unknown) => {
        assert.ok(pulumi.RunError.isInstance(error), `the CLI prints the stack of anything but a RunError: ${String(error)}`);
        assert.equal(error.message, "invalid stack config: 4 problems, listed above");
        return true;
      },
    );
    assert.deepEqual(
      logged.mock.calls.map((call) => String(call.arguments[0]).replace(/^error: \[runtime\] /, "").replace(/: .*/s, "")),
      ["fleetscale:workload", "fleetscale:hub.replicas", "fleetscale:members.m-1.weight", "fleetscale:workloads.web.scaledObjectSpec.scaleTargetRef"],
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(registrations.length, before);
  });

  it("builds the fleet from a good config and exports its outputs", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleetscale-program-test-"));
    const kubeconfig = path.join(dir, "hub.kubeconfig");
    fs.writeFileSync(kubeconfig, "clusters: [{ name: hub, cluster: { server: 'https://hub.example:6443' } }]\n");
    const outputs = await runProgram({
      hub: { kubeconfigPath: kubeconfig },
      members: { self: { inHub: true } },
      workloads: { web: { scaledObjectSpec: { scaleTargetRef: { name: "web" } } } },
    });
    assert.equal(await promiseOf(outputs["hubNamespace"]!), "fleetscale-system");
    assert.deepEqual(await promiseOf(outputs["memberApiUrls"]!), { self: "https://hub.example:6443" });
    assert.deepEqual(await promiseOf(outputs["dsoNames"]!), ["default/web"]);
    assert.ok(registrations.some((r) => r.type === "fleetscale:index:Fleet" && r.name === "fleet"));
  });
});
