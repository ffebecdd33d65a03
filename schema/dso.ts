/**
 * The DistributedScaledObject, defined once. Validation, the TypeScript types and
 * (through schema/crd.ts) the CRD's OpenAPI schema all come from these definitions.
 * Field names follow Kedify's DistributedScaledObject so existing manifests carry over.
 */
import { z } from "zod";
import { MAX_REPLICAS } from "../engine/plan";
import { MEMBER_STATES } from "../engine/states";
import { durationString } from "./duration";

import { ACCEPTED_API_VERSIONS, KIND } from "./dso-names";

export { ACCEPTED_API_VERSIONS, API_GROUP, API_VERSION, KIND } from "./dso-names";

/**
 * Cross-field checks run even when another field already failed (unless a value has the
 * wrong type altogether), so one run lists every problem. Their predicates therefore check
 * the types they rely on: the input may be anything.
 */
const always = () => true;

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** DNS-1123 label: what Kubernetes accepts as a namespace or (conservatively) an object name. */
export const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit");

/** Bounds the CRD's validation cost, and is far above any fleet we have heard of. */
export const MAX_MEMBERS = 256;

/** Member names become parts of Secret and ServiceAccount names, hence the shorter limit. */
export const memberName = dnsLabel.max(40);

/**
 * A replica count. Kubernetes keeps them in an int32 (a Deployment's replicas, the scale
 * subresource, KEDA's bounds): a larger one would pass here and fail later, in the API
 * server or the engine, far from the field that caused it. The format tells the API
 * server the same.
 */
export const replicaCount = z
  .int32({ error: (issue) => (issue.code === "too_big" && Number(issue.input) > MAX_REPLICAS ? `must be at most ${MAX_REPLICAS} (replica counts are int32 in Kubernetes)` : undefined) })
  .min(0)
  .meta({ format: "int32" });

/** Said alike by our validation, the CRD's rule in the API server and the stack config. */
export const ALL_WEIGHTS_ZERO = "at least one member needs a weight above 0: weight 0 drains a member, and with every member drained the replicas have nowhere to run";

export const memberClusterSchema = z
  .strictObject({
    name: memberName,
    // 0 drains the member while keeping it in the fleet (before maintenance, say).
    weight: z.int().min(0).max(1_000_000).default(1),
    targetNamespace: dnsLabel.optional(),
    minReplicas: replicaCount.optional(),
    maxReplicas: replicaCount.optional(),
  })
  .refine((m) => !(isObject(m) && typeof m.minReplicas === "number" && typeof m.maxReplicas === "number" && m.minReplicas > m.maxReplicas), {
    message: "minReplicas must not exceed maxReplicas",
    path: ["minReplicas"],
    when: always,
  })
  // The same rule, enforced by the API server on the CRD.
  .meta({
    "x-kubernetes-validations": [
      { rule: "!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas", message: "minReplicas must not exceed maxReplicas", fieldPath: ".minReplicas" },
    ],
  });

export const rebalancingPolicySchema = z.strictObject({
  gracePeriod: durationString.default("1m"),
  maxRebalancePercentage: z.int().min(1).max(100).default(50),
});

const triggerSchema = z.strictObject({
  type: z.string().min(1),
  name: z.string().optional(),
  metadata: z.record(z.string(), z.string()),
  metricType: z.enum(["AverageValue", "Value", "Utilization"]).optional(),
  useCachedMetrics: z.boolean().optional(),
  authenticationRef: z.strictObject({ name: z.string().min(1), kind: z.string().optional() }).optional(),
});

export const scaledObjectSpecSchema = z
  .strictObject({
    scaleTargetRef: z.strictObject({
      name: dnsLabel,
      kind: z.enum(["Deployment", "StatefulSet"]).default("Deployment"),
      apiVersion: z.literal("apps/v1").default("apps/v1"),
      envSourceContainerName: z.string().optional(),
    }),
    pollingInterval: z.int().min(1).optional(),
    cooldownPeriod: z.int().min(0).optional(),
    initialCooldownPeriod: z.int().min(0).optional(),
    idleReplicaCount: replicaCount.optional(),
    minReplicaCount: replicaCount.optional(),
    maxReplicaCount: replicaCount.min(1).optional(),
    // KEDA's fallback and advanced blocks are passed to KEDA as they are; KEDA validates them.
    fallback: z.looseObject({}).optional(),
    advanced: z.looseObject({}).optional(),
    triggers: z.array(triggerSchema).max(32).default([]),
  })
  .refine(
    (s) => !(isObject(s) && typeof s.minReplicaCount === "number" && typeof s.maxReplicaCount === "number" && s.minReplicaCount > s.maxReplicaCount),
    { message: "minReplicaCount must not exceed maxReplicaCount", path: ["minReplicaCount"], when: always },
  );

