import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { triggerPolicyArb } from "../../test/support/trigger-policy";
import { ValidationError } from "../../schema/validate";
import { desiredTotal, parseMetricValue, type Recommendation, type ResourceTrigger, resourceTriggerOf, type TotalInput, totalPolicyOf, TriggerValueError, triggerValueOf, watchFailure } from "./resource-trigger";

const T0 = Date.parse("2025-11-28T12:00:00Z");
const s = (seconds: number) => T0 + seconds * 1000;

/** The walkthrough's trigger: a number in ConfigMap mock-metric, 5 per replica. */
const walkthroughTrigger = {
  type: "kubernetes-resource",
  metadata: { resourceKind: "ConfigMap", resourceName: "mock-metric", key: "metric-value", targetValue: "5" },
};

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    return error.problems.map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail("expected a ValidationError");
}

describe("resourceTriggerOf", () => {
  it("reads the walkthrough's trigger, numbers parsed and defaults filled in", () => {
    assert.deepEqual(resourceTriggerOf({ triggers: [walkthroughTrigger] }), {
      resourceKind: "ConfigMap",
      resourceName: "mock-metric",
      key: "metric-value",
      targetValue: 5,
      activationTargetValue: 0,
      valueType: "float64",
    });
    const secret = { type: "kubernetes-resource", metadata: { resourceKind: "Secret", resourceName: "s", key: "k", targetValue: "0.5", activationTargetValue: "2", format: "number", valueType: "int64" } };
    assert.deepEqual(resourceTriggerOf({ triggers: [secret] }), { resourceKind: "Secret", resourceName: "s", key: "k", targetValue: 0.5, activationTargetValue: 2, valueType: "int64" });
  });

  it("names every bad field by its path in the DSO", () => {
    const bad = { type: "kubernetes-resource", metadata: { resourceKind: "Deployment", resourceName: "Mock_Metric", key: "a/b", targetValue: "0", activationTargetValue: "x" } };
    assert.deepEqual(problemsOf(() => resourceTriggerOf({ triggers: [bad] })), [
      'triggers[0].metadata.resourceKind: must be "ConfigMap" or "Secret"',
      "triggers[0].metadata.resourceName: must be a Kubernetes object name (DNS-1123 subdomain)",
      "triggers[0].metadata.key: must be a ConfigMap/Secret key: letters, digits, '-', '_' and '.'",
      'triggers[0].metadata.targetValue: must be a positive number, got "0"',
      'triggers[0].metadata.activationTargetValue: must be a number, got "x"',
    ]);
    const missing = problemsOf(() => resourceTriggerOf({ triggers: [{ type: "kubernetes-resource", metadata: { resourceKind: "ConfigMap" } }] }));
    assert.deepEqual(missing, [
      "triggers[0].metadata.resourceName: must name the ConfigMap or Secret",
      "triggers[0].metadata.key: must name the key that holds the value",
      "triggers[0].metadata.targetValue: must be a positive number",
    ]);
  });

  it("says which triggers need KEDA, and that only one is evaluated", () => {
    assert.deepEqual(problemsOf(() => resourceTriggerOf({ triggers: [{ type: "prometheus", metadata: {} }] }))[0], 'triggers[0].type: "prometheus" needs KEDA in the hub; without KEDA only "kubernetes-resource" triggers are evaluated');
    assert.deepEqual(problemsOf(() => resourceTriggerOf({ triggers: [walkthroughTrigger, walkthroughTrigger] })), ['triggers: only one "kubernetes-resource" trigger is evaluated without KEDA in the hub']);
    assert.deepEqual(problemsOf(() => resourceTriggerOf({})), ['triggers: needs one "kubernetes-resource" trigger']);
    const json = { ...walkthroughTrigger, metadata: { ...walkthroughTrigger.metadata, format: "json", valueLocation: "a.b" } };
    assert.deepEqual(problemsOf(() => resourceTriggerOf({ triggers: [json] })), [
      'triggers[0].metadata.format: only "number" is evaluated without KEDA in the hub',
      'triggers[0].metadata: Unrecognized key: "valueLocation"',
    ]);
    assert.deepEqual(problemsOf(() => resourceTriggerOf({ triggers: [{ ...walkthroughTrigger, metricType: "Value" }] })), ['triggers[0].metricType: only "AverageValue" is evaluated without KEDA in the hub']);
  });
});

