// recording-mocks first: it installs the Pulumi mocks before any component module loads.
import { build, isSecretInput, plain, promiseOf, registration, registrations, structuralProblems } from "./recording-mocks";
import * as pulumi from "@pulumi/pulumi";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { parse } from "yaml";
import { ValidationError } from "../schema/validate";
import { Fleet, type FleetArgs } from "./fleet";

const kubeconfigFor = (server: string, token: string) => `
apiVersion: v1
clusters: [{ name: c, cluster: { server: "${server}" } }]
contexts: [{ name: c, context: { cluster: c, user: admin } }]
current-context: c
users: [{ name: admin, user: { token: ${token} } }]
`;

const DSO_TYPE = "kubernetes:fleetscale.io/v1alpha1:DistributedScaledObject";

const trigger = { type: "kubernetes-resource", metadata: { resourceKind: "ConfigMap", resourceName: "load", key: "value", targetValue: "5" } };

const SCALER_KUBECONFIG = kubeconfigFor("https://ap-1.example:6443", "ap-1-scaler-token");

// The fleet as a user's program gives it: data, with credentials as text or Outputs.
const args: FleetArgs = {
  hub: { kubeconfig: pulumi.output(kubeconfigFor("https://hub.example:6443", "hub-admin-token")), namespace: "scaling", replicas: 2 },
  members: {
    "eu-1": { kubeconfig: kubeconfigFor("https://eu-1.example:6443", "eu-1-admin-token"), weight: 3 },
    "us-1": { kubeconfig: kubeconfigFor("https://us-1.example:6443", "us-1-admin-token"), apiUrl: "https://us-1.internal", weight: 5 },
    home: { inHub: true, apiUrl: "https://kubernetes.default.svc" },
    "ap-1": { scalerKubeconfig: pulumi.secret(SCALER_KUBECONFIG), weight: 2 },
  },
  workloads: {
    web: { totalTargetReplicas: 10, scaledObjectSpec: { scaleTargetRef: { name: "web" }, triggers: [trigger] } },
    api: { namespace: "shop", memberClusters: [{ name: "eu-1", weight: 2 }], scaledObjectSpec: { scaleTargetRef: { name: "api", kind: "StatefulSet" } } },
  },
};

