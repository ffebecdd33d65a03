/**
 * Drives the planning step over simulated time: members fail and return on a
 * schedule, and replicas a step asks for become ready one step later. Used by the
 * engine's property tests and by the benchmarks; pure like the engine itself.
 */
import type { Observation } from "./health";
import { type Plan, type PlanInput, type PlanPolicy, plan, recordsOf } from "./plan";

export interface SimulatedMember {
  name: string;
  weight: number;
  minReplicas?: number;
  maxReplicas?: number;
}

export interface Scenario {
  workload: string;
  members: readonly SimulatedMember[];
  policy: PlanPolicy;
  steps: number;
  stepMs: number;
  totalAt: (now: number) => number;
  healthyAt: (member: string, now: number) => boolean;
}

export interface SimulatedStep {
  now: number;
  input: PlanInput;
  result: Plan;
}

export function simulate(scenario: Scenario): SimulatedStep[] {
  const history: SimulatedStep[] = [];
  let previous: PlanInput["previous"] = {};
  let previousTotal: number | undefined;
  // Ready replicas per member: what the previous step asked for, once a step has passed.
  const ready = new Map<string, number>();
  for (let step = 0; step < scenario.steps; step++) {
    const now = step * scenario.stepMs;
    const input: PlanInput = {
      workload: scenario.workload,
      totalReplicas: scenario.totalAt(now),
      previousTotalReplicas: previousTotal,
      policy: scenario.policy,
      previous,
      now,
      members: scenario.members.map((m) => ({ ...m, observation: observe(scenario.healthyAt(m.name, now), ready.get(m.name) ?? 0) })),
    };
    const result = plan(input);
    history.push({ now, input, result });
    for (const m of result.members) {
      // An unreachable member's pods may still run, but nobody can count on them.
      ready.set(m.name, scenario.healthyAt(m.name, now) ? m.desiredReplicas : 0);
    }
    previous = recordsOf(result);
    previousTotal = input.totalReplicas;
  }
  return history;
}

function observe(healthy: boolean, ready: number): Observation {
  return healthy
    ? { healthy: true, readyReplicas: ready, currentReplicas: ready }
    : { healthy: false, failure: "Unreachable", message: "connect ECONNREFUSED" };
}
