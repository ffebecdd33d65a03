import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { loadStackConfig } from "../schema/stack-config";
import { ValidationError } from "../schema/validate";
import { type CredentialSources, stackFleetArgs } from "./stack-fleet-args";

const config = loadStackConfig((key) =>
  JSON.stringify(
    {
      hub: { kubeconfigPath: ".fleet/local/hub.kubeconfig", replicas: 3 },
      members: {
        inline: { kubeconfig: "inline-kubeconfig", weight: 2 },
        file: { kubeconfigPath: "/abs/file.kubeconfig" },
        self: { inHub: true, apiUrl: "https://kubernetes.default.svc" },
        "by-stack": { stack: "organization/fleetscale-member/eu-1", weight: 5 },
        gone: { stack: "organization/fleetscale-member/us-1" },
      },
      workloads: { pinned: { memberClusters: [{ name: "gone", weight: 1 }, { name: "inline", weight: 3 }], scaledObjectSpec: { scaleTargetRef: { name: "web" } } } },
    }[key],
  ),
);

const sources = (readFile: CredentialSources["readFile"]): CredentialSources => ({
  readFile,
  memberStackKubeconfig: async (stack) => (stack.endsWith("/eu-1") ? "scaler-kubeconfig-from-eu-1" : undefined),
});

describe("stackFleetArgs", () => {
  it("reads files relative to the project directory, keeps inline values, and takes members' scaler kubeconfigs from their stacks", async () => {
    const read: string[] = [];
    const { args } = await stackFleetArgs(config, "/project", sources((file) => {
      read.push(file);
      return `contents of ${file}`;
    }));
    assert.deepEqual(read, [path.resolve("/project/.fleet/local/hub.kubeconfig"), path.resolve("/abs/file.kubeconfig")]);
    assert.equal(args.hub.kubeconfig, `contents of ${path.resolve("/project/.fleet/local/hub.kubeconfig")}`);
    assert.equal(args.hub.replicas, 3);
    assert.equal(args.members["inline"]!.kubeconfig, "inline-kubeconfig");
    assert.equal(args.members["file"]!.kubeconfig, `contents of ${path.resolve("/abs/file.kubeconfig")}`);
    assert.deepEqual(args.members["self"], { inHub: true, apiUrl: "https://kubernetes.default.svc", namespace: "fleetscale", weight: 1 });
    assert.deepEqual(args.members["by-stack"], { scalerKubeconfig: "scaler-kubeconfig-from-eu-1", namespace: "fleetscale", weight: 5 });
    assert.ok(!("kubeconfigPath" in args.members["file"]!) && !("kubeconfigPath" in args.hub), "the Fleet gets text, not paths");
  });

  it("leaves out a member whose stack exports no kubeconfig, from the members and from every workload's list", async () => {
    const { args, offboarded } = await stackFleetArgs(config, "/project", sources(() => "text"));
    assert.deepEqual(offboarded, [{ member: "gone", stack: "organization/fleetscale-member/us-1" }]);
    assert.deepEqual(Object.keys(args.members), ["inline", "file", "self", "by-stack"]);
    assert.deepEqual(args.workloads!["pinned"]!.memberClusters, [{ name: "inline", weight: 3 }]);
  });

  it("refuses a workload pinned only to members that left, rather than spreading it over the rest", async () => {
    const onlyGone = loadStackConfig((key) =>
      JSON.stringify(
        {
          hub: { kubeconfig: "hub" },
          members: { stays: { kubeconfig: "k" }, gone: { stack: "organization/fleetscale-member/us-1" } },
          workloads: { pinned: { memberClusters: [{ name: "gone", weight: 1 }], scaledObjectSpec: { scaleTargetRef: { name: "web" } } } },
        }[key],
      ),
    );
    await assert.rejects(stackFleetArgs(onlyGone, "/project", sources(() => "text")), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.deepEqual(error.problems.map((p) => p.path), ["fleetscale:workloads.pinned.memberClusters"]);
      assert.match(error.problems[0]!.message, /every member it lists has left the fleet, its stack exporting no kubeconfig: gone \(organization\/fleetscale-member\/us-1\)/);
      return true;
    });
  });

  it("lists every unreadable file by config path", async () => {
    await assert.rejects(
      stackFleetArgs(config, "/project", sources(() => {
        throw new Error("ENOENT: no such file or directory");
      })),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.message ===
          [
            "invalid stack config:",
            `  - fleetscale:hub.kubeconfigPath: cannot read ${path.resolve("/project/.fleet/local/hub.kubeconfig")}: ENOENT: no such file or directory`,
            `  - fleetscale:members.file.kubeconfigPath: cannot read ${path.resolve("/abs/file.kubeconfig")}: ENOENT: no such file or directory`,
          ].join("\n"),
    );
  });
});
