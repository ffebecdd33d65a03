// recording-mocks first: it installs the Pulumi mocks before any component module loads.
import { build, promiseOf, registration, structuralProblems } from "./recording-mocks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { dsoCrdManifest } from "../schema/crd";
import { runtimeClusterRules, runtimeNamespacedRules } from "./hub-rbac";
import { ScalerHub } from "./scaler-hub";

const RBAC = "kubernetes:rbac.authorization.k8s.io/v1";

describe("hub runtime RBAC", () => {
  it("reads Secrets and takes leader-election leases only through the namespaced Role", () => {
    assert.deepEqual(runtimeNamespacedRules(), [
      { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
    ]);
  });

  it("grants cluster-wide exactly the DSOs, their status and scale, KEDA ScaledObjects, events and ConfigMap watches", () => {
    assert.deepEqual(runtimeClusterRules(), [
      { apiGroups: ["fleetscale.io"], resources: ["distributedscaledobjects"], verbs: ["get", "list", "watch", "update", "patch"] },
      { apiGroups: ["fleetscale.io"], resources: ["distributedscaledobjects/status", "distributedscaledobjects/scale"], verbs: ["get", "update", "patch"] },
      { apiGroups: ["keda.sh"], resources: ["scaledobjects"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
      { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
      { apiGroups: [""], resources: ["configmaps"], verbs: ["list", "watch"] },
      { apiGroups: ["apiextensions.k8s.io"], resources: ["customresourcedefinitions"], resourceNames: ["scaledobjects.keda.sh"], verbs: ["get"] },
    ]);
    for (const rule of runtimeClusterRules()) {
      assert.ok(!(rule.resources as string[]).some((r) => r === "secrets" || r === "pods" || r.includes("*")), JSON.stringify(rule));
    }
  });
});

describe("ScalerHub", () => {
  const provider = new k8s.Provider("hub", { kubeconfig: pulumi.secret("hub-admin-kubeconfig") });
  let built: Awaited<ReturnType<typeof buildHub>>;
  const buildHub = () =>
    build((opts) => new ScalerHub("hub", { namespace: "fleetscale-system", image: "registry.example/fleetscale:1.2.3", replicas: 3, nodeSelector: { "node-role.example/control": "true" } }, { ...opts, providers: [provider] }));

  before(async () => {
    await promiseOf(provider.urn);
    built = await buildHub();
  });

  it("registers every child under the hub, through the hub provider", async () => {
    assert.deepEqual(structuralProblems(built), []);
    const hubProvider = `${await promiseOf(provider.urn)}::`;
    for (const r of built.registrations.filter((r) => r.type.startsWith("kubernetes:"))) assert.ok(r.provider.startsWith(hubProvider), `${r.type}::${r.name}`);
  });

  it("installs the DSO CRD exactly as schema/crd.ts defines it", () => {
    const crd = registration(built, "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "hub-dso-crd");
    const { metadata, spec } = dsoCrdManifest();
    assert.deepEqual(crd.inputs["metadata"], metadata);
    assert.deepEqual(crd.inputs["spec"], spec);
  });

  it("scopes Secret reads to the runtime's own namespace with a Role, bound to the runtime's ServiceAccount", () => {
    const role = registration(built, `${RBAC}:Role`, "hub-runtime");
    assert.equal(role.inputs["metadata"].namespace, "fleetscale-system");
    assert.deepEqual(role.inputs["rules"], runtimeNamespacedRules());
    const binding = registration(built, `${RBAC}:RoleBinding`, "hub-runtime");
    assert.equal(binding.inputs["metadata"].namespace, "fleetscale-system");
    assert.deepEqual(binding.inputs["roleRef"], { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "fleetscale-runtime" });
    assert.deepEqual(binding.inputs["subjects"], [{ kind: "ServiceAccount", name: "fleetscale-runtime", namespace: "fleetscale-system" }]);
    const clusterBinding = registration(built, `${RBAC}:ClusterRoleBinding`, "hub-runtime");
    assert.deepEqual(registration(built, `${RBAC}:ClusterRole`, "hub-runtime").inputs["rules"], runtimeClusterRules());
    assert.deepEqual(clusterBinding.inputs["roleRef"], { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "fleetscale-runtime-fleetscale-system" });
    assert.deepEqual(clusterBinding.inputs["subjects"], binding.inputs["subjects"]);
  });

  it("runs the runtime as a hardened Deployment with health, readiness and metrics ports", () => {
    const deployment = registration(built, "kubernetes:apps/v1:Deployment", "hub-runtime");
    const spec = deployment.inputs["spec"];
    assert.equal(spec.replicas, 3);
    const pod = spec.template.spec;
    assert.equal(pod.serviceAccountName, "fleetscale-runtime");
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.deepEqual(pod.nodeSelector, { "node-role.example/control": "true" });
    assert.deepEqual(pod.topologySpreadConstraints.map((c: { topologyKey: string }) => c.topologyKey), ["kubernetes.io/hostname"]);
    const [container, ...others] = pod.containers;
    assert.equal(others.length, 0);
    assert.equal(container.image, "registry.example/fleetscale:1.2.3");
    assert.deepEqual(container.command, ["node", "dist/runtime/main.js"]);
    assert.deepEqual(container.env, [
      { name: "FLEETSCALE_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "NODE_OPTIONS", value: "--max-old-space-size=512" },
    ]);
    assert.deepEqual(container.resources, { requests: { cpu: "200m", memory: "256Mi" }, limits: { memory: "768Mi" } });
    assert.deepEqual(container.ports, [
      { name: "health", containerPort: 8080 },
      { name: "metrics", containerPort: 9090 },
    ]);
    assert.deepEqual(container.livenessProbe.httpGet, { path: "/healthz", port: "health" });
    assert.deepEqual(container.readinessProbe.httpGet, { path: "/readyz", port: "health" });
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.ok(container.resources.requests.cpu && container.resources.requests.memory && container.resources.limits.memory);
  });

  it("exposes its namespace and ServiceAccount", async () => {
    assert.equal(await promiseOf(built.root.namespace), "fleetscale-system");
    assert.equal(await promiseOf(built.root.serviceAccountName), "fleetscale-runtime");
  });
});

describe("ScalerHub on destroy", () => {
  const provider = new k8s.Provider("destroy-hub", { kubeconfig: pulumi.secret("hub-admin-kubeconfig") });
  const retained = async (name: string, deleteCrdOnDestroy?: boolean) => {
    const built = await build((opts) => new ScalerHub(name, { namespace: name, image: "registry.example/fleetscale:1.2.3", replicas: 1, deleteCrdOnDestroy }, { ...opts, providers: [provider] }));
    return built.resources.filter((r) => r.opts.retainOnDelete).map((r) => `${r.type}::${r.name}`);
  };

  it("keeps the CRD, and only the CRD, so that no DistributedScaledObject goes with it", async () => {
    assert.deepEqual(await retained("kept"), ["kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition::kept-dso-crd"]);
  });

  it("deletes the CRD too when asked to with deleteCrdOnDestroy", async () => {
    assert.deepEqual(await retained("dropped", true), []);
  });
});
