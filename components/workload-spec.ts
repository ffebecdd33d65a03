/**
 * The DSO spec a configured workload becomes. A workload that names no members is spread
 * over the whole fleet, each member weighted as the member config says; the list is
 * written out so the hub's DSO shows exactly what the runtime schedules over.
 */
import type { DsoSpec } from "../schema/dso";
import type { WorkloadConfig } from "../schema/stack-config";

export function dsoSpecForWorkload(workload: WorkloadConfig, members: Record<string, { weight: number }>): DsoSpec {
  const { namespace: _hubNamespace, ...spec } = workload;
  if (spec.memberClusters.length > 0) return spec;
  return { ...spec, memberClusters: Object.entries(members).map(([name, member]) => ({ name, weight: member.weight })) };
}
