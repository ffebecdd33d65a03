/**
 * From a validated DistributedScaledObject to the engine's inputs. One mapping for the
 * CLI, the provider and the runtime, so they cannot disagree about what a spec means.
 */
import type { DistributedScaledObject, DsoSpec } from "../schema/dso";
import { parseDuration } from "./duration";
import type { Observation } from "./health";
import type { MemberInput, PlanPolicy } from "./plan";

/** The key that decides how ties fall for this workload. */
export function workloadKey(dso: Pick<DistributedScaledObject, "metadata">): string {
  return `${dso.metadata.namespace ?? "default"}/${dso.metadata.name}`;
}

export function policyOf(spec: DsoSpec): PlanPolicy {
  return {
    gracePeriodMs: parseDuration(spec.rebalancingPolicy.gracePeriod)!,
    maxRebalancePercentage: spec.rebalancingPolicy.maxRebalancePercentage,
  };
}

/**
 * The members a DSO distributes over: its own list, or, when the list is empty, every
 * registered member with weight 1 (as Kedify does).
 */
export function memberSpecsOf(spec: DsoSpec, registered: readonly string[]): DsoSpec["memberClusters"] {
  if (spec.memberClusters.length > 0) return spec.memberClusters;
  return [...registered].sort().map((name) => ({ name, weight: 1 }));
}

export function memberInputsOf(
  spec: DsoSpec,
  registered: readonly string[],
  observe: (member: string) => Observation,
): MemberInput[] {
  return memberSpecsOf(spec, registered).map((m) => ({
    name: m.name,
    weight: m.weight,
    minReplicas: m.minReplicas,
    maxReplicas: m.maxReplicas,
    observation: observe(m.name),
  }));
}