describe("Fleet", () => {
  let built: Awaited<ReturnType<typeof buildFleet>>;
  const buildFleet = () => build((opts) => new Fleet("fleet", args, opts));
  before(async () => {
    built = await buildFleet();
  });

  it("parents every resource to a fleetscale component and gives every Kubernetes resource an explicit provider", () => {
    assert.deepEqual(structuralProblems(built), []);
  });

  it("builds the hub provider from the hub's kubeconfig, as a secret", () => {
    const hubProvider = registration(built, "pulumi:providers:kubernetes", "fleet-hub");
    assert.ok(isSecretInput(hubProvider.inputs["kubeconfig"]));
    assert.match(plain(hubProvider.inputs["kubeconfig"]), /hub-admin-token/);
  });

  it("onboards every member, the inHub one with the hub's admin kubeconfig", () => {
    for (const member of ["eu-1", "us-1", "home"]) registration(built, "fleetscale:index:MemberCluster", `fleet-${member}`);
    assert.ok(!built.registrations.some((r) => r.name.startsWith("fleet-ap-1-admin")), "no admin provider for a member onboarded by its own stack");
    const homeProvider = registration(built, "pulumi:providers:kubernetes", "fleet-home-admin");
    assert.match(plain(homeProvider.inputs["kubeconfig"]), /hub-admin-token/);
  });

  it("gives the runtime only the member-role token for the hub-as-member, never the hub's admin credential", () => {
    const secret = registration(built, "kubernetes:core/v1:Secret", "fleet-home-credential");
    assert.equal(secret.inputs["metadata"].namespace, "scaling");
    const kubeconfig = parse(Buffer.from(plain(secret.inputs["data"]).kubeconfig, "base64").toString("utf8"));
    assert.equal(kubeconfig.clusters[0].cluster.server, "https://kubernetes.default.svc");
    assert.match(kubeconfig.users[0].user.token, /fleet-home-token/);
    assert.ok(!JSON.stringify(kubeconfig).includes("admin-token"));
  });

  it("spreads a workload without members over every member, with the members' weights", () => {
    const web = registration(built, DSO_TYPE, "fleet-web-dso");
    assert.deepEqual(web.inputs["spec"].memberClusters, [
      { name: "eu-1", weight: 3 },
      { name: "us-1", weight: 5 },
      { name: "home", weight: 1 },
      { name: "ap-1", weight: 2 },
    ]);
    assert.equal(web.inputs["spec"].totalTargetReplicas, 10);
    assert.deepEqual(web.inputs["spec"].scaledObjectSpec.triggers, [trigger]);
    assert.deepEqual(web.inputs["metadata"], { name: "web", namespace: "default", labels: { "app.kubernetes.io/managed-by": "fleetscale" } });
  });

  it("keeps a workload's own member list, and puts its DSO in its namespace", () => {
    const api = registration(built, DSO_TYPE, "fleet-api-dso");
    assert.equal(api.inputs["apiVersion"], "fleetscale.io/v1alpha1");
    assert.deepEqual(api.inputs["spec"].memberClusters, [{ name: "eu-1", weight: 2 }]);
    assert.equal(api.inputs["metadata"].namespace, "shop");
    assert.equal(api.inputs["spec"].namespace, undefined, "the hub namespace is not part of the DSO spec");
  });

  it("creates each DSO after the CRD", () => {
    const dso = built.resources.find((e) => e.name === "fleet-web-dso")!;
    const crd = built.resources.find((e) => e.name === "fleet-hub-dso-crd")!;
    assert.deepEqual(dso.opts.dependsOn, [crd.resource]);
  });

  it("reconciles each workload's replicas with a DistributedReplicas holding the hub credential as a secret", () => {
    const replicas = registration(built, "pulumi-nodejs:dynamic/fleetscale:DistributedReplicas", "fleet-web-replicas");
    assert.ok(isSecretInput(replicas.inputs["hubKubeconfig"]));
    assert.deepEqual(
      plain(replicas.inputs["members"]).map((m: { name: string; weight: number }) => [m.name, m.weight]),
      [["eu-1", 3], ["us-1", 5], ["home", 1], ["ap-1", 2]],
    );
    assert.equal(plain(replicas.inputs["declaredTotal"]), 10);
    assert.equal(plain(replicas.inputs["hubNamespace"]), "scaling");
  });

  it("exports the hub namespace, member API URLs and DSO names", async () => {
    assert.equal(await promiseOf(built.root.hubNamespace), "scaling");
    assert.deepEqual(await promiseOf(built.root.memberApiUrls), {
      "eu-1": "https://eu-1.example:6443",
      "us-1": "https://us-1.internal",
      home: "https://kubernetes.default.svc",
      "ap-1": "https://ap-1.example:6443",
    });
    assert.deepEqual(await promiseOf(built.root.dsoNames), ["default/web", "shop/api"]);
  });

  it("hands a member onboarded by its own stack to the hub as it is: its scaler kubeconfig in the hub Secret, secret, and nothing in the member", async () => {
    const secret = registration(built, "kubernetes:core/v1:Secret", "fleet-ap-1-credential");
    assert.ok(isSecretInput(secret.inputs["data"]));
    assert.equal(Buffer.from(plain(secret.inputs["data"]).kubeconfig, "base64").toString("utf8"), SCALER_KUBECONFIG);
    assert.equal(secret.inputs["metadata"].namespace, "scaling");
    const hubProviderUrn = built.resources.find((e) => e.name === "fleet-hub")!.urn;
    assert.ok(secret.provider.startsWith(`${hubProviderUrn}::`), "written through the hub provider");
    assert.ok(!built.registrations.some((r) => r.name.startsWith("fleet-ap-1-") && r.name !== "fleet-ap-1-credential"));
    // A member moved from MemberCluster to its own stack keeps its hub Secret: the old URN is an alias.
    const alias = (built.resources.find((e) => e.name === "fleet-ap-1-credential")!.opts.aliases as { parent: pulumi.Output<string> }[])[0]!;
    assert.match(await promiseOf(alias.parent), /::fleetscale:index:Fleet\$fleetscale:index:MemberCluster::fleet-ap-1$/);
  });

  it("refuses bad args before registering anything, naming each field", async () => {
    const before = registrations.length;
    const broken = {
      hub: { kubeconfig: "", replicas: 9 },
      members: { "m-1": { kubeconfigPath: "m.kubeconfig" }, "m-2": { kubeconfig: "k", scalerKubeconfig: "s" }, "m-3": { scalerKubeconfig: "s", apiUrl: "https://m-3.example" } },
      workloads: { web: { memberClusters: [{ name: "nope", weight: 1 }], scaledObjectSpec: { scaleTargetRef: { name: "web" } } } },
    } as unknown as FleetArgs;
    assert.throws(
      () => new Fleet("broken", broken),
      (error: unknown) => {
        assert.ok(error instanceof ValidationError);
        assert.equal(error.subject, "Fleet broken");
        assert.deepEqual(error.problems.map((p) => p.path), [
          "hub.kubeconfig",
          "hub.replicas",
          "members.m-1",
          "members.m-1.kubeconfig",
          "members.m-2.kubeconfig",
          "members.m-3.apiUrl",
          "workloads.web.memberClusters[0].name",
        ]);
        return true;
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(registrations.length, before);
  });
});

describe("Fleet's dependsOn", () => {
  it("holds for the replicas it moves: each DistributedReplicas waits for what the Fleet depends on (the app's Deployments)", async () => {
    const app = new pulumi.ComponentResource("test:index:App", "app");
    await promiseOf(app.urn);
    const built = await build((opts) => new Fleet("after", { hub: args.hub, members: { "eu-1": args.members["eu-1"]! }, workloads: { web: args.workloads!["web"]! } }, { ...opts, dependsOn: [app] }));
    const replicas = built.resources.find((e) => e.name === "after-web-replicas")!;
    assert.ok((replicas.opts.dependsOn as pulumi.Resource[]).includes(app), "DistributedReplicas does not wait for the Fleet's dependsOn");
  });
});
