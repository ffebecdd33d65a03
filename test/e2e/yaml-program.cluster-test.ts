/**
 * fleetscale from another language: a Pulumi YAML program adds the fleetscale package with
 * `pulumi package add` (the component provider in provider/component, schema inferred from its
 * TypeScript) and deploys a fleet with `fleetscale:index:Fleet`, with the real engine and the YAML
 * language host on a real local fleet.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { MemberClient, type WorkloadRef } from "../../members/client";
import { LocalFleet } from "../support/fleet";
import { PulumiWorkspace, check, pulumiToolchain, repoRoot } from "../support/pulumi";
import { deployment } from "../support/workloads";

const HUB_NAMESPACE = "fleetscale-yaml";
const MEMBER_NAMESPACE = "fleetscale-yaml-member";
const web: WorkloadRef = { kind: "Deployment", namespace: "default", name: "web" };
const componentDir = path.join(repoRoot(), "provider", "component");

interface ProgramOptions {
  hubKubeconfigPath: string;
  memberKubeconfigPath: string;
  hubReplicas?: number;
  memberNamespace?: string;
  /** Make the hub's replicas a secret (the component refuses it: only kubeconfigs may be secrets). */
  secretReplicas?: boolean;
}

/** The program: the kubeconfigs read into the program as text, the member's kept a secret. */
function program(o: ProgramOptions): string {
  const readMemberKubeconfig = `fn::readFile: ${JSON.stringify(o.memberKubeconfigPath)}`;
  return `name: fleet-yaml
runtime: yaml
resources:
  fleet:
    type: fleetscale:index:Fleet
    properties:
      hub:
        kubeconfig:
          fn::readFile: ${JSON.stringify(o.hubKubeconfigPath)}
        namespace: ${HUB_NAMESPACE}
        replicas: ${o.secretReplicas ? "\n          fn::secret: 1" : (o.hubReplicas ?? 1)}
      members:
        member-1:
          kubeconfig:
            fn::secret:
              ${readMemberKubeconfig}
          namespace: ${o.memberNamespace ?? MEMBER_NAMESPACE}
      workloads:
        web:
          totalTargetReplicas: 3
          scaledObjectSpec:
            scaleTargetRef:
              name: web
outputs:
  hubNamespace: \${fleet.hubNamespace}
  dsoNames: \${fleet.dsoNames}
`;
}

