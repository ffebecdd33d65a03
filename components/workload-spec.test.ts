import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadStackConfig } from "../schema/stack-config";
import { dsoSpecForWorkload } from "./workload-spec";

const config = loadStackConfig((key) =>
  JSON.stringify(
    {
      hub: { kubeconfig: "k" },
      members: { b: { kubeconfig: "k", weight: 6 }, a: { kubeconfig: "k", weight: 4 } },
      workloads: {
        everywhere: { namespace: "shop", scaledObjectSpec: { scaleTargetRef: { name: "web" } } },
        pinned: { memberClusters: [{ name: "a", weight: 9, maxReplicas: 3 }], scaledObjectSpec: { scaleTargetRef: { name: "web" } } },
      },
    }[key],
  ),
);

describe("dsoSpecForWorkload", () => {
  it("lists every member, in config order and with its configured weight, when the workload names none", () => {
    const spec = dsoSpecForWorkload(config.workloads["everywhere"]!, config.members);
    assert.deepEqual(spec.memberClusters, [
      { name: "b", weight: 6 },
      { name: "a", weight: 4 },
    ]);
    assert.ok(!("namespace" in spec), "the hub namespace is where the DSO lives, not part of its spec");
  });

  it("keeps a workload's own member list as it is", () => {
    assert.deepEqual(dsoSpecForWorkload(config.workloads["pinned"]!, config.members).memberClusters, [{ name: "a", weight: 9, maxReplicas: 3 }]);
  });
});
