import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { kubeconfigServer, tokenKubeconfig } from "./kubeconfig";

const admin = (currentContext: string | undefined) => `
apiVersion: v1
kind: Config
clusters:
  - name: one
    cluster: { server: "https://one.example:6443" }
  - name: two
    cluster: { server: "https://two.example:6443" }
contexts:
  - name: ctx-one
    context: { cluster: one, user: admin }
  - name: ctx-two
    context: { cluster: two, user: admin }
${currentContext === undefined ? "" : `current-context: ${currentContext}`}
users:
  - name: admin
    user: { token: admin-token }
`;

describe("kubeconfigServer", () => {
  it("follows the current context to its cluster's server", () => {
    assert.equal(kubeconfigServer(admin("ctx-two"), "test"), "https://two.example:6443");
  });

  it("takes the only cluster when no context is current", () => {
    assert.equal(kubeconfigServer("clusters: [{ name: x, cluster: { server: 'https://x:6443' } }]", "test"), "https://x:6443");
  });

  it("refuses to guess between clusters, naming the source and the way out", () => {
    assert.throws(() => kubeconfigServer(admin(undefined), "admin kubeconfig of member eu-1"), /^Error: admin kubeconfig of member eu-1: .*set apiUrl/);
    assert.throws(() => kubeconfigServer(": not yaml: [", "hub"), /^Error: hub: not a kubeconfig/);
  });
});

describe("kubeconfigServer on text that is not YAML", () => {
  it("says where the parse failed without quoting the text, which may hold a token", () => {
    const broken = "clusters: [{ name: one, cluster: { server: https://one } }]\nusers:\n  - user: { token: s3cr3t-token\n";
    assert.throws(() => kubeconfigServer(broken, "scaler kubeconfig of member eu-1"), (error: Error) => {
      assert.match(error.message, /^scaler kubeconfig of member eu-1: not a kubeconfig \(YAML parse error at line \d+, column \d+\)$/);
      assert.doesNotMatch(error.message, /s3cr3t/);
      return true;
    });
  });
});

describe("tokenKubeconfig", () => {
  it("is a single-context kubeconfig that authenticates with the token alone", () => {
    const text = tokenKubeconfig({ clusterName: "eu-1", server: "https://eu-1:6443", caData: "Q0E=", token: "tok", namespace: "fleetscale" });
    assert.deepEqual(parse(text), {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "eu-1", cluster: { server: "https://eu-1:6443", "certificate-authority-data": "Q0E=" } }],
      users: [{ name: "fleetscale-scaler@eu-1", user: { token: "tok" } }],
      contexts: [{ name: "eu-1", context: { cluster: "eu-1", user: "fleetscale-scaler@eu-1", namespace: "fleetscale" } }],
      "current-context": "eu-1",
    });
    assert.equal(kubeconfigServer(text, "built"), "https://eu-1:6443");
  });
});
