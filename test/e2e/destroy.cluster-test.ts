/**
 * What `pulumi destroy` of the fleetscale stack leaves behind, with the real Pulumi engine on a
 * real hub: the CRD stays unless hub.deleteCrdOnDestroy says otherwise, because deleting it
 * deletes every DistributedScaledObject in the cluster, including ones this stack never made.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { API_GROUP, API_VERSION, KIND, PLURAL } from "../../schema/dso-names";
import { LocalFleet } from "../support/fleet";
import { ProjectStack } from "../support/project-stack";
import { deployment } from "../support/workloads";

const CRD = `${PLURAL}.${API_GROUP}`;

describe("pulumi destroy of a stack with a ScalerHub, on a real hub with the real Pulumi engine", () => {
  let fleet: LocalFleet;
  let stack: ProjectStack;
  const config = (hub: Record<string, unknown> = {}) => ({
    hub: { kubeconfigPath: fleet.cluster("hub").kubeconfig, replicas: 1, ...hub },
    // The hub is the only cluster: one member that is the hub itself.
    members: { home: { inHub: true } },
    workloads: { web: { totalTargetReplicas: 2, scaledObjectSpec: { scaleTargetRef: { name: "web" } } } },
  });
  const names = (resource: string) => fleet.kubectl("hub", "get", resource, "-A", "-o", "name").trim().split("\n").filter(Boolean);
  /** A DSO someone applied by hand: the stack does not manage it, but a deleted CRD takes it along. */
  const applyOwnDso = () =>
    fleet.apply("hub", {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: KIND,
      metadata: { name: "by-hand", namespace: "default" },
      spec: { memberClusters: [{ name: "home" }], scaledObjectSpec: { scaleTargetRef: { name: "web" } } },
    });

  before(async () => {
    fleet = LocalFleet.start({ clusters: ["hub"] });
    fleet.apply("hub", deployment("web", 1));
    stack = await ProjectStack.create(config());
  });
  after(async () => {
    try {
      if (stack) await stack.run(["destroy", "--yes", "--skip-preview"]);
    } finally {
      stack?.cleanup();
      fleet?.down();
    }
  });

  it("keeps the CRD and the DistributedScaledObjects the stack did not make, by default", async () => {
    await stack.up();
    applyOwnDso();
    assert.deepEqual(names(PLURAL).sort(), [`${KIND.toLowerCase()}.${API_GROUP}/by-hand`, `${KIND.toLowerCase()}.${API_GROUP}/web`]);

    await stack.destroy();
    assert.deepEqual(names("customresourcedefinitions").filter((name) => name.endsWith(`/${CRD}`)), [`customresourcedefinition.apiextensions.k8s.io/${CRD}`]);
    // The stack's own DSO goes with its DistributedWorkload; the one made by hand stays.
    assert.deepEqual(names(PLURAL), [`${KIND.toLowerCase()}.${API_GROUP}/by-hand`]);
    assert.deepEqual(names("namespaces").filter((name) => name.includes("fleetscale")), [], "the runtime's and the member's namespaces are deleted");
  });

  it("the next pulumi up takes the kept CRD back", async () => {
    await stack.up();
    const state = JSON.parse(await stack.exportState()) as { deployment: { resources: { type: string; id?: string }[] } };
    assert.deepEqual(state.deployment.resources.filter((r) => r.type === "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition").map((r) => r.id), [CRD]);
  });

  it("with hub.deleteCrdOnDestroy applied by pulumi up, destroy deletes the CRD and every DistributedScaledObject with it", async () => {
    stack.writeConfig(config({ deleteCrdOnDestroy: true }));
    await stack.up();
    await stack.destroy();
    assert.deepEqual(names("customresourcedefinitions").filter((name) => name.endsWith(`/${CRD}`)), []);
    assert.throws(() => fleet.kubectl("hub", "get", PLURAL, "by-hand", "-n", "default"), /NotFound|doesn't have a resource type/);
  });
});
