// recording-mocks first: it installs the Pulumi mocks before any component module loads.
import { FAKE_CA_PEM, build, fakeToken, isSecretInput, plain, promiseOf, registration, structuralProblems } from "./recording-mocks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { CREDENTIAL_GENERATION_ANNOTATION } from "./labels";
import { MemberCluster, type MemberClusterArgs } from "./member-cluster";
import { memberScalerRules } from "./member-rbac";

const ADMIN_KUBECONFIG = `
apiVersion: v1
clusters: [{ name: eu-1, cluster: { server: "https://eu-1.example:6443" } }]
contexts: [{ name: eu-1, context: { cluster: eu-1, user: admin } }]
current-context: eu-1
users: [{ name: admin, user: { token: admin-token } }]
`;

const hubProvider = new k8s.Provider("hub", { kubeconfig: pulumi.secret("hub-admin-kubeconfig") });

async function onboard(name: string, extra: Partial<MemberClusterArgs> = {}) {
  // Registered outside the tree under test, so it must be done before the tree is built.
  await promiseOf(hubProvider.urn);
  return build(
    (opts) =>
      new MemberCluster(
        name,
        { member: name, adminKubeconfig: ADMIN_KUBECONFIG, namespace: "fleetscale", hubNamespace: "fleetscale-system", ...extra },
        { ...opts, providers: [hubProvider] },
      ),
  );
}

const decode = (base64: string) => Buffer.from(base64, "base64").toString("utf8");

describe("member scaler RBAC", () => {
  it("grants exactly: read Deployments and StatefulSets, and get/update/patch their /scale", () => {
    assert.deepEqual(memberScalerRules(), [
      { apiGroups: ["apps"], resources: ["deployments", "statefulsets"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["apps"], resources: ["deployments/scale", "statefulsets/scale"], verbs: ["get", "update", "patch"] },
    ]);
  });

  it("grants nothing on Secrets, nothing that creates Pods, and no wildcards", () => {
    for (const rule of memberScalerRules()) {
      const resources = rule.resources as string[];
      const verbs = rule.verbs as string[];
      assert.ok(!resources.some((r) => r === "secrets" || r === "pods" || r.startsWith("pods/") || r.includes("*")), JSON.stringify(rule));
      assert.ok(!verbs.includes("create") && !verbs.includes("*"), JSON.stringify(rule));
      assert.ok(!(rule.apiGroups as string[]).includes("*"), JSON.stringify(rule));
    }
  });
});

describe("MemberCluster", () => {
  it("creates the scaler identity in the member through the member's own provider", async () => {
    const built = await onboard("eu-1");
    assert.deepEqual(structuralProblems(built), []);
    const memberProvider = registration(built, "pulumi:providers:kubernetes", "eu-1-admin");
    assert.ok(isSecretInput(memberProvider.inputs["kubeconfig"]), "the member's admin kubeconfig is a secret");

    const inMember = ["kubernetes:core/v1:Namespace", "kubernetes:core/v1:ServiceAccount", "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "kubernetes:core/v1:Secret"];
    const memberProviderUrn = built.resources.find((e) => e.name === "eu-1-admin")!.urn;
    const memberResources = built.registrations.filter((r) => r.provider.startsWith(`${memberProviderUrn}::`));
    assert.deepEqual(memberResources.map((r) => r.type).sort(), [...inMember].sort());

    const role = registration(built, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "eu-1-scaler");
    assert.deepEqual(role.inputs["rules"], memberScalerRules());
    const binding = registration(built, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "eu-1-scaler");
    assert.deepEqual(binding.inputs["roleRef"], { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "fleetscale-scaler-fleetscale" });
    assert.deepEqual(binding.inputs["subjects"], [{ kind: "ServiceAccount", name: "fleetscale-scaler", namespace: "fleetscale" }]);

    const token = registration(built, "kubernetes:core/v1:Secret", "eu-1-token");
    assert.equal(token.inputs["type"], "kubernetes.io/service-account-token");
    assert.equal(token.inputs["metadata"].annotations["kubernetes.io/service-account.name"], "fleetscale-scaler");
    assert.equal(token.inputs["metadata"].name, undefined, "auto-named, so a rotation creates the new token before deleting the old");
    assert.equal(await promiseOf(built.root.serviceAccountName), "fleetscale-scaler");
  });

  it("stores in the hub a kubeconfig built from the member token, its CA and the admin kubeconfig's server", async () => {
    const built = await onboard("eu-2");
    const hubSecret = registration(built, "kubernetes:core/v1:Secret", "eu-2-credential");
    assert.ok(hubSecret.provider.startsWith(`${await promiseOf(hubProvider.urn)}::`), "written through the hub provider");
    assert.deepEqual(hubSecret.inputs["metadata"], {
      name: "fleetscale-member-eu-2",
      namespace: "fleetscale-system",
      labels: { "app.kubernetes.io/managed-by": "fleetscale", "fleetscale.io/member": "eu-2" },
    });
    assert.ok(isSecretInput(hubSecret.inputs["data"]), "the hub Secret's data is a Pulumi secret");
    const kubeconfig = parse(decode(plain(hubSecret.inputs["data"]).kubeconfig));
    assert.equal(kubeconfig.clusters[0].cluster.server, "https://eu-1.example:6443");
    assert.equal(decode(kubeconfig.clusters[0].cluster["certificate-authority-data"]), FAKE_CA_PEM);
    assert.deepEqual(kubeconfig.users[0].user, { token: fakeToken("eu-2-token") });
    assert.ok(!JSON.stringify(kubeconfig).includes("admin-token"), "the admin credential never reaches the hub");

    assert.equal(await promiseOf(built.root.hubSecretName), "fleetscale-member-eu-2");
    assert.equal(await promiseOf(built.root.apiUrl), "https://eu-1.example:6443");
    assert.equal(await pulumi.isSecret(built.root.apiUrl), false, "the API URL is shown, not hidden");
  });

  it("has the engine keep the data of both Secrets secret in state", async () => {
    // additionalSecretOutputs is applied by the engine, which mocks do not run; so the option is checked.
    const built = await onboard("eu-3");
    for (const name of ["eu-3-token", "eu-3-credential"]) {
      const secret = built.resources.find((e) => e.name === name)!;
      assert.ok(secret.opts.additionalSecretOutputs?.includes("data"), `${name}: ${JSON.stringify(secret.opts.additionalSecretOutputs)}`);
    }
  });

  it("uses the apiUrl override in the stored kubeconfig", async () => {
    const built = await onboard("eu-4", { apiUrl: "https://eu-4.internal:443" });
    const hubSecret = registration(built, "kubernetes:core/v1:Secret", "eu-4-credential");
    assert.equal(parse(decode(plain(hubSecret.inputs["data"]).kubeconfig)).clusters[0].cluster.server, "https://eu-4.internal:443");
    assert.equal(await promiseOf(built.root.apiUrl), "https://eu-4.internal:443");
  });

  it("replaces the token Secret when credentialGeneration changes", async () => {
    const built = await onboard("eu-5", { credentialGeneration: "2025-06" });
    const token = built.resources.find((e) => e.name === "eu-5-token")!;
    assert.equal(token.opts.replacementTrigger, "2025-06");
    assert.equal(registration(built, "kubernetes:core/v1:Secret", "eu-5-token").inputs["metadata"].annotations[CREDENTIAL_GENERATION_ANNOTATION], "2025-06");
  });
});