describe("a Pulumi YAML program deploys a fleet through the fleetscale package", () => {
  let fleet: LocalFleet;
  let ws: PulumiWorkspace;
  const kubeconfigs = () => ({ hubKubeconfigPath: fleet.cluster("hub").kubeconfig, memberKubeconfigPath: fleet.cluster("member-1").kubeconfig });

  before(async () => {
    fleet = LocalFleet.start({ clusters: ["hub", "member-1"] });
    fleet.apply("member-1", deployment("web", 1));
    const tc = pulumiToolchain();
    ws = await PulumiWorkspace.create({
      project: "fleet-yaml",
      yaml: program(kubeconfigs()),
      // `pulumi package add` of a plugin executable records the package by name and version; the
      // engine then finds pulumi-resource-fleetscale on PATH.
      env: { PATH: [componentDir, tc.binDir, path.join(repoRoot(), "node_modules", ".bin"), process.env["PATH"] ?? ""].join(path.delimiter) },
    });
  });
  after(async () => {
    try {
      if (ws) check(await ws.destroy());
    } finally {
      ws?.cleanup();
      fleet?.down();
    }
  });

  it("pulumi package add records the fleetscale package, its schema inferred from the components' TypeScript", async () => {
    check(await ws.run(["package", "add", path.join(componentDir, "pulumi-resource-fleetscale")]));
    const project = parse(readFileSync(path.join(ws.projectDir, "Pulumi.yaml"), "utf8")) as { packages?: Record<string, string> };
    assert.deepEqual(project.packages, { fleetscale: "fleetscale@0.1.0" });
    const schema = JSON.parse(check(await ws.run(["package", "get-schema", path.join(componentDir, "pulumi-resource-fleetscale")])).stdout) as {
      resources: Record<string, { isComponent?: boolean; requiredInputs?: string[]; properties?: Record<string, unknown> }>;
    };
    const fleetResource = schema.resources["fleetscale:index:Fleet"];
    assert.ok(fleetResource?.isComponent);
    assert.deepEqual(fleetResource.requiredInputs, ["hub", "members"]);
    assert.deepEqual(Object.keys(fleetResource.properties ?? {}).sort(), ["dsoNames", "hubNamespace", "memberApiUrls", "replicas"]);
  });

  it("bad args fail the preview naming each field, with nothing created", async () => {
    const projectFile = path.join(ws.projectDir, "Pulumi.yaml");
    const good = readFileSync(projectFile, "utf8");
    const packages = good.slice(good.indexOf("packages:"));
    writeFileSync(projectFile, program({ ...kubeconfigs(), secretReplicas: true }) + packages);
    try {
      const secret = await ws.run(["preview", "--stack", ws.stack]);
      assert.notEqual(secret.status, 0);
      assert.match(secret.stdout, /hub\.replicas: must be a plain value, not another resource's output/);
      assert.doesNotMatch(secret.stdout, /members\.member-1\.kubeconfig:/, "a kubeconfig may be a secret");
      writeFileSync(projectFile, program({ ...kubeconfigs(), hubReplicas: 9, memberNamespace: "Not_A_Label" }) + packages);
      const invalid = await ws.run(["preview", "--stack", ws.stack]);
      assert.notEqual(invalid.status, 0);
      assert.match(invalid.stdout, /hub\.replicas: Too big: expected number to be <=5/);
      assert.match(invalid.stdout, /members\.member-1\.namespace: /);
      assert.equal((await ws.exportStack()).deployment.resources?.length ?? 0, 0, "a failed preview leaves the state empty");
    } finally {
      writeFileSync(projectFile, good);
    }
  });

  it("pulumi up onboards the member, installs the hub and distributes the workload", async () => {
    const up = check(await ws.up());
    console.log(`# YAML program: pulumi up ${(up.ms / 1000).toFixed(1)} s`);
    assert.match(fleet.kubectl("member-1", "get", "namespace", MEMBER_NAMESPACE, "-o", "name"), /namespace\/fleetscale-yaml-member/);
    assert.match(fleet.kubectl("hub", "get", "crd", "distributedscaledobjects.fleetscale.io", "-o", "name"), /distributedscaledobjects\.fleetscale\.io/);
    assert.match(fleet.kubectl("hub", "get", "dso", "web", "-n", "default", "-o", "name"), /web/);
    assert.equal((await new MemberClient("member-1", fleet.kubeconfig("member-1")).readReplicas(web)).desired, 3);
    const outputs = await ws.outputs();
    assert.equal(outputs["hubNamespace"], HUB_NAMESPACE);
    assert.deepEqual(outputs["dsoNames"], ["default/web"]);
  });

  it("the state holds no kubeconfig the program read in plain text", async () => {
    const state = JSON.stringify(await ws.exportStack());
    for (const cluster of ["hub", "member-1"]) {
      const key = /client-key-data: (\S+)/.exec(fleet.kubeconfig(cluster))?.[1];
      assert.ok(key, `the ${cluster}'s admin kubeconfig has a client key`);
      assert.equal(state.includes(key), false, `the ${cluster}'s client key is in the state unencrypted`);
    }
  });

  it("pulumi destroy removes what up created", async () => {
    check(await ws.destroy());
    assert.equal(fleet.kubectl("member-1", "get", "namespaces", "-o", "name").includes(`namespace/${MEMBER_NAMESPACE}\n`), false);
    assert.equal(fleet.kubectl("hub", "get", "dso", "-A", "-o", "name").trim(), "");
  });
});
