/**
 * Where a plan ends up at a fixed moment if every replica the steps ask for becomes
 * ready: the steady state an operator asks about before changing weights, and the
 * per-member numbers `pulumi preview` shows.
 */
import type { Observation } from "./health";
import { type Plan, type PlanInput, plan, recordsOf } from "./plan";

export interface Settled {
  plan: Plan;
  /** Every intermediate step, the first one included. */
  steps: Plan[];
}

export function settle(input: PlanInput, maxSteps = 1_000): Settled {
  const steps: Plan[] = [];
  let current = input;
  for (let step = 0; step < maxSteps; step++) {
    const result = plan(current);
    steps.push(result);
    const records = recordsOf(result);
    const unchanged = result.members.every((m) => current.previous[m.name]?.desiredReplicas === m.desiredReplicas);
    if (result.converged && unchanged) return { plan: result, steps };
    current = {
      ...current,
      previousTotalReplicas: current.totalReplicas,
      previous: records,
      members: current.members.map((m) => ({ ...m, observation: readyAt(m.observation, records[m.name]!.desiredReplicas) })),
    };
  }
  throw new Error(`plan for ${input.workload} did not settle within ${maxSteps} steps`);
}

function readyAt(observation: Observation, replicas: number): Observation {
  return observation.healthy ? { healthy: true, readyReplicas: replicas, currentReplicas: replicas } : observation;
}
