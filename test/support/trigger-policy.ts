/** fast-check arbitraries shared by the property tests of the built-in trigger (runtime/total). */
import fc from "fast-check";
import type { TotalInput } from "../../runtime/total/resource-trigger";

/** Every field a policy can set is drawn, idleReplicaCount aside. */
export type TriggerPolicy = Required<Omit<TotalInput, "value" | "currentTotal" | "now" | "history" | "lastActiveAt" | "idleReplicaCount">>;

/**
 * HPA/KEDA policies over the ranges users set: min/max replicas, tolerance, stabilization and
 * cooldown windows. `targets` draws targetValue and activationTargetValue as whole numbers or
 * as any positive decimals.
 */
export function triggerPolicyArb(targets: "whole" | "decimal"): fc.Arbitrary<TriggerPolicy> {
  const whole = targets === "whole";
  return fc
    .record({
      min: fc.integer({ min: 0, max: 20 }),
      span: fc.integer({ min: 0, max: 80 }),
      tolerance: fc.double({ min: 0, max: 0.5, noNaN: true }),
      scaleDownStabilizationMs: fc.integer({ min: 0, max: 600_000 }),
      cooldownMs: fc.integer({ min: 0, max: 600_000 }),
      targetValue: whole ? fc.integer({ min: 1, max: 1000 }) : fc.double({ min: 0.01, max: 1000, noNaN: true }),
      activationTargetValue: whole ? fc.integer({ min: 0, max: 100 }) : fc.double({ min: 0, max: 100, noNaN: true }),
    })
    .map(({ min, span, ...rest }): TriggerPolicy => ({ ...rest, min, max: Math.max(1, min + span) }));
}