describe("totalPolicyOf", () => {
  it("has KEDA's and the HPA's defaults", () => {
    assert.deepEqual(totalPolicyOf({}), { min: 0, max: 100, idleReplicaCount: 0, cooldownMs: 300_000, scaleDownStabilizationMs: 300_000 });
    assert.deepEqual(totalPolicyOf({ minReplicaCount: 2 }).idleReplicaCount, undefined);
  });

  it("honours the HPA behavior's scale-down window, cooldownPeriod and idleReplicaCount", () => {
    const spec = {
      minReplicaCount: 2,
      maxReplicaCount: 8,
      idleReplicaCount: 1,
      cooldownPeriod: 30,
      advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 60 } } } },
    };
    assert.deepEqual(totalPolicyOf(spec), { min: 2, max: 8, idleReplicaCount: 1, cooldownMs: 30_000, scaleDownStabilizationMs: 60_000 });
  });

  it("rejects what KEDA rejects, by path", () => {
    assert.deepEqual(problemsOf(() => totalPolicyOf({ minReplicaCount: 3, idleReplicaCount: 3 })), ["idleReplicaCount: must be less than minReplicaCount (3)"]);
    assert.deepEqual(problemsOf(() => totalPolicyOf({ minReplicaCount: 101 })), ["minReplicaCount: must not exceed maxReplicaCount (100)"]);
    assert.deepEqual(problemsOf(() => totalPolicyOf({ advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 7200 } } } } })), [
      "advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds: must be at most 3600",
    ]);
  });
});

describe("parseMetricValue", () => {
  it("reads decimal numbers, whitespace around them allowed", () => {
    assert.equal(parseMetricValue(" 42\n", "float64", "here"), 42);
    assert.equal(parseMetricValue("1.5e3", "float64", "here"), 1500);
    assert.equal(parseMetricValue("-0.25", "float64", "here"), -0.25);
    assert.equal(parseMetricValue("7", "int64", "here"), 7);
  });

  it("refuses anything else, saying where the text came from", () => {
    for (const text of ["", "abc", "0x10", "1_000", "Infinity", "NaN", "5 replicas", "1e999"]) {
      assert.throws(
        () => parseMetricValue(text, "float64", 'ConfigMap default/mock-metric key "metric-value"'),
        (e: TriggerValueError) => e.problem === "NotANumber" && e.message === `ConfigMap default/mock-metric key "metric-value": ${JSON.stringify(text)} is not a number`,
      );
    }
    assert.throws(() => parseMetricValue("1.5", "int64", "here"), /"1.5" is not a whole number \(valueType int64\)/);
  });
});

describe("triggerValueOf: the value in the watched ConfigMap or Secret", () => {
  const trigger = (overrides: Partial<ResourceTrigger> = {}): ResourceTrigger => ({
    resourceKind: "ConfigMap",
    resourceName: "mock-metric",
    key: "metric-value",
    targetValue: 5,
    activationTargetValue: 0,
    valueType: "float64",
    ...overrides,
  });
  const base64 = (text: string) => Buffer.from(text).toString("base64");
  const fails = (run: () => unknown, problem: TriggerValueError["problem"], message: string) =>
    assert.throws(run, (e: TriggerValueError) => {
      assert.ok(e instanceof TriggerValueError, String(e));
      assert.deepEqual([e.problem, e.message], [problem, message]);
      return true;
    });

  it("reads ConfigMap data, ConfigMap binaryData and Secret data", () => {
    assert.equal(triggerValueOf({ data: { "metric-value": "23" } }, trigger(), "default"), 23);
    assert.equal(triggerValueOf({ binaryData: { v: base64("7.5") } }, trigger({ key: "v" }), "default"), 7.5);
    assert.equal(triggerValueOf({ data: { depth: base64("42\n") } }, trigger({ resourceKind: "Secret", resourceName: "queue-depth", key: "depth" }), "default"), 42);
  });

  it("says clearly what is wrong: no object, no key, not a number", () => {
    fails(() => triggerValueOf(undefined, trigger({ resourceName: "nowhere" }), "default"), "NotFound", "ConfigMap default/nowhere not found");
    fails(() => triggerValueOf({ data: { "metric-value": "1" } }, trigger({ key: "other" }), "default"), "KeyMissing", 'ConfigMap default/mock-metric has no key "other"');
    fails(() => triggerValueOf({ data: {} }, trigger({ resourceKind: "Secret" }), "apps"), "KeyMissing", 'Secret apps/mock-metric has no key "metric-value"');
    fails(() => triggerValueOf({ data: { "metric-value": "lots" } }, trigger(), "default"), "NotANumber", 'ConfigMap default/mock-metric key "metric-value": "lots" is not a number');
  });

  it("never quotes a Secret's value: the message goes to the DSO's status, and the key may hold a credential", () => {
    const token = "apiVersion: v1\nusers: [{ user: { token: s3cr3t } }]";
    fails(() => triggerValueOf({ data: { kubeconfig: base64(token) } }, trigger({ resourceKind: "Secret", key: "kubeconfig" }), "fleetscale-system"), "NotANumber", 'Secret fleetscale-system/mock-metric key "kubeconfig": the value is not a number');
  });

  it("names the missing permission when the watch is refused, and says the total is kept on other failures", () => {
    const refused = watchFailure(403, "Forbidden", trigger({ resourceKind: "Secret", resourceName: "queue-depth" }), "apps");
    assert.deepEqual([refused.problem, refused.message], ["Forbidden", "not allowed to watch Secret apps/queue-depth (403): the runtime needs list and watch on secrets in apps"]);
    const down = watchFailure(undefined, "connect ECONNREFUSED", trigger(), "default");
    assert.deepEqual([down.problem, down.message], ["WatchFailed", "watching ConfigMap default/mock-metric failed (connect ECONNREFUSED); retrying, the total is kept meanwhile"]);
  });
});

