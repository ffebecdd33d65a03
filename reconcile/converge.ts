/**
 * Repeats reconcile steps until nothing more can move now: the plan has converged and
 * the replicas it asked for are ready, or what is left waits on a member that is
 * failing (grace period, exclusion). Waiting for readiness is bounded; past the
 * deadline the error names each member still short of ready replicas.
 */
import type { MemberRecord } from "../engine/health";
import { recordsOf } from "../engine/plan";
import { FleetError } from "../members/fan-out";
import { type StepInput, type StepResult, reconcileStep } from "./step";

export interface ConvergeOptions {
  timeoutMs: number;
  pollMs?: number;
  clock?: () => number;
  /**
   * Asked between steps: true when another writer has taken over (a runtime started leading),
   * and converge stops writing at once, so the two never write in turn.
   */
  takenOver?: () => Promise<boolean>;
}

export interface Converged {
  last: StepResult;
  steps: StepResult[];
  records: Record<string, MemberRecord>;
  /** Stopped because takenOver() said so: what is left is the other writer's. */
  takenOver: boolean;
}

export async function converge(input: Omit<StepInput, "now">, options: ConvergeOptions): Promise<Converged> {
  const clock = options.clock ?? Date.now;
  const deadline = clock() + options.timeoutMs;
  const steps: StepResult[] = [];
  let previous = input.previous;
  let previousTotal = input.previousTotalReplicas;
  for (;;) {
    const step = await reconcileStep({ ...input, previous, previousTotalReplicas: previousTotal, now: clock() });
    steps.push(step);
    previous = recordsOf(step.plan);
    previousTotal = input.totalReplicas;

    const failedWrites = step.writes.flatMap((w) => (w.error ? [w.error] : []));
    if (failedWrites.length > 0) throw new FleetError("scaling", failedWrites);

    const waiting = notReadyYet(step);
    if (step.writes.length === 0 && waiting.length === 0) return { last: step, steps, records: previous, takenOver: false };
    if (clock() > deadline) {
      throw new Error(
        `replicas not ready after ${Math.round(options.timeoutMs / 1000)}s: ${waiting.map((w) => `${w.member} has ${w.ready} of ${w.desired} ready`).join("; ") || "plan still moving"}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
    if (await options.takenOver?.()) return { last: step, steps, records: previous, takenOver: true };
  }
}

/** Healthy members whose ready replicas (as observed at the start of the step) fall short of the plan. */
function notReadyYet(step: StepResult): { member: string; ready: number; desired: number }[] {
  return step.plan.members.flatMap((m) => {
    const observation = step.observations[m.name];
    if (!observation?.healthy || observation.readyReplicas >= m.desiredReplicas) return [];
    return [{ member: m.name, ready: observation.readyReplicas, desired: m.desiredReplicas }];
  });
}
