// The project file and the example stacks, checked against what the program accepts.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { CONFIG_KEYS, type StackConfig, loadProgramConfig, stackConfigSchema } from "../schema/stack-config";
import { dsoSpecForWorkload } from "./workload-spec";

/** The repository root, from components/ or dist/components/. */
const root = [path.join(__dirname, ".."), path.join(__dirname, "..", "..")].find((dir) => fs.existsSync(path.join(dir, "Pulumi.yaml")))!;

const readYaml = (file: string) => parse(fs.readFileSync(path.join(root, file), "utf8"));

/** A stack's config as the program reads it, every key of it: `secure:` values decrypted (here: replaced by a stand-in). */
function stackConfig(stack: string): StackConfig {
  const values = readYaml(`stacks/Pulumi.${stack}.yaml`).config as Record<string, unknown>;
  const decrypt = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(decrypt);
    if (typeof value !== "object" || value === null) return value;
    if ("secure" in value) return "apiVersion: v1\nkind: Config\n";
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, decrypt(inner)]));
  };
  return loadProgramConfig(Object.fromEntries(Object.entries(values).map(([key, value]) => [key, JSON.stringify(decrypt(value))])));
}

describe("Pulumi.yaml", () => {
  it("runs the compiled program from the project's root, keeps stacks in stacks/ and disables the default Kubernetes provider", () => {
    const project = readYaml("Pulumi.yaml");
    assert.equal(project.name, "fleetscale");
    assert.deepEqual(project.runtime, { name: "nodejs", options: { typescript: false } });
    // At the root: Pulumi runs a program in its main's directory, which kubeconfigPath values are relative to.
    assert.equal(project.main, "program.js");
    assert.equal(project.stackConfigDir, "stacks");
    // Keys outside the project namespace must carry `value` (Pulumi rejects `default` or a type there).
    assert.deepEqual(project.config["pulumi:disable-default-providers"], { value: ["kubernetes"] });
  });

  it("declares the schema's keys for Pulumi to type-check: objects, with a default exactly where the schema has one", () => {
    const config = readYaml("Pulumi.yaml").config as Record<string, { type?: string; default?: unknown }>;
    assert.deepEqual(Object.keys(config).filter((key) => !key.includes(":")), CONFIG_KEYS);
    for (const key of CONFIG_KEYS) {
      assert.equal(config[key]!.type, "object", key);
      // Pulumi refuses to run a stack that lacks a declared key without a default.
      const absent = stackConfigSchema.shape[key].safeParse(undefined);
      assert.deepEqual(config[key]!.default, absent.success ? absent.data : undefined, key);
    }
  });
});

describe("example stacks", () => {
  for (const stack of ["local", "dev", "prod"]) {
    it(`${stack} is a valid fleet`, () => {
      stackConfig(stack);
    });
  }

  it("local targets the launcher's fleet directory, runs the runtime on the real node, and spreads web 4:6 over 10 replicas", () => {
    const config = stackConfig("local");
    assert.equal(config.hub.kubeconfigPath, ".fleet/local/hub.kubeconfig");
    assert.deepEqual(Object.entries(config.members).map(([name, m]) => [name, m.kubeconfigPath]), [
      ["member-1", ".fleet/local/member-1.pod.kubeconfig"],
      ["member-2", ".fleet/local/member-2.pod.kubeconfig"],
    ]);
    assert.equal(config.hub.image, "localhost/fleetscale-scaler:local");
    assert.deepEqual(config.hub.nodeSelector, { "fleetscale.local/real-node": "true" });
    const web = dsoSpecForWorkload(config.workloads["web"]!, config.members);
    assert.deepEqual(web.memberClusters, [
      { name: "member-1", weight: 4 },
      { name: "member-2", weight: 6 },
    ]);
    assert.equal(web.totalTargetReplicas, 10);
    assert.equal(web.scaledObjectSpec.triggers[0]?.type, "kubernetes-resource");
  });

  it("prod keeps its kubeconfigs as secrets and has the hub as a member", () => {
    const values = readYaml("stacks/Pulumi.prod.yaml").config;
    assert.ok(values["fleetscale:hub"].kubeconfig.secure.startsWith("v1:"));
    assert.ok(Object.values(stackConfig("prod").members).some((m) => m.inHub));
  });
});
