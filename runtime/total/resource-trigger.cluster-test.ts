import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { dsoCrdManifest } from "../../schema/crd";
import { LocalFleet } from "../../test/support/fleet";
import { desiredTotal, readTriggerValue, type ResourceTrigger, resourceTriggerOf, totalPolicyOf, TriggerValueError } from "./resource-trigger";

const T0 = Date.parse("2025-11-28T12:00:00Z");

const configMap = (name: string, data: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "default" },
  data,
  ...extra,
});


describe("the kubernetes-resource trigger, read from a real hub", () => {
  let fleet: LocalFleet;
  let hub: string;
  const trigger = (overrides: Partial<ResourceTrigger> = {}): ResourceTrigger => ({
    resourceKind: "ConfigMap",
    resourceName: "mock-metric",
    key: "metric-value",
    targetValue: 5,
    activationTargetValue: 0,
    valueType: "float64",
    ...overrides,
  });
  const rejects = (promise: Promise<unknown>, problem: TriggerValueError["problem"], message: string | RegExp) =>
    assert.rejects(promise, (error: TriggerValueError) => {
      assert.ok(error instanceof TriggerValueError, String(error));
      assert.equal(error.problem, problem);
      if (typeof message === "string") assert.equal(error.message, message);
      else assert.match(error.message, message);
      return true;
    });

  before(() => {
    fleet = LocalFleet.start({ clusters: ["hub"] });
    hub = fleet.kubeconfig("hub");
  });
  after(() => fleet?.down());

  it("computes the walkthrough's total from the DSO's trigger and ConfigMap mock-metric", async () => {
    fleet.apply("hub", dsoCrdManifest());
    fleet.kubectl("hub", "wait", "--for=condition=Established", "--timeout=60s", "crd/distributedscaledobjects.fleetscale.io");
    fleet.apply("hub", {
      apiVersion: "fleetscale.io/v1alpha1",
      kind: "DistributedScaledObject",
      metadata: { name: "nginx", namespace: "default" },
      spec: {
        scaledObjectSpec: {
          scaleTargetRef: { name: "nginx" },
          minReplicaCount: 1,
          maxReplicaCount: 10,
          triggers: [{ type: "kubernetes-resource", metadata: { resourceKind: "ConfigMap", resourceName: "mock-metric", key: "metric-value", targetValue: "5" } }],
        },
      },
    });
    fleet.apply("hub", configMap("mock-metric", { "metric-value": "23" }));

    const dso = JSON.parse(fleet.kubectl("hub", "get", "distributedscaledobject", "nginx", "-o", "json"));
    const spec = dso.spec.scaledObjectSpec;
    const resourceTrigger = resourceTriggerOf(spec);
    const policy = totalPolicyOf(spec);
    const value = await readTriggerValue(hub, dso.metadata.namespace, resourceTrigger);
    assert.equal(value, 23);
    const first = desiredTotal({ ...policy, ...resourceTrigger, value, currentTotal: 1, now: T0, history: [] });
    assert.equal(first.total, 5);

    fleet.apply("hub", configMap("mock-metric", { "metric-value": "120" }));
    const busier = await readTriggerValue(hub, "default", resourceTrigger);
    const second = desiredTotal({ ...policy, ...resourceTrigger, value: busier, currentTotal: first.total, now: T0 + 15_000, history: first.history, lastActiveAt: first.lastActiveAt });
    assert.deepEqual([second.total, second.reason], [10, "ceil(value 120 / targetValue 5) = 24; bounded to [1, 10]: 10"]);
  });

  it("reads Secrets and ConfigMap binaryData", async () => {
    fleet.apply("hub", { apiVersion: "v1", kind: "Secret", metadata: { name: "queue-depth", namespace: "default" }, stringData: { depth: "42\n" } });
    assert.equal(await readTriggerValue(hub, "default", trigger({ resourceKind: "Secret", resourceName: "queue-depth", key: "depth" })), 42);
    fleet.apply("hub", configMap("binary-metric", {}, { binaryData: { v: Buffer.from("7.5").toString("base64") } }));
    assert.equal(await readTriggerValue(hub, "default", trigger({ resourceName: "binary-metric", key: "v" })), 7.5);
  });

  it("says clearly what is wrong: no object, no key, not a number", async () => {
    await rejects(readTriggerValue(hub, "default", trigger({ resourceName: "nowhere" })), "NotFound", "ConfigMap default/nowhere not found");
    await rejects(readTriggerValue(hub, "default", trigger({ key: "other" })), "KeyMissing", 'ConfigMap default/mock-metric has no key "other"');
    fleet.apply("hub", configMap("bad-metric", { "metric-value": "lots" }));
    await rejects(readTriggerValue(hub, "default", trigger({ resourceName: "bad-metric" })), "NotANumber", 'ConfigMap default/bad-metric key "metric-value": "lots" is not a number');
  });

  it("names the missing permission when the runtime may not read the object", async () => {
    fleet.kubectl("hub", "create", "serviceaccount", "nobody");
    const token = fleet.kubectl("hub", "create", "token", "nobody").trim();
    const nobody = fleet.tokenKubeconfig("hub", token);
    await rejects(readTriggerValue(nobody, "default", trigger({ resourceKind: "Secret", resourceName: "queue-depth", key: "depth" })), "Forbidden", /^not allowed to read Secret default\/queue-depth \(403\): the runtime needs get on secrets in default$/);
  });
});
