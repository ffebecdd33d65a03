import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { loadStackConfig } from "../schema/stack-config";
import { ValidationError } from "../schema/validate";
import { readAdminKubeconfigs } from "./admin-kubeconfigs";

const config = loadStackConfig((key) =>
  JSON.stringify(
    {
      hub: { kubeconfigPath: ".fleet/local/hub.kubeconfig" },
      members: { inline: { kubeconfig: "inline-kubeconfig" }, file: { kubeconfigPath: "/abs/file.kubeconfig" }, self: { inHub: true } },
      workloads: {},
    }[key],
  ),
);

describe("readAdminKubeconfigs", () => {
  it("reads files relative to the project directory, keeps inline values, and gives an inHub member the hub's", () => {
    const read: string[] = [];
    const kubeconfigs = readAdminKubeconfigs(config, "/project", (file) => {
      read.push(file);
      return `contents of ${file}`;
    });
    assert.deepEqual(read, [path.resolve("/project/.fleet/local/hub.kubeconfig"), path.resolve("/abs/file.kubeconfig")]);
    assert.deepEqual(kubeconfigs, {
      hub: `contents of ${path.resolve("/project/.fleet/local/hub.kubeconfig")}`,
      members: { inline: "inline-kubeconfig", file: `contents of ${path.resolve("/abs/file.kubeconfig")}`, self: `contents of ${path.resolve("/project/.fleet/local/hub.kubeconfig")}` },
    });
  });

  it("lists every unreadable file by config path", () => {
    assert.throws(
      () =>
        readAdminKubeconfigs(config, "/project", () => {
          throw new Error("ENOENT: no such file or directory");
        }),
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
