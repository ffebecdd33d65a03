/**
 * Source 2 of a DSO's total replicas: the runtime itself, for hubs without KEDA.
 *
 * Without KEDA nobody turns triggers into a number, so the runtime evaluates the one
 * trigger it can without KEDA's scalers: `kubernetes-resource` (the trigger of Kedify's
 * walkthrough), which reads a number from a ConfigMap or Secret key in the DSO's
 * namespace in the hub. Anything else needs KEDA, and validation says so.
 *
 * The arithmetic is the HPA's, as KEDA would run it, with one "pod" being the whole
 * fleet: the trigger is an External metric with an AverageValue target, so
 *   usage ratio = value / (targetValue × currentTotal)
 *   |1 − ratio| ≤ tolerance (10%)  → keep currentTotal (avoids flapping on noise)
 *   otherwise                      → ceil(value / targetValue)
 * then scale-down stabilization (the highest recommendation of the last window wins, by
 * default 300 s, or advanced.horizontalPodAutoscalerConfig.behavior.scaleDown
 * .stabilizationWindowSeconds), then minReplicaCount/maxReplicaCount (KEDA's defaults 0
 * and 100; like KEDA's HPA, at least 1 while active). Scale-up is immediate: the HPA's
 * default scale-up rate limits are not modelled, the members' rollout paces itself.
 *
 * Activation is KEDA's: the trigger is active while value > activationTargetValue
 * (default 0). An inactive trigger takes the total to idleReplicaCount, or to 0 when
 * minReplicaCount is 0, once cooldownPeriod (default 300 s) has passed since it was
 * last active. From 0, an active trigger goes straight to ceil(value / targetValue)
 * (KEDA would step through 1 first and let the HPA catch up a poll later).
 *
 * All of it is pure: resourceTriggerOf, totalPolicyOf, desiredTotal, and triggerValueOf
 * (the value in the ConfigMap or Secret) — the clock and the recommendation history are
 * inputs, and the history comes back for the next call. watched-trigger.ts says when to
 * call desiredTotal again; trigger-objects.ts watches the objects; source.ts runs it all.
 */
import { z } from "zod";
import type * as k8s from "@kubernetes/client-node";
import { parseOrThrow } from "../../schema/validate";

export const RESOURCE_TRIGGER_TYPE = "kubernetes-resource";

/** KEDA's defaults for the ScaledObject fields we read. */
export const KEDA_DEFAULT_MIN_REPLICAS = 0;
export const KEDA_DEFAULT_MAX_REPLICAS = 100;
export const KEDA_DEFAULT_COOLDOWN_MS = 300_000;
/** The HPA's defaults. */
export const HPA_DEFAULT_TOLERANCE = 0.1;
export const HPA_DEFAULT_SCALE_DOWN_STABILIZATION_MS = 300_000;
/** The HPA API's upper bound for stabilizationWindowSeconds. */
const MAX_STABILIZATION_SECONDS = 3600;

// ---------------------------------------------------------------------------------------
// Numbers as they are written in trigger metadata and ConfigMaps.

/** Decimal numbers as Go's strconv.ParseFloat takes them (no hex, no Infinity, no "1_000"). */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The number `text` writes, or undefined when it is not one. Surrounding whitespace is allowed. */
export function parseDecimal(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DECIMAL.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

const decimalText = (requirement: string, accept: (n: number) => boolean) =>
  z.string({ error: requirement }).transform((text, ctx) => {
    const value = parseDecimal(text);
    if (value === undefined || !accept(value)) {
      ctx.addIssue({ code: "custom", message: `${requirement}, got ${JSON.stringify(text)}`, input: text });
      return z.NEVER;
    }
    return value;
  });

// ---------------------------------------------------------------------------------------
// The trigger.

export const resourceTriggerMetadataSchema = z.strictObject({
  resourceKind: z.enum(["ConfigMap", "Secret"], { error: 'must be "ConfigMap" or "Secret"' }),
  resourceName: z
    .string({ error: "must name the ConfigMap or Secret" })
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "must be a Kubernetes object name (DNS-1123 subdomain)")
    .max(253),
  key: z
    .string({ error: "must name the key that holds the value" })
    .regex(/^[-._a-zA-Z0-9]+$/, "must be a ConfigMap/Secret key: letters, digits, '-', '_' and '.'")
    .max(253),
  targetValue: decimalText("must be a positive number", (n) => n > 0),
  activationTargetValue: decimalText("must be a number", () => true).optional(),
  // KEDA's json/yaml formats and quantities need its parsers; without KEDA we read plain numbers.
  format: z.literal("number", { error: 'only "number" is evaluated without KEDA in the hub' }).optional(),
  valueType: z.enum(["float64", "int64"], { error: 'only "float64" and "int64" are evaluated without KEDA in the hub' }).optional(),
});

