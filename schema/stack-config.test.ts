import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CONFIG_KEYS, loadProgramConfig, loadStackConfig, stackConfigSchema } from "./stack-config";
import { ValidationError } from "./validate";

const reader = (values: Record<string, unknown>) => (key: string) => (key in values ? (typeof values[key] === "string" ? (values[key] as string) : JSON.stringify(values[key])) : undefined);

function problems(values: Record<string, unknown>): string[] {
  try {
    loadStackConfig(reader(values), Object.keys(values));
  } catch (error) {
    assert.ok(error instanceof ValidationError);
    return error.problems.map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail("expected the config to be rejected");
}

const hub = { kubeconfigPath: "/tmp/hub.kubeconfig" };
const web = { scaledObjectSpec: { scaleTargetRef: { name: "web" } } };

describe("stack config", () => {
  it("fills defaults for the hub, members and workloads", () => {
    const config = loadStackConfig(reader({ hub, members: { "eu-1": { kubeconfig: "apiVersion: v1" } }, workloads: { web } }));
    assert.equal(config.hub.namespace, "fleetscale-system");
    assert.equal(config.members["eu-1"]!.weight, 1);
    assert.equal(config.members["eu-1"]!.namespace, "fleetscale");
    assert.equal(config.workloads.web!.namespace, "default");
    assert.equal(config.workloads.web!.rebalancingPolicy.gracePeriod, "1m");
  });

  it("takes the runtime's nodeSelector as string labels, naming a bad value by its path", () => {
    const selector = { "kubernetes.io/hostname": "hub-node-1" };
    assert.deepEqual(loadStackConfig(reader({ hub: { ...hub, nodeSelector: selector }, members: { "eu-1": { kubeconfig: "k" } }, workloads: {} })).hub.nodeSelector, selector);
    assert.deepEqual(problems({ hub: { ...hub, nodeSelector: { "kubernetes.io/hostname": 7 } }, members: { "eu-1": { kubeconfig: "k" } }, workloads: {} }), [
      "fleetscale:hub.nodeSelector.kubernetes.io/hostname: Invalid input: expected string, received number",
    ]);
  });

  it("installs no monitoring objects unless asked, fills the rest of a partial hub.monitoring, and names a misspelt key", () => {
    const members = { "eu-1": { kubeconfig: "k" } };
    assert.deepEqual(loadStackConfig(reader({ hub, members })).hub.monitoring, { serviceMonitor: false, prometheusRule: false, labels: {} });
    assert.deepEqual(loadStackConfig(reader({ hub: { ...hub, monitoring: { prometheusRule: true, labels: { release: "prometheus" } } }, members })).hub.monitoring, {
      serviceMonitor: false,
      prometheusRule: true,
      labels: { release: "prometheus" },
    });
    assert.deepEqual(problems({ hub: { ...hub, monitoring: { serviceMonitors: true, prometheusRule: "yes" } }, members }), [
      "fleetscale:hub.monitoring.prometheusRule: Invalid input: expected boolean, received string",
      "fleetscale:hub.monitoring: Unrecognized key: \"serviceMonitors\"",
    ]);
  });

  it("lists every problem by config path before anything is registered", () => {
    const found = problems({
      hub: {},
      members: { "eu-1": { kubeconfigPath: "a", weight: -1 }, EU2: { kubeconfigPath: "b" }, both: { kubeconfigPath: "c", inHub: true }, apiurl: { kubeconfigPath: "d", apiUrl: "ftp://x" } },
      workloads: { web: { ...web, memberClusters: [{ name: "nowhere" }] } },
    });
    const expected = [
      /^fleetscale:hub\.kubeconfig: set exactly one of kubeconfig/,
      /^fleetscale:members\.eu-1\.weight: Too small/,
      /^fleetscale:members\.EU2: invalid name: must be a DNS-1123 label/,
      /^fleetscale:members\.both\.kubeconfig: set exactly one of/,
      /^fleetscale:members\.apiurl\.apiUrl: /,
      /^fleetscale:workloads\.web\.memberClusters\[0\]\.name: unknown member "nowhere"/,
    ];
    for (const pattern of expected) assert.ok(found.some((p) => pattern.test(p)), `${pattern} not in:\n${found.join("\n")}`);
    assert.equal(found.length, expected.length, found.join("\n"));
  });

  it("lists problems, never throws a TypeError, whatever each key holds", () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), (members, workloads, hubValue) => {
        try {
          loadStackConfig(reader({ hub: hubValue ?? hub, members, workloads }));
        } catch (error) {
          assert.ok(error instanceof ValidationError, String(error));
        }
      }),
      { numRuns: 2000 },
    );
    assert.throws(() => loadStackConfig(reader({ hub, members: "member-1", workloads: { web: { ...web, memberClusters: [{ name: "x" }] } } })), ValidationError);
  });

  it("accepts weight 0 (drained) for a member and in a workload's list, while another member keeps a weight", () => {
    const config = loadStackConfig(
      reader({ hub, members: { "eu-1": { kubeconfig: "k", weight: 0 }, "us-1": { kubeconfig: "k" } }, workloads: { web, api: { ...web, memberClusters: [{ name: "eu-1", weight: 0 }, { name: "us-1" }] } } }),
    );
    assert.equal(config.members["eu-1"]!.weight, 0);
    assert.equal(config.workloads.api!.memberClusters[0]!.weight, 0);
  });

  it("rejects a workload whose members all have weight 0, listed or taken from the members", () => {
    const members = { "eu-1": { kubeconfig: "k", weight: 0 }, "us-1": { kubeconfig: "k", weight: 0 } };
    const found = problems({ hub, members, workloads: { web, api: { ...web, memberClusters: [{ name: "eu-1", weight: 0 }] }, pinned: { ...web, memberClusters: [{ name: "us-1", weight: 2 }] } } });
    assert.deepEqual(found.map((p) => p.replace(/: .*/s, "")), ["fleetscale:workloads.api.memberClusters", "fleetscale:workloads.web.memberClusters"]);
    for (const problem of found) assert.match(problem, /at least one member needs a weight above 0/);
  });

  it("bounds a workload's replica counts as int32, by config path", () => {
    const found = problems({ hub, members: { "eu-1": { kubeconfig: "k" } }, workloads: { web: { ...web, totalTargetReplicas: 2 ** 31 } } });
    assert.deepEqual(found, ["fleetscale:workloads.web.totalTargetReplicas: must be at most 2147483647 (replica counts are int32 in Kubernetes)"]);
  });

  it("refuses every fleetscale: key the schema does not know, naming it and the key it most likely meant", () => {
    const known = {
      "fleetscale:hub": JSON.stringify(hub),
      "fleetscale:members": JSON.stringify({ "eu-1": { kubeconfig: "k" } }),
      "pulumi:disable-default-providers": '["kubernetes"]',
      "kubernetes:context": "hub",
    };
    assert.deepEqual(Object.keys(loadProgramConfig(known).members), ["eu-1"], "keys of other namespaces are not ours to judge");
    const all = {
      ...known,
      "fleetscale:workload": JSON.stringify({ web }),
      "fleetscale:Members": "{}",
      "fleetscale:colour": "blue",
      "fleetscale:hub.namespace": "scaling",
    };
    assert.throws(
      () => loadProgramConfig(all),
      (error: unknown) => {
        assert.ok(error instanceof ValidationError);
        assert.deepEqual(
          error.problems.map((p) => `${p.path}: ${p.message}`),
          [
            "fleetscale:workload: unknown key; did you mean fleetscale:workloads?",
            "fleetscale:Members: unknown key; did you mean fleetscale:members?",
            "fleetscale:colour: unknown key (the keys are fleetscale:hub, fleetscale:members, fleetscale:workloads)",
            "fleetscale:hub.namespace: unknown key: a value inside fleetscale:hub is set with `pulumi config set --path 'fleetscale:hub.namespace' ...`",
          ],
        );
        return true;
      },
    );
  });

  it("lists unknown keys together with the schema's own problems", () => {
    assert.deepEqual(
      problems({ hub: { ...hub, replicas: 0 }, members: {}, workload: {} }).map((p) => p.replace(/: .*/s, "")),
      ["fleetscale:workload", "fleetscale:hub.replicas"],
    );
  });

  it("knows exactly the keys the schema defines", () => {
    assert.deepEqual(CONFIG_KEYS, Object.keys(stackConfigSchema.shape));
  });

  it("rejects a plain string where a map belongs, and a second hub member", () => {
    assert.match(problems({ hub: "kubeconfig-here", members: {} })[0]!, /^fleetscale:hub: must be a structured value/);
    assert.ok(problems({ hub, members: { a: { inHub: true }, b: { inHub: true } } }).some((p) => p.startsWith("fleetscale:members: at most one member can be the hub")));
    assert.ok(problems({ hub: { ...hub, namespace: "shared" }, members: { a: { inHub: true, namespace: "shared" } } }).some((p) => p.startsWith("fleetscale:members.a.namespace: must differ from hub.namespace")));
  });
});
