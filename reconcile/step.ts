/**
 * One reconcile step for one workload: observe every member, plan with the engine,
 * write the replicas that changed (scale-ups first, then scale-downs). The provider
 * repeats steps until the plan converges; the runtime runs one step per event or tick.
 * Members are called in parallel and their errors kept apart: a failing member never
 * stops the others from being observed or written, and never lowers them.
 */
import type { MemberRecord, Observation } from "../engine/health";
import { type MemberInput, type Plan, type PlanPolicy, plan } from "../engine/plan";
import { MemberError, type WorkloadRef, type WorkloadReplicas } from "../members/client";
import { fanOut } from "../members/fan-out";

/**
 * How a step sees and moves a member's workload. The provider reads live through the
 * member client; the runtime answers reads from its watch caches and probe results.
 */
export interface MemberAccess {
  readReplicas(ref: WorkloadRef): Promise<WorkloadReplicas>;
  scale(ref: WorkloadRef, replicas: number): Promise<void>;
}

export interface MemberTarget {
  /** Name, weight and bounds, as the engine takes them (observation excluded). */
  spec: Omit<MemberInput, "observation">;
  /** The workload in this member. */
  ref: WorkloadRef;
  /** Access to the member, or why there is none (bad kubeconfig, missing Secret). */
  access: MemberAccess | MemberError;
}

export interface StepInput {
  workload: string;
  totalReplicas: number;
  previousTotalReplicas?: number | undefined;
  policy: PlanPolicy;
  previous: Readonly<Record<string, MemberRecord>>;
  members: readonly MemberTarget[];
  now: number;
}

export interface MemberWrite {
  member: string;
  from: number;
  to: number;
  error?: MemberError;
}

export interface StepResult {
  plan: Plan;
  observations: Record<string, Observation>;
  /** spec.replicas as each reachable member had it before this step's writes. */
  specReplicas: Record<string, number>;
  writes: MemberWrite[];
}

export async function reconcileStep(input: StepInput): Promise<StepResult> {
  const names = input.members.map((m) => m.spec.name);
  const byName = new Map(input.members.map((m) => [m.spec.name, m]));
  const reads = await fanOut(names, async (name) => {
    const member = byName.get(name)!;
    if (member.access instanceof MemberError) throw member.access;
    return member.access.readReplicas(member.ref);
  });

  const observations: Record<string, Observation> = {};
  const specReplicas: Record<string, number> = {};
  for (const read of reads) {
    if (read.ok) {
      observations[read.member] = {
        healthy: true,
        readyReplicas: read.value.readyReplicas,
        currentReplicas: read.value.currentReplicas,
        specReplicas: read.value.desired,
      };
      specReplicas[read.member] = read.value.desired;
    } else {
      observations[read.member] = read.error.toObservation();
    }
  }

  const result = plan({
    workload: input.workload,
    totalReplicas: input.totalReplicas,
    previousTotalReplicas: input.previousTotalReplicas,
    policy: input.policy,
    previous: input.previous,
    now: input.now,
    members: input.members.map((m) => ({ ...m.spec, observation: observations[m.spec.name]! })),
  });

  // Only members we could read are written: an unreachable member's replicas stay as they are.
  const changes = result.members.filter((m) => specReplicas[m.name] !== undefined && specReplicas[m.name] !== m.desiredReplicas);
  const ups = changes.filter((m) => m.desiredReplicas > specReplicas[m.name]!);
  const downs = changes.filter((m) => m.desiredReplicas < specReplicas[m.name]!);
  const writes: MemberWrite[] = [];
  for (const batch of [ups, downs]) {
    const outcomes = await fanOut(batch.map((m) => m.name), (name) => {
      const member = byName.get(name)!;
      return (member.access as MemberAccess).scale(member.ref, result.members.find((m) => m.name === name)!.desiredReplicas);
    });
    outcomes.forEach((outcome, i) => {
      const change = batch[i]!;
      const write: MemberWrite = { member: change.name, from: specReplicas[change.name]!, to: change.desiredReplicas };
      if (!outcome.ok) write.error = outcome.error;
      writes.push(write);
    });
  }
  return { plan: result, observations, specReplicas, writes };
}