export const dsoSpecSchema = z.strictObject({
  memberClusters: z
    .array(memberClusterSchema)
    .max(MAX_MEMBERS)
    // The API server rejects duplicate names through the list-map keys, and all weights 0 by the rule.
    .meta({
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
      "x-kubernetes-validations": [{ rule: "self.size() == 0 || self.exists(m, !has(m.weight) || m.weight > 0)", message: ALL_WEIGHTS_ZERO }],
    })
    .default([])
    .check(
      z.superRefine((members, ctx) => {
        if (!Array.isArray(members)) return;
        const seen = new Set<unknown>();
        members.forEach((member, index) => {
          const name = (member as { name?: unknown } | null)?.name;
          if (typeof name === "string" && seen.has(name)) {
            ctx.addIssue({ code: "custom", message: `duplicate member name "${name}"`, path: [index, "name"], input: name });
          }
          seen.add(name);
        });
        if (allWeightsZero(members)) ctx.addIssue({ code: "custom", message: ALL_WEIGHTS_ZERO, input: members });
      }, { when: always }),
    ),
  rebalancingPolicy: rebalancingPolicySchema.prefault({}),
  scaledObjectSpec: scaledObjectSpecSchema,
  totalTargetReplicas: replicaCount.optional(),
});

/** An empty list means every registered member at weight 1, so only a non-empty list can be all 0. */
export function allWeightsZero(members: readonly unknown[]): boolean {
  return members.length > 0 && members.every((m) => isObject(m) && m.weight === 0);
}

export const memberClusterStatusSchema = z.strictObject({
  id: z.string(),
  state: z.enum(MEMBER_STATES),
  description: z.string(),
  currentReplicas: z.int().min(0),
  desiredReplicas: z.int().min(0),
  excluded: z.boolean(),
  lastStatusChangeTime: z.iso.datetime(),
  /**
   * Exclusions in a row: each one lengthens the next probation. Dropped at the member's next
   * failure if it stayed healthy long enough in between to be trusted afresh.
   */
  consecutiveFailures: z.int().min(1).optional(),
});

export const conditionSchema = z.strictObject({
  type: z.string(),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: z.iso.datetime(),
  observedGeneration: z.int().min(0).optional(),
});

export const dsoStatusSchema = z.strictObject({
  membersHealthyCount: z.int().min(0).optional(),
  membersTotalCount: z.int().min(0).optional(),
  totalCurrentReplicas: z.int().min(0).optional(),
  selector: z.string().optional(),
  observedGeneration: z.int().min(0).optional(),
  conditions: z.array(conditionSchema).optional(),
  memberClusterStatuses: z.record(z.string(), memberClusterStatusSchema).optional(),
});

export const dsoSchema = z.strictObject({
  apiVersion: z.enum(ACCEPTED_API_VERSIONS),
  kind: z.literal(KIND),
  // ObjectMeta is Kubernetes' own; only the fields we rely on are checked.
  metadata: z.looseObject({ name: dnsLabel, namespace: dnsLabel.optional() }),
  spec: dsoSpecSchema,
  status: dsoStatusSchema.optional(),
});

export type MemberClusterSpec = z.output<typeof memberClusterSchema>;
export type RebalancingPolicy = z.output<typeof rebalancingPolicySchema>;
export type ScaledObjectSpec = z.output<typeof scaledObjectSpecSchema>;
export type DsoSpec = z.output<typeof dsoSpecSchema>;
/** A DSO spec as written, before defaults are filled. */
export type DsoSpecInput = z.input<typeof dsoSpecSchema>;
export type DsoStatus = z.output<typeof dsoStatusSchema>;
export type MemberClusterStatus = z.output<typeof memberClusterStatusSchema>;
export type DistributedScaledObject = z.output<typeof dsoSchema>;
