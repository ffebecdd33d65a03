import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { dsoCrdManifest } from "../../schema/crd";
import { installKedaCrds } from "../../test/keda/crds";
import { LocalFleet } from "../../test/support/fleet";
import { eventually } from "../../test/support/workloads";
import { type DsoForScaledObject, ensureScaledObject, kedaInstalled, SPEC_HASH_ANNOTATION } from "./keda";

const trigger = (targetValue: string) => ({
  type: "kubernetes-resource",
  metadata: { resourceKind: "ConfigMap", resourceName: "mock-metric", key: "metric-value", targetValue },
});

function dsoManifest(name: string, scaledObjectSpec: Record<string, unknown>) {
  return {
    apiVersion: "fleetscale.io/v1alpha1",
    kind: "DistributedScaledObject",
    metadata: { name, namespace: "default" },
    spec: { scaledObjectSpec: { scaleTargetRef: { name }, ...scaledObjectSpec } },
  };
}

describe("the KEDA ScaledObject behind a DSO, on a real hub with KEDA's CRDs", () => {
  let fleet: LocalFleet;
  let hub: string;
  const kubectlJson = <T = Record<string, any>>(...args: string[]): T => JSON.parse(fleet.kubectl("hub", ...args, "-o", "json")) as T;
  const liveDso = (name: string) => kubectlJson<DsoForScaledObject & { metadata: { uid: string } }>("get", "distributedscaledobject", name);
  const scaledObject = (name: string) => kubectlJson("get", "scaledobjects.keda.sh", name);
  const scaledObjectExists = (name: string) => fleet.kubectl("hub", "get", "scaledobjects.keda.sh", "--ignore-not-found", "-o", "name", name).trim() !== "";

  before(() => {
    fleet = LocalFleet.start({ clusters: ["hub"] });
    hub = fleet.kubeconfig("hub");
    fleet.apply("hub", dsoCrdManifest());
    fleet.kubectl("hub", "wait", "--for=condition=Established", "--timeout=60s", "crd/distributedscaledobjects.fleetscale.io");
  });
  after(() => fleet?.down());

  it("detects KEDA by its ScaledObject CRD", async (t) => {
    assert.equal(await kedaInstalled(hub), false);
    const crds = installKedaCrds(fleet, "hub");
    t.diagnostic(`KEDA CRDs ${crds.version} from ${crds.dir}`);
    assert.equal(await kedaInstalled(hub), true);
  });

  it("creates a ScaledObject that KEDA's schema accepts, targeting and owned by the DSO; a second call changes nothing", async () => {
    fleet.apply("hub", dsoManifest("web", { minReplicaCount: 1, maxReplicaCount: 10, pollingInterval: 5, triggers: [trigger("5")] }));
    const dso = liveDso("web");
    const created = await ensureScaledObject(hub, dso);
    assert.equal(created.action, "created", created.message);

    const so = scaledObject("web");
    assert.deepEqual(so.spec.scaleTargetRef, { apiVersion: "fleetscale.io/v1alpha1", kind: "DistributedScaledObject", name: "web" });
    assert.deepEqual(so.metadata.ownerReferences, [{ apiVersion: "fleetscale.io/v1alpha1", kind: "DistributedScaledObject", name: "web", uid: dso.metadata.uid, controller: true }]);
    assert.equal(so.metadata.labels["app.kubernetes.io/managed-by"], "fleetscale");
    assert.deepEqual([so.spec.minReplicaCount, so.spec.maxReplicaCount, so.spec.pollingInterval], [1, 10, 5]);
    assert.deepEqual(so.spec.triggers, [trigger("5")]);

    const again = await ensureScaledObject(hub, liveDso("web"));
    assert.equal(again.action, "unchanged", again.message);
    assert.equal(scaledObject("web").metadata.resourceVersion, so.metadata.resourceVersion);
  });

  it("is validated by KEDA's CRD: a fallback without failureThreshold is refused by the API server", async () => {
    // Our DSO schema passes fallback through to KEDA; KEDA's schema is what catches this.
    const dso = { ...liveDso("web"), metadata: { ...liveDso("web").metadata, name: "bad-fallback" } };
    dso.spec.scaledObjectSpec = { ...dso.spec.scaledObjectSpec, fallback: { replicas: 2 } };
    await assert.rejects(ensureScaledObject(hub, dso), (error: { code?: number; body?: unknown }) => {
      assert.equal(error.code, 422);
      assert.match(String(error.body), /failureThreshold/);
      return true;
    });
    assert.equal(scaledObjectExists("bad-fallback"), false);
  });

  it("follows a change of the DSO's triggers, keeping the API server's defaults from reading as drift", async () => {
    fleet.apply(
      "hub",
      dsoManifest("web", { minReplicaCount: 1, maxReplicaCount: 10, fallback: { failureThreshold: 3, replicas: 4 }, triggers: [trigger("8"), { type: "cron", metadata: { timezone: "UTC", start: "0 8 * * *", end: "0 18 * * *", desiredReplicas: "3" } }] }),
    );
    const updated = await ensureScaledObject(hub, liveDso("web"));
    assert.equal(updated.action, "updated", updated.message);
    const so = scaledObject("web");
    assert.equal(so.spec.triggers.length, 2);
    assert.equal(so.spec.triggers[0].metadata.targetValue, "8");
    assert.equal(so.spec.pollingInterval, undefined, "a field removed from the DSO is removed from the ScaledObject");
    assert.equal(so.spec.fallback.behavior, "static", "KEDA's CRD defaulted this");

    const again = await ensureScaledObject(hub, liveDso("web"));
    assert.equal(again.action, "unchanged", again.message);
  });

  it("puts back a field edited in the hub, and keeps metadata others added", async () => {
    fleet.kubectl("hub", "patch", "scaledobjects.keda.sh", "web", "--type=merge", "-p", JSON.stringify({ metadata: { labels: { team: "shop" } }, spec: { maxReplicaCount: 50 } }));
    const repaired = await ensureScaledObject(hub, liveDso("web"));
    assert.equal(repaired.action, "updated");
    assert.match(repaired.message, /edited in the hub/);
    const so = scaledObject("web");
    assert.equal(so.spec.maxReplicaCount, 10);
    assert.equal(so.metadata.labels.team, "shop");
    assert.ok(so.metadata.annotations[SPEC_HASH_ANNOTATION]);
  });

  it("deletes the ScaledObject when the DSO loses its triggers", async () => {
    fleet.kubectl("hub", "patch", "distributedscaledobject", "web", "--type=merge", "-p", JSON.stringify({ spec: { scaledObjectSpec: { triggers: [] } } }));
    const deleted = await ensureScaledObject(hub, liveDso("web"));
    assert.equal(deleted.action, "deleted", deleted.message);
    await eventually("ScaledObject gone", () => scaledObjectExists("web"), (exists) => !exists);
    assert.equal((await ensureScaledObject(hub, liveDso("web"))).action, "unchanged");
  });

  it("leaves a ScaledObject it does not control alone", async () => {
    fleet.apply("hub", dsoManifest("api", { triggers: [trigger("5")] }));
    fleet.apply("hub", {
      apiVersion: "keda.sh/v1alpha1",
      kind: "ScaledObject",
      metadata: { name: "api", namespace: "default" },
      spec: { scaleTargetRef: { name: "api" }, triggers: [trigger("1")] },
    });
    const result = await ensureScaledObject(hub, liveDso("api"));
    assert.equal(result.action, "foreign", result.message);
    assert.equal(scaledObject("api").spec.scaleTargetRef.name, "api");
    assert.equal(scaledObject("api").spec.scaleTargetRef.kind, undefined);
  });

  it("is garbage-collected with its DSO", async () => {
    fleet.apply("hub", dsoManifest("gc", { triggers: [trigger("5")] }));
    assert.equal((await ensureScaledObject(hub, liveDso("gc"))).action, "created");
    fleet.kubectl("hub", "delete", "distributedscaledobject", "gc");
    await eventually("ScaledObject collected", () => scaledObjectExists("gc"), (exists) => !exists, 90_000);
  });

  it("the DSO is a scale target: kubectl scale (what KEDA's HPA does) sets spec.totalTargetReplicas", () => {
    fleet.kubectl("hub", "scale", "distributedscaledobject/web", "--replicas", "7");
    assert.equal(fleet.kubectl("hub", "get", "distributedscaledobject", "web", "-o", "jsonpath={.spec.totalTargetReplicas}"), "7");
    fleet.kubectl("hub", "patch", "distributedscaledobject", "web", "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { totalCurrentReplicas: 5, selector: "app=web" } }));
    const scale = JSON.parse(fleet.kubectl("hub", "get", "--raw", "/apis/fleetscale.io/v1alpha1/namespaces/default/distributedscaledobjects/web/scale"));
    assert.deepEqual([scale.kind, scale.spec.replicas, scale.status.replicas, scale.status.selector], ["Scale", 7, 5, "app=web"]);
  });

  it("the hub's own HPA controller scales the DSO through its scale subresource", async () => {
    fleet.kubectl("hub", "scale", "distributedscaledobject/web", "--replicas", "2");
    fleet.apply("hub", {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "web", namespace: "default" },
      // Below minReplicas the HPA raises the target before it needs any metric: a metrics-free proof.
      spec: { scaleTargetRef: { apiVersion: "fleetscale.io/v1alpha1", kind: "DistributedScaledObject", name: "web" }, minReplicas: 4, maxReplicas: 9 },
    });
    await eventually(
      "HPA raised spec.totalTargetReplicas to 4",
      () => fleet.kubectl("hub", "get", "distributedscaledobject", "web", "-o", "jsonpath={.spec.totalTargetReplicas}"),
      (total) => total === "4",
      90_000,
    );
  });
});
