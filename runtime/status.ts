/**
 * DistributedScaledObject status: from a reconcile step to what `kubectl get dso` shows,
 * and back from status to the engine's records, so a restarted (or newly elected)
 * runtime resumes grace periods and recoveries where they stood. Pure.
 */
import type { MemberRecord, Observation } from "../engine/health";
import type { Plan } from "../engine/plan";
import { isHealthyState } from "../engine/states";
import { type DsoStatus, type MemberClusterStatus, memberClusterStatusSchema } from "../schema/dso";
import type { ValidationError } from "../schema/validate";

type Condition = NonNullable<DsoStatus["conditions"]>[number];
/** A condition as computed; its lastTransitionTime comes from the previous status. */
export type ConditionInput = Omit<Condition, "lastTransitionTime">;

export interface StatusInput {
  generation: number | undefined;
  plan: Plan;
  observations: Readonly<Record<string, Observation>>;
  /** Member name -> which credentials reach it (see MemberConnection.id). */
  ids: Readonly<Record<string, string>>;
  selector: string | undefined;
  previous: DsoStatus | undefined;
  now: number;
  /** Said by the total's source (the built-in trigger's TriggerReady), after Ready and Active. */
  totalConditions?: readonly ConditionInput[];
}

export function statusOf(input: StatusInput): DsoStatus {
  const { plan, observations, previous } = input;
  const memberClusterStatuses: Record<string, MemberClusterStatus> = {};
  for (const m of plan.members) {
    const observation = observations[m.name];
    memberClusterStatuses[m.name] = {
      id: input.ids[m.name] ?? "",
      state: m.state,
      description: m.description,
      currentReplicas: currentOf(m.name, m.excluded, observation, previous),
      desiredReplicas: m.desiredReplicas,
      excluded: m.excluded,
      // Milliseconds kept: grace periods resume from this after a restart.
      lastStatusChangeTime: new Date(m.since).toISOString(),
    };
    // Kept across restarts and leader changes, so a flapping member's probation keeps growing.
    if (m.failures) memberClusterStatuses[m.name]!.consecutiveFailures = m.failures;
  }
  const statuses = Object.values(memberClusterStatuses);
  const status: DsoStatus = {
    membersHealthyCount: plan.members.filter((m) => observations[m.name]?.healthy).length,
    membersTotalCount: plan.members.length,
    totalCurrentReplicas: statuses.reduce((sum, s) => sum + s.currentReplicas, 0),
    memberClusterStatuses,
  };
  if (input.selector !== undefined) status.selector = input.selector;
  if (input.generation !== undefined) status.observedGeneration = input.generation;
  status.conditions = withTransitionTimes([readyCondition(plan, observations), activeCondition(plan.totalReplicas), ...(input.totalConditions ?? [])], previous, input.now);
  return status;
}

/** An invalid spec moves nothing: status keeps what it showed and says why, naming every bad field. */
export function invalidSpecStatus(previous: DsoStatus | undefined, generation: number | undefined, error: ValidationError, now: number): DsoStatus {
  const message = error.problems.map((p) => `${p.path}: ${p.message}`).join("; ");
  const status: DsoStatus = { ...previous };
  if (generation !== undefined) status.observedGeneration = generation;
  status.conditions = withTransitionTimes(
    [
      { type: "Ready", status: "False", reason: "InvalidSpec", message },
      { type: "Active", status: "Unknown", reason: "InvalidSpec", message: "no replicas are moved while the spec is invalid" },
    ],
    previous,
    now,
  );
  return status;
}

/** The engine's records as the last status left them; entries that do not parse are ignored. */
export function recordsFromStatus(status: unknown): Record<string, MemberRecord> {
  const entries = (status as { memberClusterStatuses?: unknown } | undefined)?.memberClusterStatuses;
  if (typeof entries !== "object" || entries === null) return {};
  const records: Record<string, MemberRecord> = {};
  for (const [member, entry] of Object.entries(entries)) {
    const parsed = memberClusterStatusSchema.safeParse(entry);
    if (!parsed.success) continue;
    const record: MemberRecord = { state: parsed.data.state, since: Date.parse(parsed.data.lastStatusChangeTime), desiredReplicas: parsed.data.desiredReplicas };
    if (parsed.data.consecutiveFailures) record.failures = parsed.data.consecutiveFailures;
    records[member] = record;
  }
  return records;
}

/** Equality as the API server stores it: key order does not matter. */
export function sameStatus(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/**
 * As the engine counts them: a member failing within its grace period keeps what it last
 * had (its pods most likely still run); an excluded member's replicas have been replaced
 * elsewhere and no longer count toward the total.
 */
function currentOf(member: string, excluded: boolean, observation: Observation | undefined, previous: DsoStatus | undefined): number {
  if (observation?.healthy) return observation.currentReplicas;
  if (excluded) return 0;
  return previous?.memberClusterStatuses?.[member]?.currentReplicas ?? 0;
}

function readyCondition(plan: Plan, observations: Readonly<Record<string, Observation>>): ConditionInput {
  if (plan.members.length === 0) return { type: "Ready", status: "False", reason: "NoMembers", message: "no member clusters are registered or listed" };
  const unhealthy = plan.members.filter((m) => !isHealthyState(m.state));
  if (unhealthy.length > 0) {
    return { type: "Ready", status: "False", reason: "MembersUnhealthy", message: unhealthy.map((m) => `${m.name}: ${m.state}: ${m.description}`).join("; ") };
  }
  if (!plan.converged) return { type: "Ready", status: "False", reason: "Rebalancing", message: [...plan.notes, "moving toward the weighted shares"].join("; ") };
  const short = plan.members.filter((m) => {
    const observation = observations[m.name];
    return observation?.healthy && observation.readyReplicas < m.desiredReplicas;
  });
  if (short.length > 0) {
    const detail = short.map((m) => {
      const observation = observations[m.name] as Extract<Observation, { healthy: true }>;
      return `${m.name} has ${observation.readyReplicas} of ${m.desiredReplicas} ready`;
    });
    return { type: "Ready", status: "False", reason: "ReplicasNotReady", message: detail.join("; ") };
  }
  return { type: "Ready", status: "True", reason: "Converged", message: `${plan.members.length} members healthy; ${plan.totalReplicas} replicas placed by weight and ready` };
}

function activeCondition(total: number): ConditionInput {
  return total > 0
    ? { type: "Active", status: "True", reason: "ScaledUp", message: `${total} replicas across the fleet` }
    : { type: "Active", status: "False", reason: "ScaledToZero", message: "the total is 0" };
}

/** A condition's lastTransitionTime moves only when its status does. */
function withTransitionTimes(conditions: ConditionInput[], previous: DsoStatus | undefined, now: number): Condition[] {
  return conditions.map((c) => {
    const before = previous?.conditions?.find((p) => p.type === c.type);
    return { ...c, lastTransitionTime: before?.status === c.status ? before.lastTransitionTime : new Date(now).toISOString() };
  });
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}
