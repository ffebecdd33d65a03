/**
 * The kubernetes-resource trigger on a real hub, evaluated by the runtime in this process
 * with the hub credential ScalerHub gives it (a ServiceAccount bound to components/hub-rbac.ts)
 * and a resync of ten minutes: whatever happens within seconds happened because of the watch
 * on the ConfigMap or Secret, or because of a timer at the next time-based change.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { dsoCrdManifest } from "../../schema/crd";
import type { DsoStatus } from "../../schema/dso";
import { LocalFleet } from "../../test/support/fleet";
import { runtimeIdentity, startTestRuntime } from "../../test/support/runtime";
import { eventually } from "../../test/support/workloads";
import { createLogger } from "../log";
import type { RuntimeHandle } from "../runtime";
import { TRIGGER_CONDITION } from "./source";
import { TriggerObjects } from "./trigger-objects";
import { hubKubeConfig } from "../../members/hub";

const HUB_NAMESPACE = "fleetscale-system";
const SERVICE_ACCOUNT = "fleetscale-runtime";
/** No resync within the test: reactions come from watches and timers. */
const RESYNC_MS = 10 * 60_000;

const configMap = (name: string, value: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "default" }, data: { value } });

function dso(name: string, scaledObjectSpec: Record<string, unknown>, resource: { kind?: string; name: string }) {
  return {
    apiVersion: "fleetscale.io/v1alpha1",
    kind: "DistributedScaledObject",
    metadata: { name, namespace: "default" },
    spec: {
      // No member: the total is what is looked at here, the members' share is tested elsewhere.
      memberClusters: [],
      totalTargetReplicas: 1,
      scaledObjectSpec: {
        scaleTargetRef: { name },
        ...scaledObjectSpec,
        triggers: [{ type: "kubernetes-resource", metadata: { resourceKind: resource.kind ?? "ConfigMap", resourceName: resource.name, key: "value", targetValue: "5" } }],
      },
    },
  };
}

