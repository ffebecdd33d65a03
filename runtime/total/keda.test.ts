import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dsoSchema } from "../../schema/dso";
import {
  contains,
  type DsoForScaledObject,
  type LiveScaledObject,
  MANAGED_BY_LABEL,
  planScaledObject,
  scaledObjectFor,
  SPEC_HASH_ANNOTATION,
  specHash,
} from "./keda";

const UID = "0b6c3c1e-4d0a-4f53-9f0e-1d2a3b4c5d6e";

/** A DSO as the runtime has it: parsed by our schema, with the uid the API server gave it. */
function dso(scaledObjectSpec: Record<string, unknown>, name = "web", namespace = "shop"): DsoForScaledObject {
  const parsed = dsoSchema.parse({
    apiVersion: "fleetscale.io/v1alpha1",
    kind: "DistributedScaledObject",
    metadata: { name, namespace },
    spec: { scaledObjectSpec: { scaleTargetRef: { name }, ...scaledObjectSpec } },
  });
  return { ...parsed, metadata: { ...parsed.metadata, uid: UID } };
}

const cpuTrigger = { type: "kubernetes-resource", metadata: { resourceKind: "ConfigMap", resourceName: "mock-metric", key: "metric-value", targetValue: "5" } };

describe("scaledObjectFor", () => {
  it("targets the DSO itself, not the member workload, so KEDA's HPA sets spec.totalTargetReplicas", () => {
    const so = scaledObjectFor(dso({ triggers: [cpuTrigger], minReplicaCount: 1, maxReplicaCount: 10 }))!;
    assert.deepEqual(so.spec.scaleTargetRef, { apiVersion: "fleetscale.io/v1alpha1", kind: "DistributedScaledObject", name: "web" });
    assert.equal(so.apiVersion, "keda.sh/v1alpha1");
    assert.equal(so.kind, "ScaledObject");
    assert.deepEqual([so.metadata.name, so.metadata.namespace], ["web", "shop"]);
  });

  it("is controlled by the DSO so the garbage collector deletes it with the DSO, and says who manages it", () => {
    const so = scaledObjectFor(dso({ triggers: [cpuTrigger] }))!;
    assert.deepEqual(so.metadata.ownerReferences, [
      { apiVersion: "fleetscale.io/v1alpha1", kind: "DistributedScaledObject", name: "web", uid: UID, controller: true },
    ]);
    assert.equal(so.metadata.labels[MANAGED_BY_LABEL], "fleetscale");
  });

  it("passes KEDA's own fields through unchanged and drops the member-side envSourceContainerName", () => {
    const advanced = { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 60 } } } };
    const fallback = { failureThreshold: 3, replicas: 4 };
    const so = scaledObjectFor(
      dso({
        scaleTargetRef: { name: "web", envSourceContainerName: "app" },
        triggers: [cpuTrigger],
        pollingInterval: 15,
        cooldownPeriod: 120,
        initialCooldownPeriod: 30,
        idleReplicaCount: 0,
        minReplicaCount: 1,
        maxReplicaCount: 20,
        fallback,
        advanced,
      }),
    )!;
    assert.deepEqual(so.spec, {
      scaleTargetRef: { apiVersion: "fleetscale.io/v1alpha1", kind: "DistributedScaledObject", name: "web" },
      triggers: [cpuTrigger],
      pollingInterval: 15,
      cooldownPeriod: 120,
      initialCooldownPeriod: 30,
      idleReplicaCount: 0,
      minReplicaCount: 1,
      maxReplicaCount: 20,
      fallback,
      advanced,
    });
  });

  it("is undefined without triggers: KEDA requires at least one", () => {
    assert.equal(scaledObjectFor(dso({})), undefined);
    assert.equal(scaledObjectFor(dso({ triggers: [] })), undefined);
  });

  it("refuses a DSO without uid rather than writing an ownerReference that never collects", () => {
    const { uid: _uid, ...metadata } = dso({ triggers: [cpuTrigger] }).metadata;
    assert.throws(() => scaledObjectFor({ metadata, spec: { scaledObjectSpec: { triggers: [cpuTrigger] } } }), /has no metadata\.uid/);
  });

  it("records the hash of the spec it wrote, independent of key order", () => {
    const so = scaledObjectFor(dso({ triggers: [cpuTrigger], minReplicaCount: 1 }))!;
    assert.equal(so.metadata.annotations[SPEC_HASH_ANNOTATION], specHash(so.spec));
    assert.equal(specHash({ a: 1, b: { c: [1, 2], d: "x" } }), specHash({ b: { d: "x", c: [1, 2] }, a: 1 }));
    assert.notEqual(specHash({ a: [1, 2] }), specHash({ a: [2, 1] }));
  });
});

