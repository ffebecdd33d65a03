import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseDuration } from "../engine/duration";
import { dsoSchema } from "./dso";
import { ValidationError, parseOrThrow } from "./validate";

const valid = {
  apiVersion: "fleetscale.io/v1alpha1",
  kind: "DistributedScaledObject",
  metadata: { name: "web", namespace: "shop" },
  spec: {
    memberClusters: [{ name: "eu-1", weight: 4 }, { name: "us-1", weight: 6, minReplicas: 1, maxReplicas: 20 }],
    scaledObjectSpec: { scaleTargetRef: { name: "web" }, minReplicaCount: 1, maxReplicaCount: 30 },
  },
};

function problemsOf(input: unknown): string[] {
  try {
    parseOrThrow(dsoSchema, input, "DistributedScaledObject");
  } catch (error) {
    assert.ok(error instanceof ValidationError);
    return error.problems.map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail("expected a validation error");
}

function withSpec(spec: Record<string, unknown>) {
  return { ...valid, spec: { ...valid.spec, ...spec } };
}

describe("DistributedScaledObject schema", () => {
  it("fills the article's defaults: weight 1, gracePeriod 1m, maxRebalancePercentage 50, Deployment target", () => {
    const dso = parseOrThrow(dsoSchema, withSpec({ memberClusters: [{ name: "a" }] }), "dso");
    assert.equal(dso.spec.memberClusters[0]!.weight, 1);
    assert.deepEqual(dso.spec.rebalancingPolicy, { gracePeriod: "1m", maxRebalancePercentage: 50 });
    assert.equal(dso.spec.scaledObjectSpec.scaleTargetRef.kind, "Deployment");
    assert.deepEqual(dso.spec.scaledObjectSpec.triggers, []);
  });

  it("accepts Kedify's keda.kedify.io/v1alpha1 manifests", () => {
    assert.equal(parseOrThrow(dsoSchema, { ...valid, apiVersion: "keda.kedify.io/v1alpha1" }, "dso").metadata.name, "web");
  });

  const cases: [string, unknown, RegExp][] = [
    ["a negative weight", withSpec({ memberClusters: [{ name: "a", weight: -2 }] }), /^spec\.memberClusters\[0\]\.weight: Too small/],
    ["a fractional weight", withSpec({ memberClusters: [{ name: "a", weight: 1.5 }] }), /^spec\.memberClusters\[0\]\.weight: .*expected int/],
    ["duplicate member names", withSpec({ memberClusters: [{ name: "a" }, { name: "a" }] }), /^spec\.memberClusters\[1\]\.name: duplicate member name "a"/],
    ["an unknown field", withSpec({ memberCluster: [] }), /^spec: Unrecognized key: "memberCluster"/],
    ["minReplicas above maxReplicas", withSpec({ memberClusters: [{ name: "a", minReplicas: 3, maxReplicas: 2 }] }), /^spec\.memberClusters\[0\]\.minReplicas: minReplicas must not exceed maxReplicas/],
    ["a gracePeriod that is not a duration", withSpec({ rebalancingPolicy: { gracePeriod: "60" } }), /^spec\.rebalancingPolicy\.gracePeriod: must be a duration/],
    ["a percentage of 0", withSpec({ rebalancingPolicy: { maxRebalancePercentage: 0 } }), /^spec\.rebalancingPolicy\.maxRebalancePercentage: Too small/],
    ["a percentage of 101", withSpec({ rebalancingPolicy: { maxRebalancePercentage: 101 } }), /^spec\.rebalancingPolicy\.maxRebalancePercentage: Too big/],
    ["a member name that is not a DNS label", withSpec({ memberClusters: [{ name: "EU_1" }] }), /^spec\.memberClusters\[0\]\.name: must be a DNS-1123 label/],
    ["another API group", { ...valid, apiVersion: "keda.sh/v1alpha1" }, /^apiVersion: /],
    ["every member at weight 0", withSpec({ memberClusters: [{ name: "a", weight: 0 }, { name: "b", weight: 0 }] }), /^spec\.memberClusters: at least one member needs a weight above 0/],
    ["a gracePeriod too long to count in milliseconds", withSpec({ rebalancingPolicy: { gracePeriod: "99999999999999999999h" } }), /^spec\.rebalancingPolicy\.gracePeriod: is too long/],
    ["a total above int32", withSpec({ totalTargetReplicas: 2 ** 31 }), /^spec\.totalTargetReplicas: must be at most 2147483647/],
    ["a member minimum above int32", withSpec({ memberClusters: [{ name: "a", minReplicas: 2 ** 31 }] }), /^spec\.memberClusters\[0\]\.minReplicas: must be at most 2147483647/],
    ["a member maximum above int32", withSpec({ memberClusters: [{ name: "a", maxReplicas: 1e20 }] }), /^spec\.memberClusters\[0\]\.maxReplicas: must be at most 2147483647/],
    ["a minReplicaCount above int32", withSpec({ scaledObjectSpec: { scaleTargetRef: { name: "web" }, minReplicaCount: 2 ** 31 } }), /^spec\.scaledObjectSpec\.minReplicaCount: must be at most 2147483647/],
    ["a maxReplicaCount above int32", withSpec({ scaledObjectSpec: { scaleTargetRef: { name: "web" }, maxReplicaCount: 2 ** 31 } }), /^spec\.scaledObjectSpec\.maxReplicaCount: must be at most 2147483647/],
    ["an idleReplicaCount above int32", withSpec({ scaledObjectSpec: { scaleTargetRef: { name: "web" }, idleReplicaCount: 2 ** 31 } }), /^spec\.scaledObjectSpec\.idleReplicaCount: must be at most 2147483647/],
  ];
  for (const [what, input, expected] of cases) {
    it(`rejects ${what}, naming the field`, () => {
      const problems = problemsOf(input);
      assert.ok(problems.some((p) => expected.test(p)), problems.join("\n"));
    });
  }

  it("accepts weight 0 (a drained member) beside a weighted one, and int32's largest counts", () => {
    const max = 2_147_483_647;
    const dso = parseOrThrow(
      dsoSchema,
      withSpec({
        memberClusters: [{ name: "a", weight: 0, minReplicas: max, maxReplicas: max }, { name: "b" }],
        scaledObjectSpec: { scaleTargetRef: { name: "web" }, idleReplicaCount: max, minReplicaCount: max, maxReplicaCount: max },
        totalTargetReplicas: max,
      }),
      "dso",
    );
    assert.deepEqual(dso.spec.memberClusters.map((m) => m.weight), [0, 1]);
    assert.equal(dso.spec.totalTargetReplicas, max);
    assert.equal(parseOrThrow(dsoSchema, withSpec({ memberClusters: [] }), "dso").spec.memberClusters.length, 0, "an empty list takes the registered members");
  });

  it("lists every problem of a manifest at once", () => {
    const problems = problemsOf(withSpec({ memberClusters: [{ name: "a", weight: -1 }, { name: "a" }], rebalancingPolicy: { gracePeriod: "x", maxRebalancePercentage: 0 } }));
    assert.equal(problems.length, 4, problems.join("\n"));
  });

  it("never throws on junk in any field: every problem comes back as a field-path error", () => {
    const fields = ["memberClusters", "rebalancingPolicy", "scaledObjectSpec", "totalTargetReplicas"] as const;
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.anything(), fc.boolean(), (field, junk, deep) => {
        const spec: Record<string, unknown> = { ...valid.spec, [field]: junk };
        if (deep) spec["memberClusters"] = [junk, { name: "a", minReplicas: 3, maxReplicas: 1 }];
        const result = dsoSchema.safeParse({ ...valid, spec });
        if (!result.success) for (const issue of result.error.issues) assert.ok(Array.isArray(issue.path));
      }),
      { numRuns: 2000 },
    );
    assert.doesNotThrow(() => dsoSchema.safeParse({ ...valid, spec: { memberClusters: "a,b" } }));
  });

  it("rejects arbitrary junk without throwing anything but a ValidationError", () => {
    fc.assert(
      fc.property(fc.anything(), (junk) => {
        const result = dsoSchema.safeParse(junk);
        assert.equal(result.success, false);
      }),
      { numRuns: 500 },
    );
  });
});

describe("durations", () => {
  it("parses what Kubernetes users write", () => {
    assert.equal(parseDuration("1m"), 60_000);
    assert.equal(parseDuration("1m30s"), 90_000);
    assert.equal(parseDuration("500ms"), 500);
    assert.equal(parseDuration("1.5h"), 5_400_000);
    assert.equal(parseDuration("60"), undefined);
    assert.equal(parseDuration("-1m"), undefined);
  });
});
