import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { MemberClient, type WorkloadRef } from "../../members/client";
import { dsoCrdManifest } from "../../schema/crd";
import { installKedaCrds } from "../../test/keda/crds";
import { LocalFleet } from "../../test/support/fleet";
import { onboardMember } from "../../test/support/onboard";
import { deployment, eventually } from "../../test/support/workloads";
import { DEFAULT_OPTIONS } from "../options";
import { type RuntimeHandle, startRuntime } from "../runtime";

const HUB_NAMESPACE = "fleetscale-system";
const web: WorkloadRef = { kind: "Deployment", namespace: "default", name: "web" };

function dso(name: string, triggerMetadata: Record<string, string>) {
  return {
    apiVersion: "fleetscale.io/v1alpha1",
    kind: "DistributedScaledObject",
    metadata: { name, namespace: "default" },
    spec: {
      memberClusters: [{ name: "member-1", weight: 1 }],
      rebalancingPolicy: { gracePeriod: "5s" },
      totalTargetReplicas: 1,
      scaledObjectSpec: {
        scaleTargetRef: { name: "web" },
        minReplicaCount: 1,
        maxReplicaCount: 10,
        triggers: [{ type: "kubernetes-resource", metadata: triggerMetadata }],
      },
    },
  };
}

describe("the runtime's total replicas on a real fleet", () => {
  let fleet: LocalFleet;
  let runtime: RuntimeHandle | undefined;
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  const start = async () =>
    (runtime = await startRuntime({
      ...DEFAULT_OPTIONS,
      kubeconfig: fleet.cluster("hub").kubeconfig,
      namespace: HUB_NAMESPACE,
      probeIntervalMs: 1_000,
      resyncIntervalMs: 1_000,
      healthPort: 0,
      metricsPort: 0,
      identity: "total-test",
      logDestination: quiet,
    }));

  before(() => {
    fleet = LocalFleet.start({ clusters: ["hub", "member-1"] });
    onboardMember(fleet, { hub: "hub", member: "member-1", hubNamespace: HUB_NAMESPACE });
    fleet.apply("member-1", deployment("web", 1));
    fleet.apply("hub", dsoCrdManifest());
  });
  after(async () => {
    await runtime?.stop();
    fleet?.down();
  });

  it("without KEDA, evaluates the kubernetes-resource trigger and the new total reaches the member", async () => {
    await eventually("CRD established", () => fleet.kubectl("hub", "get", "crd", "distributedscaledobjects.fleetscale.io", "-o", "jsonpath={.status.conditions[?(@.type==\"Established\")].status}"), (s) => s === "True");
    fleet.apply("hub", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web-load", namespace: "default" }, data: { value: "23" } });
    fleet.apply("hub", dso("web", { resourceKind: "ConfigMap", resourceName: "web-load", key: "value", targetValue: "5" }));
    await start();
    const member = new MemberClient("member-1", fleet.kubeconfig("member-1"));
    // ceil(23 / 5) = 5, written to spec.totalTargetReplicas through the DSO's scale subresource.
    await eventually("total 5 on the member", () => member.readReplicas(web), (r) => r.desired === 5, 30_000);
    assert.equal(fleet.kubectl("hub", "get", "dso", "web", "-n", "default", "-o", "jsonpath={.spec.totalTargetReplicas}"), "5");
    fleet.apply("hub", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web-load", namespace: "default" }, data: { value: "40" } });
    await eventually("total 8 on the member", () => member.readReplicas(web), (r) => r.desired === 8, 30_000);
  });

  it("with KEDA installed, owns a ScaledObject that targets the DSO itself", async () => {
    installKedaCrds(fleet, "hub");
    fleet.apply("hub", dso("api", { resourceKind: "ConfigMap", resourceName: "web-load", key: "value", targetValue: "5" }));
    // The runtime re-checks for KEDA at most once a minute; a fresh runtime sees it at once.
    await runtime?.stop();
    await start();
    const target = await eventually(
      "ScaledObject for api",
      () => {
        try {
          return fleet.kubectl("hub", "get", "scaledobjects.keda.sh", "api", "-n", "default", "-o", "jsonpath={.spec.scaleTargetRef.kind}/{.spec.scaleTargetRef.name}/{.metadata.ownerReferences[0].kind}");
        } catch {
          return "";
        }
      },
      (text) => text !== "",
      30_000,
    );
    assert.equal(target, "DistributedScaledObject/api/DistributedScaledObject");
  });
});