describe("contains", () => {
  it("ignores fields only the live object has, and compares arrays element by element", () => {
    assert.ok(contains({ a: 1, b: { c: 2, defaulted: "static" } }, { b: { c: 2 } }));
    assert.ok(!contains({ a: 1 }, { a: 2 }));
    assert.ok(!contains({ t: [{ x: 1 }, { x: 2 }] }, { t: [{ x: 1 }] }));
    assert.ok(contains({ t: [{ x: 1, y: 0 }] }, { t: [{ x: 1 }] }));
    assert.ok(!contains(undefined, { a: 1 }));
  });
});

describe("planScaledObject", () => {
  const desired = scaledObjectFor(dso({ triggers: [cpuTrigger], minReplicaCount: 1 }))!;
  /** What the API server hands back after KEDA's operator has seen it. */
  const liveOf = (object = desired): LiveScaledObject => ({
    ...structuredClone(object),
    metadata: {
      ...structuredClone(object.metadata),
      uid: "so-uid",
      resourceVersion: "42",
      finalizers: ["finalizer.keda.sh"],
      labels: { ...object.metadata.labels, "scaledobject.keda.sh/name": "web" },
    },
    status: { conditions: [] },
  });

  it("creates when missing, and does nothing when there are neither triggers nor a ScaledObject", () => {
    assert.deepEqual(planScaledObject(desired, undefined, UID), { action: "create", object: desired });
    assert.equal(planScaledObject(undefined, undefined, UID).action, "keep");
  });

  it("keeps an up-to-date object even though the API server added defaults and KEDA its labels", () => {
    const withFallback = scaledObjectFor(dso({ triggers: [cpuTrigger], fallback: { failureThreshold: 3, replicas: 2 } }))!;
    const live = liveOf(withFallback);
    // KEDA's CRD defaults fallback.behavior; our spec never says it.
    (live.spec as { fallback: Record<string, unknown> }).fallback.behavior = "static";
    assert.equal(planScaledObject(withFallback, live, UID).action, "keep");
  });

  it("updates when the DSO's spec changed, also when a field was removed", () => {
    const before = scaledObjectFor(dso({ triggers: [cpuTrigger], minReplicaCount: 1, pollingInterval: 5 }))!;
    const plan = planScaledObject(desired, liveOf(before), UID);
    assert.equal(plan.action, "update");
    assert.ok(plan.action === "update");
    assert.equal(plan.why, "scaledObjectSpec changed");
    assert.deepEqual(plan.object.spec, desired.spec);
    assert.equal((plan.object.spec as Record<string, unknown>).pollingInterval, undefined);
  });

  it("updates when someone edited a field we set, and keeps KEDA's finalizer, labels and the resourceVersion", () => {
    const live = liveOf();
    (live.spec as Record<string, unknown>).minReplicaCount = 3;
    const plan = planScaledObject(desired, live, UID);
    assert.ok(plan.action === "update");
    assert.equal(plan.why, "ScaledObject spec was edited in the hub");
    assert.equal(plan.object.metadata?.resourceVersion, "42");
    assert.deepEqual(plan.object.metadata?.finalizers, ["finalizer.keda.sh"]);
    assert.equal(plan.object.metadata?.labels?.["scaledobject.keda.sh/name"], "web");
    assert.equal(plan.object.status, undefined);
  });

  it("deletes its own ScaledObject when the DSO has no triggers, with the live uid as precondition", () => {
    assert.deepEqual(planScaledObject(undefined, liveOf(), UID), { action: "delete", uid: "so-uid", why: "the DistributedScaledObject has no triggers" });
  });

  it("never touches a ScaledObject controlled by anything else, nor an unlabelled one", () => {
    const otherDso = liveOf();
    otherDso.metadata!.ownerReferences = [{ ...desired.metadata.ownerReferences[0]!, uid: "previous-dso-of-the-same-name" }];
    assert.equal(planScaledObject(desired, otherDso, UID).action, "foreign");
    assert.equal(planScaledObject(undefined, otherDso, UID).action, "foreign");

    const users: LiveScaledObject = { metadata: { uid: "u" }, spec: { scaleTargetRef: { name: "web" }, triggers: [] } };
    assert.equal(planScaledObject(desired, users, UID).action, "foreign");
  });

  it("adopts an orphan it once made (our label, no controller)", () => {
    const orphan = liveOf();
    orphan.metadata!.ownerReferences = [];
    const plan = planScaledObject(desired, orphan, UID);
    assert.ok(plan.action === "update");
    assert.equal(plan.why, "adopting an orphaned ScaledObject");
    assert.deepEqual(plan.object.metadata?.ownerReferences, desired.metadata.ownerReferences);
  });
});