describe("desiredTotal: examples", () => {
  const base: TotalInput = { value: 0, targetValue: 5, currentTotal: 1, min: 1, max: 10, now: T0, history: [] };

  it("is ceil(value / targetValue): the walkthrough's 23 at 5 per replica is 5", () => {
    const decision = desiredTotal({ ...base, value: 23 });
    assert.equal(decision.total, 5);
    assert.equal(decision.reason, "ceil(value 23 / targetValue 5) = 5");
  });

  it("keeps the current total within the 10% tolerance, and leaves it outside", () => {
    assert.equal(desiredTotal({ ...base, value: 10.4, currentTotal: 2 }).total, 2);
    assert.match(desiredTotal({ ...base, value: 10.4, currentTotal: 2 }).reason, /within 10% of 2 × targetValue 5: keeping 2/);
    assert.equal(desiredTotal({ ...base, value: 9.1, currentTotal: 2 }).total, 2);
    assert.equal(desiredTotal({ ...base, value: 11.5, currentTotal: 2 }).total, 3);
    assert.equal(desiredTotal({ ...base, value: 8.9, currentTotal: 2, min: 1 }).total, 2, "9% off is still 2 by ceil(1.78)");
    assert.equal(desiredTotal({ ...base, value: 40, currentTotal: 10, tolerance: 0 }).total, 8);
  });

  it("stays within minReplicaCount and maxReplicaCount (KEDA's 100 by default)", () => {
    assert.equal(desiredTotal({ ...base, value: 1000 }).total, 10);
    assert.match(desiredTotal({ ...base, value: 1000 }).reason, /bounded to \[1, 10\]: 10/);
    assert.equal(desiredTotal({ value: 10_000, targetValue: 5, currentTotal: 3, now: T0, history: [] }).total, 100);
    assert.equal(desiredTotal({ ...base, value: 0.5, min: 3, currentTotal: 3 }).total, 3);
  });

  it("scales up at once but down only after the stabilization window", () => {
    const up = desiredTotal({ ...base, value: 50, currentTotal: 2 });
    assert.equal(up.total, 10);
    const held = desiredTotal({ ...base, value: 10, currentTotal: 10, now: s(60), history: up.history });
    assert.equal(held.total, 10);
    assert.match(held.reason, /scale-down held at 10 by the 300s stabilization window/);
    const stillHeld = desiredTotal({ ...base, value: 10, currentTotal: 10, now: s(299), history: held.history });
    assert.equal(stillHeld.total, 10);
    // At 300 s the first recommendation (10) leaves the window; the 2s of 60 s and 299 s stay.
    const down = desiredTotal({ ...base, value: 10, currentTotal: 10, now: s(300), history: stillHeld.history });
    assert.equal(down.total, 2);
    assert.deepEqual(down.history.map((r) => r.total), [2, 2, 2]);
  });

  it("honours a shorter window from the DSO's HPA behavior", () => {
    const policy = totalPolicyOf({ minReplicaCount: 1, maxReplicaCount: 10, advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 30 } } } } });
    const up = desiredTotal({ ...base, ...policy, value: 50, currentTotal: 2 });
    assert.equal(desiredTotal({ ...base, ...policy, value: 10, currentTotal: 10, now: s(29), history: up.history }).total, 10);
    assert.equal(desiredTotal({ ...base, ...policy, value: 10, currentTotal: 10, now: s(30), history: up.history }).total, 2);
  });

  it("steps down to the highest recommendation left in the window, not below", () => {
    const history: Recommendation[] = [
      { at: s(0), total: 9 },
      { at: s(100), total: 6 },
    ];
    assert.equal(desiredTotal({ ...base, value: 5, currentTotal: 9, now: s(350), history }).total, 6);
  });

  it("ignores recommendations from the future (a clock that went back)", () => {
    assert.equal(desiredTotal({ ...base, value: 5, currentTotal: 9, now: s(0), history: [{ at: s(100), total: 9 }] }).total, 1);
  });

  it("is 0 while inactive with minReplicaCount 0, once cooldownPeriod has passed since last active", () => {
    const zeroMin = { ...base, min: 0 };
    assert.equal(desiredTotal({ ...zeroMin, value: 0, currentTotal: 0 }).total, 0, "never active: straight to 0");
    const busy = desiredTotal({ ...zeroMin, value: 20, currentTotal: 0 });
    assert.deepEqual([busy.total, busy.active, busy.lastActiveAt], [4, true, T0], "from 0 straight to ceil(value / target)");
    const cooling = desiredTotal({ ...zeroMin, value: 0, currentTotal: 4, now: s(299), history: busy.history, lastActiveAt: busy.lastActiveAt });
    assert.deepEqual([cooling.total, cooling.active], [4, false]);
    assert.match(cooling.reason, /inactive, cooling down for 300s/);
    const idle = desiredTotal({ ...zeroMin, value: 0, currentTotal: 4, now: s(300), history: cooling.history, lastActiveAt: cooling.lastActiveAt });
    assert.deepEqual([idle.total, idle.history], [0, []]);
    assert.equal(idle.reason, "inactive: value 0 ≤ activationTargetValue 0 for cooldownPeriod 300s: 0");
  });

  it("activates only above activationTargetValue, and goes to idleReplicaCount when one is set", () => {
    const zeroMin = { ...base, min: 0, currentTotal: 0 };
    assert.equal(desiredTotal({ ...zeroMin, value: 3, activationTargetValue: 3 }).total, 0);
    assert.equal(desiredTotal({ ...zeroMin, value: 3.5, activationTargetValue: 3 }).total, 1);
    assert.equal(desiredTotal({ ...base, min: 3, idleReplicaCount: 1, value: 0, currentTotal: 3 }).total, 1);
    assert.equal(desiredTotal({ ...base, min: 3, value: 0, currentTotal: 5, history: [] }).total, 3, "no idle state: the minimum");
  });
});

