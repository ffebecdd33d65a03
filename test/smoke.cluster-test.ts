/**
 * Smoke test of the real parts everything else stands on: a local fleet's API servers
 * and the Pulumi engine built from Go modules, running a tiny program with one
 * Kubernetes resource and one dynamic resource against the hub.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { LocalFleet } from "./support/fleet";
import { PulumiWorkspace, check } from "./support/pulumi";

const program = `
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
const hub = new k8s.Provider("hub", { kubeconfig: config.requireSecret("hubKubeconfig") });
const map = new k8s.core.v1.ConfigMap("smoke", { metadata: { name: "smoke", namespace: "default" }, data: { hello: "fleet" } }, { provider: hub });

const counter: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { seed: number }) {
    return { id: "counter-" + inputs.seed, outs: { value: inputs.seed * 2 } };
  },
};
class Counter extends pulumi.dynamic.Resource {
  declare readonly value: pulumi.Output<number>;
  constructor(name: string, seed: number) {
    super(counter, name, { seed, value: undefined }, {});
  }
}
const doubled = new Counter("counter", 21);

export const mapName = map.metadata.name;
export const value = doubled.value;
`;

describe("smoke: real API servers and the real Pulumi engine", () => {
  let fleet: LocalFleet;
  let workspace: PulumiWorkspace;
  before(async () => {
    fleet = LocalFleet.start({ clusters: ["hub", "member-1"] });
    workspace = await PulumiWorkspace.create({ program, config: { hubKubeconfig: { value: fleet.kubeconfig("hub"), secret: true } } });
  });
  after(async () => {
    workspace?.cleanup();
    fleet?.down();
  });

  it("the API server reports a real version", () => {
    assert.match(fleet.kubectl("hub", "version", "-o", "json"), /"gitVersion": "v1\.\d+\.\d+"/);
  });

  it("preview plans both resources, up creates them, destroy removes them", async () => {
    const preview = check(await workspace.preview());
    assert.equal(preview.changeSummary["create"], 4, JSON.stringify(preview.changeSummary)); // stack, provider, ConfigMap, Counter
    check(await workspace.up());
    const outputs = await workspace.outputs();
    assert.equal(outputs["mapName"], "smoke");
    assert.equal(outputs["value"], 42);
    assert.equal(fleet.kubectl("hub", "get", "configmap", "smoke", "-n", "default", "-o", "jsonpath={.data.hello}"), "fleet");
    check(await workspace.destroy());
    assert.throws(() => fleet.kubectl("hub", "get", "configmap", "smoke", "-n", "default"), /NotFound|not found/);
  });
});