const resourceTriggerSchema = z.looseObject({
  type: z.literal(RESOURCE_TRIGGER_TYPE, {
    error: (issue) => `${JSON.stringify(issue.input)} needs KEDA in the hub; without KEDA only "${RESOURCE_TRIGGER_TYPE}" triggers are evaluated`,
  }),
  metadata: resourceTriggerMetadataSchema,
  metricType: z.literal("AverageValue", { error: 'only "AverageValue" is evaluated without KEDA in the hub' }).optional(),
});

const triggersSchema = z.strictObject({
  triggers: z
    .array(resourceTriggerSchema)
    .min(1, `needs one "${RESOURCE_TRIGGER_TYPE}" trigger`)
    // Several would need the HPA's max-over-metrics; one is what the walkthrough uses.
    .max(1, `only one "${RESOURCE_TRIGGER_TYPE}" trigger is evaluated without KEDA in the hub`),
});

/** A validated kubernetes-resource trigger, numbers parsed and defaults filled in. */
export interface ResourceTrigger {
  resourceKind: "ConfigMap" | "Secret";
  resourceName: string;
  key: string;
  targetValue: number;
  activationTargetValue: number;
  valueType: "float64" | "int64";
}

/**
 * The DSO's trigger, or a ValidationError naming each bad field the way it is written in
 * the DSO (triggers[0].metadata.targetValue: must be a positive number, got "0").
 */
export function resourceTriggerOf(scaledObjectSpec: { triggers?: unknown }): ResourceTrigger {
  const { triggers } = parseOrThrow(triggersSchema, { triggers: scaledObjectSpec.triggers ?? [] }, `${RESOURCE_TRIGGER_TYPE} trigger`);
  const metadata = triggers[0]!.metadata;
  return {
    resourceKind: metadata.resourceKind,
    resourceName: metadata.resourceName,
    key: metadata.key,
    targetValue: metadata.targetValue,
    activationTargetValue: metadata.activationTargetValue ?? 0,
    valueType: metadata.valueType ?? "float64",
  };
}

// ---------------------------------------------------------------------------------------
// The scaling policy: what of the scaledObjectSpec the arithmetic needs.

const count = z.int("must be a whole number").min(0, "must not be negative");

const policySchema = z
  .looseObject({
    minReplicaCount: count.optional(),
    maxReplicaCount: count.min(1, "must be at least 1").optional(),
    idleReplicaCount: count.optional(),
    cooldownPeriod: count.optional(),
    advanced: z
      .looseObject({
        horizontalPodAutoscalerConfig: z
          .looseObject({
            behavior: z
              .looseObject({
                scaleDown: z
                  .looseObject({
                    stabilizationWindowSeconds: count.max(MAX_STABILIZATION_SECONDS, `must be at most ${MAX_STABILIZATION_SECONDS}`).optional(),
                  })
                  .optional(),
              })
              .optional(),
          })
          .optional(),
      })
      .optional(),
  })
  .superRefine((spec, ctx) => {
    const min = spec.minReplicaCount ?? KEDA_DEFAULT_MIN_REPLICAS;
    const max = spec.maxReplicaCount ?? KEDA_DEFAULT_MAX_REPLICAS;
    if (min > max) ctx.addIssue({ code: "custom", message: `must not exceed maxReplicaCount (${max})`, path: ["minReplicaCount"], input: min });
    // KEDA's rule: idle only makes sense below the minimum.
    if (spec.idleReplicaCount !== undefined && spec.idleReplicaCount >= min) {
      ctx.addIssue({ code: "custom", message: `must be less than minReplicaCount (${min})`, path: ["idleReplicaCount"], input: spec.idleReplicaCount });
    }
  });

export interface TotalPolicy {
  min: number;
  max: number;
  /** The total while inactive; undefined: no idle state (minReplicaCount > 0, no idleReplicaCount). */
  idleReplicaCount: number | undefined;
  cooldownMs: number;
  scaleDownStabilizationMs: number;
}

