import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dsoCrdManifest, toStructural } from "./crd";

function walk(node: unknown, visit: (schema: Record<string, unknown>, path: string) => void, path = "$"): void {
  if (node === null || typeof node !== "object") return;
  const schema = node as Record<string, unknown>;
  visit(schema, path);
  for (const [name, child] of Object.entries((schema.properties as object) ?? {})) walk(child, visit, `${path}.${name}`);
  if (schema.items) walk(schema.items, visit, `${path}[]`);
  if (typeof schema.additionalProperties === "object") walk(schema.additionalProperties, visit, `${path}{}`);
}

describe("DistributedScaledObject CRD", () => {
  const crd = dsoCrdManifest();
  const version = crd.spec.versions[0]!;
  const root = version.schema.openAPIV3Schema as Record<string, any>;

  it("is structural: no additionalProperties beside properties, no JSON-Schema-only keywords", () => {
    walk(root, (schema, path) => {
      assert.ok(!("$schema" in schema), path);
      assert.ok(!(schema.properties && "additionalProperties" in schema), `${path} has both properties and additionalProperties`);
      assert.notEqual(schema.additionalProperties, false, path);
      assert.ok(typeof schema.type === "string" || schema["x-kubernetes-preserve-unknown-fields"] === true, `${path} has no type`);
    });
  });

  it("derives field rules from the zod schema: defaults, bounds, unique member names, min <= max", () => {
    const members = root.properties.spec.properties.memberClusters;
    assert.equal(members["x-kubernetes-list-type"], "map");
    assert.deepEqual(members["x-kubernetes-list-map-keys"], ["name"]);
    assert.equal(members.items.properties.weight.default, 1);
    assert.equal(members.items.properties.weight.minimum, 0, "weight 0 drains a member");
    assert.match(members.items["x-kubernetes-validations"][0].rule, /self\.minReplicas <= self\.maxReplicas/);
    assert.deepEqual(members["x-kubernetes-validations"], [
      { rule: "self.size() == 0 || self.exists(m, !has(m.weight) || m.weight > 0)", message: "at least one member needs a weight above 0: weight 0 drains a member, and with every member drained the replicas have nowhere to run" },
    ]);
    const policy = root.properties.spec.properties.rebalancingPolicy.properties;
    assert.equal(policy.gracePeriod.default, "1m");
    assert.deepEqual([policy.maxRebalancePercentage.minimum, policy.maxRebalancePercentage.maximum], [1, 100]);
  });

  it("bounds every replica count as the int32 Kubernetes keeps it in", () => {
    const spec = root.properties.spec.properties;
    const sos = spec.scaledObjectSpec.properties;
    const counts = {
      totalTargetReplicas: spec.totalTargetReplicas,
      "memberClusters[].minReplicas": spec.memberClusters.items.properties.minReplicas,
      "memberClusters[].maxReplicas": spec.memberClusters.items.properties.maxReplicas,
      "scaledObjectSpec.idleReplicaCount": sos.idleReplicaCount,
      "scaledObjectSpec.minReplicaCount": sos.minReplicaCount,
      "scaledObjectSpec.maxReplicaCount": sos.maxReplicaCount,
    };
    for (const [field, schema] of Object.entries(counts)) {
      assert.deepEqual([schema.type, schema.format, schema.maximum], ["integer", "int32", 2_147_483_647], field);
    }
    assert.equal(sos.maxReplicaCount.minimum, 1);
  });

  it("keeps KEDA's open blocks open and the status map typed", () => {
    const sos = root.properties.spec.properties.scaledObjectSpec.properties;
    assert.equal(sos.advanced["x-kubernetes-preserve-unknown-fields"], true);
    const statuses = root.properties.status.properties.memberClusterStatuses;
    assert.equal(statuses.additionalProperties.properties.state.enum.includes("Excluded"), true);
  });

  it("exposes the scale subresource KEDA drives and the printer columns operators read", () => {
    assert.deepEqual(version.subresources.scale, {
      specReplicasPath: ".spec.totalTargetReplicas",
      statusReplicasPath: ".status.totalCurrentReplicas",
      labelSelectorPath: ".status.selector",
    });
    assert.deepEqual(version.additionalPrinterColumns.map((c) => c.name), ["Ready", "Active", "Current", "Desired", "Healthy", "Members", "Age"]);
    assert.deepEqual(crd.spec.names.shortNames, ["dso"]);
  });

  it("turns a record into additionalProperties and an open object into preserved unknown fields", () => {
    assert.deepEqual(toStructural({ type: "object", additionalProperties: { type: "string" } }), { type: "object", additionalProperties: { type: "string" } });
    assert.deepEqual(toStructural({ type: "object", properties: {}, additionalProperties: {} }), { type: "object", "x-kubernetes-preserve-unknown-fields": true });
  });
});