describe("the kubernetes-resource trigger, watched in a real hub", () => {
  let fleet: LocalFleet;
  let runtime: RuntimeHandle | undefined;
  let dir: string;
  const totalOf = (name: string) => Number(fleet.kubectl("hub", "get", "dso", name, "-n", "default", "-o", "jsonpath={.spec.totalTargetReplicas}"));
  const conditionOf = (name: string) => {
    const status = JSON.parse(fleet.kubectl("hub", "get", "dso", name, "-n", "default", "-o", "jsonpath={.status}") || "{}") as DsoStatus;
    return status.conditions?.find((c) => c.type === TRIGGER_CONDITION);
  };
  /** Polls as fast as kubectl answers (~0.1 s): the reaction is measured, not just awaited. */
  const totalReaches = async (name: string, total: number, timeoutMs: number) => {
    const t0 = Date.now();
    for (;;) {
      if (totalOf(name) === total) return Date.now() - t0;
      if (Date.now() - t0 > timeoutMs) assert.fail(`${name}: total ${totalOf(name)}, not ${total}, after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  before(async () => {
    fleet = LocalFleet.start({ clusters: ["hub"] });
    fleet.apply("hub", dsoCrdManifest(), ...runtimeIdentity(HUB_NAMESPACE, SERVICE_ACCOUNT));
    await eventually("CRD established", () => fleet.kubectl("hub", "get", "crd", "distributedscaledobjects.fleetscale.io", "-o", 'jsonpath={.status.conditions[?(@.type=="Established")].status}'), (s) => s === "True");
    const token = fleet.kubectl("hub", "create", "token", SERVICE_ACCOUNT, "-n", HUB_NAMESPACE, "--duration", "1h").trim();
    dir = mkdtempSync(join(tmpdir(), "trigger-test-"));
    const kubeconfig = join(dir, "hub.kubeconfig");
    writeFileSync(kubeconfig, fleet.tokenKubeconfig("hub", token), { mode: 0o600 });
    runtime = await startTestRuntime(kubeconfig, HUB_NAMESPACE, "trigger-test", () => {}, { resyncIntervalMs: RESYNC_MS });
    await eventually("leading", () => runtime!.isLeader(), (leading) => leading, 30_000);
  });
  after(async () => {
    await runtime?.stop();
    fleet?.down();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("a ConfigMap patch reaches the total at once, not at a poll", async () => {
    fleet.apply("hub", configMap("web-load", "23"));
    fleet.apply("hub", dso("web", { minReplicaCount: 1, maxReplicaCount: 50 }, { name: "web-load" }));
    await totalReaches("web", 5, 15_000);
    await eventually("TriggerReady", () => conditionOf("web"), (c) => c?.status === "True" && c.reason === "Watching", 10_000);
    const latencies: number[] = [];
    for (const [value, total] of [["40", 8], ["101", 21], ["60", 21], ["150", 30]] as const) {
      // 60 is a scale-down, held by the default 300 s window: the total stays at 21.
      fleet.kubectl("hub", "patch", "configmap", "web-load", "-n", "default", "--type=merge", "-p", JSON.stringify({ data: { value } }));
      if (value === "60") {
        await new Promise((r) => setTimeout(r, 1_000));
        assert.equal(totalOf("web"), 21);
        continue;
      }
      latencies.push(await totalReaches("web", total, 5_000));
    }
    console.log(`# ConfigMap patch -> spec.totalTargetReplicas: ${latencies.join(", ")} ms (KEDA's default pollingInterval: 30,000 ms)`);
    assert.ok(Math.max(...latencies) < 5_000);
  });

  it("a held scale-down and cooldownPeriod end on time with no event", async () => {
    fleet.apply("hub", configMap("batch-load", "30"));
    const spec = { minReplicaCount: 0, maxReplicaCount: 50, cooldownPeriod: 4, advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 3 } } } } };
    fleet.apply("hub", dso("batch", spec, { name: "batch-load" }));
    await totalReaches("batch", 6, 15_000);
    // Down to 10: held at 6 for the 3 s window, counted from this patch (6 was in force until now).
    const lowered = Date.now();
    fleet.kubectl("hub", "patch", "configmap", "batch-load", "-n", "default", "--type=merge", "-p", JSON.stringify({ data: { value: "10" } }));
    await totalReaches("batch", 2, 10_000);
    const held = Date.now() - lowered;
    assert.ok(held >= 2_900 && held < 6_000, `scale-down after ${held} ms; the window is 3,000 ms`);
    // Inactive (0 ≤ activationTargetValue): the total stays for cooldownPeriod 4 s, then 0.
    const quiet = Date.now();
    fleet.kubectl("hub", "patch", "configmap", "batch-load", "-n", "default", "--type=merge", "-p", JSON.stringify({ data: { value: "0" } }));
    await totalReaches("batch", 0, 12_000);
    const cooled = Date.now() - quiet;
    assert.ok(cooled >= 3_900 && cooled < 8_000, `idle after ${cooled} ms; cooldownPeriod is 4,000 ms`);
    console.log(`# held scale-down: ${held} ms (window 3 s); to 0 after ${cooled} ms (cooldownPeriod 4 s)`);
  });

  it("a deleted object keeps the total and says so; recreated, the total follows it", async () => {
    fleet.kubectl("hub", "delete", "configmap", "web-load", "-n", "default");
    const gone = await eventually("NotFound", () => conditionOf("web"), (c) => c?.status === "False" && c.reason === "NotFound", 10_000);
    assert.equal(gone?.message, "ConfigMap default/web-load not found");
    assert.equal(totalOf("web"), 30);
    fleet.apply("hub", configMap("web-load", "52"));
    await eventually("watching again", () => conditionOf("web"), (c) => c?.status === "True", 10_000);
    // 52 / 5 → 11, a scale-down held by the 300 s window.
    assert.equal(totalOf("web"), 30);
    fleet.kubectl("hub", "patch", "configmap", "web-load", "-n", "default", "--type=merge", "-p", JSON.stringify({ data: { value: "200" } }));
    await totalReaches("web", 40, 5_000);
  });

  it("a Secret the runtime may not watch: a clear condition, the total kept; once granted, it follows", async () => {
    fleet.apply("hub", { apiVersion: "v1", kind: "Secret", metadata: { name: "queue-depth", namespace: "default" }, stringData: { value: "42" } });
    fleet.apply("hub", dso("queue", { minReplicaCount: 1, maxReplicaCount: 50 }, { kind: "Secret", name: "queue-depth" }));
    const refused = await eventually("Forbidden", () => conditionOf("queue"), (c) => c?.reason === "Forbidden", 15_000);
    assert.deepEqual([refused?.status, refused?.message], ["False", "not allowed to watch Secret default/queue-depth (403): the runtime needs list and watch on secrets in default"]);
    assert.equal(totalOf("queue"), 1);
    // What the README tells users to add for a Secret outside the runtime's namespace.
    fleet.apply(
      "hub",
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "fleetscale-trigger-secrets", namespace: "default" }, rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["list", "watch"] }] },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "fleetscale-trigger-secrets", namespace: "default" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "fleetscale-trigger-secrets" },
        subjects: [{ kind: "ServiceAccount", name: SERVICE_ACCOUNT, namespace: HUB_NAMESPACE }],
      },
    );
    // The watch is retried with backoff (up to 30 s): the grant is seen at the next attempt.
    await totalReaches("queue", 9, 45_000);
    await eventually("TriggerReady", () => conditionOf("queue"), (c) => c?.status === "True", 10_000);
  });

  it("a trigger only KEDA evaluates: the total kept, and the condition says why", async () => {
    const manifest = dso("cpu", { minReplicaCount: 1 }, { name: "web-load" });
    manifest.spec.scaledObjectSpec.triggers = [{ type: "cpu", metadata: { value: "50" } } as never];
    fleet.apply("hub", manifest);
    const invalid = await eventually("InvalidTrigger", () => conditionOf("cpu"), (c) => c?.reason === "InvalidTrigger", 15_000);
    // The first problem says it; the metadata problems that follow are the kubernetes-resource schema's.
    assert.match(invalid?.message ?? "", /^triggers\[0\]\.type: "cpu" needs KEDA in the hub; without KEDA only "kubernetes-resource" triggers are evaluated;/);
    assert.equal(totalOf("cpu"), 1);
  });

  it("watches cut by a hub restart are resumed, and a change made as the hub comes back is seen", async () => {
    fleet.stop("hub");
    fleet.start("hub");
    fleet.kubectl("hub", "patch", "configmap", "web-load", "-n", "default", "--type=merge", "-p", JSON.stringify({ data: { value: "240" } }));
    // The runtime first has its lease and caches back (the watches retry with backoff), then the total follows.
    await totalReaches("web", 48, 60_000);
    await eventually("TriggerReady", () => conditionOf("web"), (c) => c?.status === "True", 10_000);
  });

  it("one watch per object, shared by the DSOs that read it, ended with the last of them", async () => {
    const admin = hubKubeConfig(fleet.kubeconfig("hub"));
    const woken: string[] = [];
    const objects = new TriggerObjects({ config: admin, log: createLogger({ level: "silent", identity: "test" }), changed: (key) => woken.push(key) });
    try {
      const ref = { kind: "ConfigMap" as const, namespace: "default", name: "shared-load" };
      fleet.apply("hub", configMap("shared-load", "1"));
      assert.deepEqual(objects.read("default/a", ref), { state: "syncing" });
      assert.deepEqual(objects.read("default/b", ref), { state: "syncing" });
      assert.equal(objects.size, 1);
      await eventually("synced, both woken", () => [...new Set(woken)].sort().join(","), (w) => w === "default/a,default/b", 10_000);
      const read = objects.read("default/a", ref);
      assert.equal(read.state === "current" && read.object?.data?.["value"], "1");
      woken.length = 0;
      fleet.kubectl("hub", "patch", "configmap", "shared-load", "-n", "default", "--type=merge", "-p", JSON.stringify({ data: { value: "2" } }));
      await eventually("both woken by the patch", () => [...new Set(woken)].sort().join(","), (w) => w === "default/a,default/b", 10_000);
      objects.forget("default/a");
      assert.equal(objects.size, 1);
      objects.read("default/b", { ...ref, name: "other-load" });
      assert.equal(objects.size, 1, "b moved to another object: the first watch ended with its last reader");
      objects.forget("default/b");
      assert.equal(objects.size, 0);
    } finally {
      await objects.stop();
    }
  });
});