/** The bounds and timings of `scaledObjectSpec`, with KEDA's and the HPA's defaults. */
export function totalPolicyOf(scaledObjectSpec: Record<string, unknown>): TotalPolicy {
  const spec = parseOrThrow(policySchema, scaledObjectSpec, "scaledObjectSpec");
  const min = spec.minReplicaCount ?? KEDA_DEFAULT_MIN_REPLICAS;
  const windowSeconds = spec.advanced?.horizontalPodAutoscalerConfig?.behavior?.scaleDown?.stabilizationWindowSeconds;
  return {
    min,
    max: spec.maxReplicaCount ?? KEDA_DEFAULT_MAX_REPLICAS,
    idleReplicaCount: spec.idleReplicaCount ?? (min === 0 ? 0 : undefined),
    cooldownMs: spec.cooldownPeriod !== undefined ? spec.cooldownPeriod * 1000 : KEDA_DEFAULT_COOLDOWN_MS,
    scaleDownStabilizationMs: windowSeconds !== undefined ? windowSeconds * 1000 : HPA_DEFAULT_SCALE_DOWN_STABILIZATION_MS,
  };
}

// ---------------------------------------------------------------------------------------
// The arithmetic.

/** One past recommendation (before min/max), as the HPA keeps them for stabilization. */
export interface Recommendation {
  /** Epoch milliseconds. */
  at: number;
  total: number;
}

export interface TotalInput {
  value: number;
  targetValue: number;
  /** Active while value > activationTargetValue. Default 0. */
  activationTargetValue?: number;
  /** The total now in force (spec.totalTargetReplicas). */
  currentTotal: number;
  min?: number;
  max?: number;
  /** The total while inactive after cooldown. Default: 0 when min is 0, else no idle state. */
  idleReplicaCount?: number | undefined;
  /** The clock, epoch milliseconds. */
  now: number;
  /** What the previous call returned; [] the first time. */
  history: readonly Recommendation[];
  /** What the previous call returned; undefined the first time. */
  lastActiveAt?: number | undefined;
  tolerance?: number;
  scaleDownStabilizationMs?: number;
  cooldownMs?: number;
}

export interface TotalDecision {
  total: number;
  active: boolean;
  /** Feed back as `history` next time. */
  history: Recommendation[];
  /** Feed back as `lastActiveAt` next time. */
  lastActiveAt: number | undefined;
  /** Why, in words: for logs and the DSO's conditions. */
  reason: string;
}

export function desiredTotal(input: TotalInput): TotalDecision {
  const { value, targetValue, currentTotal, now } = input;
  const min = input.min ?? KEDA_DEFAULT_MIN_REPLICAS;
  const max = input.max ?? KEDA_DEFAULT_MAX_REPLICAS;
  const activation = input.activationTargetValue ?? 0;
  const tolerance = input.tolerance ?? HPA_DEFAULT_TOLERANCE;
  const windowMs = input.scaleDownStabilizationMs ?? HPA_DEFAULT_SCALE_DOWN_STABILIZATION_MS;
  const cooldownMs = input.cooldownMs ?? KEDA_DEFAULT_COOLDOWN_MS;
  const idle = input.idleReplicaCount ?? (min === 0 ? 0 : undefined);

  const active = value > activation;
  const lastActiveAt = active ? now : input.lastActiveAt;
  // Entries from the future (a clock that went back) would pin the total; they are dropped.
  const window = input.history.filter((r) => r.at <= now && now - r.at < windowMs);

  if (!active && idle !== undefined) {
    const coolingUntil = lastActiveAt === undefined ? undefined : lastActiveAt + cooldownMs;
    if (coolingUntil === undefined || now >= coolingUntil) {
      // KEDA takes over from the HPA here; a fresh start needs no memory of the old load.
      return {
        total: idle,
        active,
        history: [],
        lastActiveAt,
        reason: `inactive: value ${value} ≤ activationTargetValue ${activation}${lastActiveAt === undefined ? "" : ` for cooldownPeriod ${cooldownMs / 1000}s`}: ${idle}`,
      };
    }
  }

  // KEDA's HPA never goes below 1: zero is the idle state's, decided above.
  const lowest = Math.max(min, 1);
  const proposed = Math.max(0, Math.ceil(value / targetValue));
  const ratio = currentTotal > 0 ? value / (targetValue * currentTotal) : Number.POSITIVE_INFINITY;
  const withinTolerance = Math.abs(1 - ratio) <= tolerance;
  const recommendation = withinTolerance ? currentTotal : proposed;

  // The HPA's stabilization: up to the recommendation at once, down no further than the
  // highest recommendation of the window.
  const highestInWindow = Math.max(recommendation, ...window.map((r) => r.total));
  const stabilized = currentTotal < recommendation ? recommendation : Math.min(currentTotal, highestInWindow);
  const total = Math.min(max, Math.max(lowest, stabilized));

  const reasons = [
    withinTolerance
      ? `value ${value} is within ${tolerance * 100}% of ${currentTotal} × targetValue ${targetValue}: keeping ${currentTotal}`
      : `ceil(value ${value} / targetValue ${targetValue}) = ${proposed}`,
  ];
  if (stabilized > recommendation) reasons.push(`scale-down held at ${stabilized} by the ${windowMs / 1000}s stabilization window`);
  if (total !== stabilized) reasons.push(`bounded to [${lowest}, ${max}]: ${total}`);
  if (!active) reasons.push(`inactive, cooling down for ${cooldownMs / 1000}s since last active`);
  return { total, active, history: [...window, { at: now, total: recommendation }], lastActiveAt, reason: reasons.join("; ") };
}