// ---------------------------------------------------------------------------------------
// Properties.

const policyArb = triggerPolicyArb("decimal");

const historyArb = fc.array(fc.record({ ago: fc.integer({ min: -1000, max: 900_000 }), total: fc.integer({ min: 0, max: 150 }) }), { maxLength: 8 });
const valueArb = fc.double({ min: -100, max: 200_000, noNaN: true });

const inputArb = fc
  .record({
    policy: policyArb,
    value: valueArb,
    currentTotal: fc.integer({ min: 0, max: 150 }),
    history: historyArb,
    lastActiveAgo: fc.option(fc.integer({ min: 0, max: 900_000 }), { nil: undefined }),
  })
  .map(({ policy, value, currentTotal, history, lastActiveAgo }): TotalInput => ({
    ...policy,
    value,
    currentTotal,
    now: T0,
    history: history.map((h) => ({ at: T0 - h.ago, total: h.total })),
    lastActiveAt: lastActiveAgo === undefined ? undefined : T0 - lastActiveAgo,
  }));

describe("desiredTotal: properties", () => {
  it("is always within [minReplicaCount, maxReplicaCount]", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const { total } = desiredTotal(input);
        assert.ok(Number.isInteger(total) && total >= input.min! && total <= input.max!, `${total} not in [${input.min}, ${input.max}]`);
      }),
    );
  });

  it("is idleReplicaCount or within bounds when an idle count is set", () => {
    fc.assert(
      fc.property(inputArb, fc.integer({ min: 1, max: 20 }), (input, minAboveIdle) => {
        const withIdle = { ...input, min: minAboveIdle, max: Math.max(input.max!, minAboveIdle), idleReplicaCount: minAboveIdle - 1 };
        const { total } = desiredTotal(withIdle);
        assert.ok(total === withIdle.idleReplicaCount || (total >= withIdle.min && total <= withIdle.max));
      }),
    );
  });

  it("keeps the current total whenever the value is within tolerance of it", () => {
    fc.assert(
      fc.property(inputArb, fc.double({ min: -1, max: 1, noNaN: true }), fc.integer({ min: 1, max: 100 }), (input, offset, current) => {
        const currentTotal = Math.min(input.max!, Math.max(input.min!, current, 1));
        // A band narrower than float rounding (seen: tolerance 1.1e-16) cannot be hit from inside
        // by computing value = ratio × target × total and dividing back.
        fc.pre(input.tolerance! >= 1e-9);
        // A ratio strictly inside the band (0.999 keeps float rounding off the edge).
        const ratio = 1 + offset * input.tolerance! * 0.999;
        const value = ratio * input.targetValue * currentTotal;
        fc.pre(value > input.activationTargetValue!);
        assert.equal(desiredTotal({ ...input, value, currentTotal }).total, currentTotal);
      }),
    );
  });

  it("never scales down below a recommendation still inside the stabilization window", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const decision = desiredTotal(input);
        const idleTotal = input.idleReplicaCount ?? (input.min === 0 ? 0 : undefined);
        fc.pre(!(idleTotal !== undefined && decision.total === idleTotal && decision.history.length === 0)); // KEDA's idle state, governed by cooldownPeriod
        if (decision.total >= input.currentTotal) return;
        for (const r of input.history) {
          if (r.at <= input.now && input.now - r.at < input.scaleDownStabilizationMs!) {
            assert.ok(decision.total >= Math.min(r.total, input.currentTotal, input.max!), `${input.currentTotal} → ${decision.total} below ${r.total} of ${input.now - r.at} ms ago`);
          }
        }
      }),
    );
  });

  it("never goes idle within cooldownPeriod of the trigger's last activity", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        fc.pre(input.lastActiveAt !== undefined && input.now - input.lastActiveAt < input.cooldownMs!);
        assert.ok(desiredTotal(input).total >= 1);
      }),
    );
  });

  it("is monotone in the value", () => {
    fc.assert(
      // Values in units of targetValue, close together, so that steps of ceil(), the tolerance
      // band and the activation threshold all fall between them often.
      fc.property(
        fc.oneof(
          inputArb,
          // Without history and bounds in the way, so the arithmetic itself decides.
          fc.tuple(inputArb, fc.integer({ min: 0, max: 30 })).map(([input, currentTotal]) => ({ ...input, currentTotal, history: [], min: 0, max: 100 })),
        ),
        // Hundredths, not fc.double: doubles crowd around 0 and would rarely cross a ceil() step.
        fc.integer({ min: -100, max: 4000 }).map((n) => n / 100),
        fc.integer({ min: 0, max: 300 }).map((n) => n / 100),
        (input, lowUnits, stepUnits) => {
        const low = lowUnits * input.targetValue;
        const high = (lowUnits + stepUnits) * input.targetValue;
        const [atLow, atHigh] = [desiredTotal({ ...input, value: low }).total, desiredTotal({ ...input, value: high }).total];
          assert.ok(atLow <= atHigh, `value ${low} → ${atLow} but ${high} → ${atHigh}`);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("over a run fed its own output: bounded, and a scale-down only after the window has forgotten the peak", () => {
    fc.assert(
      fc.property(policyArb, fc.array(fc.record({ dt: fc.integer({ min: 1_000, max: 120_000 }), value: valueArb }), { minLength: 1, maxLength: 40 }), (policy, steps) => {
        let state = { total: 0, history: [] as Recommendation[], lastActiveAt: undefined as number | undefined };
        let now = T0;
        for (const step of steps) {
          now += step.dt;
          const previous = state.total;
          const decision = desiredTotal({ ...policy, value: step.value, currentTotal: previous, now, history: state.history, lastActiveAt: state.lastActiveAt });
          assert.ok(decision.total >= policy.min && decision.total <= policy.max);
          if (decision.total < previous && decision.total > 0) {
            const remembered = state.history.filter((r) => now - r.at < policy.scaleDownStabilizationMs).map((r) => r.total);
            assert.ok(remembered.every((r) => decision.total >= Math.min(r, policy.max)), `scaled ${previous} → ${decision.total} with ${JSON.stringify(remembered)} in the window`);
          }
          state = decision;
        }
      }),
    );
  });
});
