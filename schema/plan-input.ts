/**
 * From a validated DistributedScaledObject to the engine's inputs. One mapping for the
 * CLI, the provider and the runtime, so they cannot disagree about what a spec means.
 *
 * The engine imports nothing from schema/; this is where the two meet. Pulumi serializes
 * the dynamic provider with every function it calls, this module's included, so it takes
 * only types from the zod schemas, never the schemas themselves.
 */
import { parseDuration } from "../engine/duration";
import type { Observation } from "../engine/health";
import type { MemberInput, PlanPolicy } from "../engine/plan";
import type { DistributedScaledObject, DsoSpec, MemberClusterSpec, RebalancingPolicy } from "./dso";

/** What the engine reads of a member's spec; the provider's flattened members carry the same fields. */
type MemberFields = Pick<MemberClusterSpec, "name" | "weight" | "minReplicas" | "maxReplicas">;

/** The key that decides how ties fall for this workload. */
export function workloadKey(dso: Pick<DistributedScaledObject, "metadata">): string {
  return `${dso.metadata.namespace ?? "default"}/${dso.metadata.name}`;
}

export function policyOf(policy: RebalancingPolicy): PlanPolicy {
  return {
    gracePeriodMs: parseDuration(policy.gracePeriod)!,
    maxRebalancePercentage: policy.maxRebalancePercentage,
  };
}

/** The total the spec declares (where KEDA writes it too), or KEDA's minimum before anything has. */
export function declaredTotal(spec: DsoSpec): number {
  return spec.totalTargetReplicas ?? spec.scaledObjectSpec.minReplicaCount ?? 0;
}

/**
 * The members a DSO distributes over: its own list, or, when the list is empty, every
 * registered member with weight 1 (as Kedify does).
 */
export function memberSpecsOf(spec: DsoSpec, registered: readonly string[]): DsoSpec["memberClusters"] {
  if (spec.memberClusters.length > 0) return spec.memberClusters;
  return [...registered].sort().map((name) => ({ name, weight: 1 }));
}

/** A member as the engine plans it, before it is observed. */
export function engineMemberOf(member: MemberFields): Omit<MemberInput, "observation"> {
  return { name: member.name, weight: member.weight, minReplicas: member.minReplicas, maxReplicas: member.maxReplicas };
}

export function memberInputsOf(members: readonly MemberFields[], observe: (member: string) => Observation): MemberInput[] {
  return members.map((m) => ({ ...engineMemberOf(m), observation: observe(m.name) }));
}