// ---------------------------------------------------------------------------------------
// Reading the value.

/** Why a trigger's value could not be read, worded for the DSO's conditions. */
export class TriggerValueError extends Error {
  constructor(
    readonly problem: "NotFound" | "KeyMissing" | "NotANumber" | "Forbidden" | "WatchFailed",
    message: string,
  ) {
    super(message);
    this.name = "TriggerValueError";
  }
}

/**
 * The value as the trigger's valueType reads it; throws TriggerValueError naming where it came
 * from. A Secret's text is never quoted (`secret`): the message lands in the DSO's status, which
 * more people may read than the Secret, and a mistyped key could point at a credential.
 */
export function parseMetricValue(text: string, valueType: ResourceTrigger["valueType"], where: string, secret = false): number {
  const value = parseDecimal(text);
  const shown = secret ? "the value" : JSON.stringify(text);
  if (value === undefined) throw new TriggerValueError("NotANumber", `${where}: ${shown} is not a number`);
  if (valueType === "int64" && !Number.isSafeInteger(value)) {
    throw new TriggerValueError("NotANumber", `${where}: ${shown} is not a whole number (valueType int64)`);
  }
  return value;
}

/** "ConfigMap default/mock-metric": the object a trigger reads, for messages. */
export function triggerObjectName(trigger: Pick<ResourceTrigger, "resourceKind" | "resourceName">, namespace: string): string {
  return `${trigger.resourceKind} ${namespace}/${trigger.resourceName}`;
}

/**
 * The trigger's value in `object` (its ConfigMap or Secret as the hub watch last delivered
 * it; undefined: there is none); throws TriggerValueError naming the object and the key.
 */
export function triggerValueOf(object: k8s.V1ConfigMap | k8s.V1Secret | undefined, trigger: ResourceTrigger, namespace: string): number {
  const name = triggerObjectName(trigger, namespace);
  if (object === undefined) throw new TriggerValueError("NotFound", `${name} not found`);
  let text: string | undefined;
  if (trigger.resourceKind === "ConfigMap") {
    const configMap = object as k8s.V1ConfigMap;
    const binary = configMap.binaryData?.[trigger.key];
    text = configMap.data?.[trigger.key] ?? (binary === undefined ? undefined : Buffer.from(binary, "base64").toString("utf8"));
  } else {
    const encoded = (object as k8s.V1Secret).data?.[trigger.key];
    text = encoded === undefined ? undefined : Buffer.from(encoded, "base64").toString("utf8");
  }
  if (text === undefined) throw new TriggerValueError("KeyMissing", `${name} has no key ${JSON.stringify(trigger.key)}`);
  return parseMetricValue(text, trigger.valueType, `${name} key ${JSON.stringify(trigger.key)}`, trigger.resourceKind === "Secret");
}

/** Why watching the trigger's object failed, as the DSO's condition says it. */
export function watchFailure(status: number | undefined, detail: string, trigger: ResourceTrigger, namespace: string): TriggerValueError {
  const name = triggerObjectName(trigger, namespace);
  if (status === 403) {
    const resource = trigger.resourceKind === "ConfigMap" ? "configmaps" : "secrets";
    return new TriggerValueError("Forbidden", `not allowed to watch ${name} (403): the runtime needs list and watch on ${resource} in ${namespace}`);
  }
  return new TriggerValueError("WatchFailed", `watching ${name} failed (${detail}); retrying, the total is kept meanwhile`);
}
