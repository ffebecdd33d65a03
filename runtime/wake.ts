/**
 * When the plan can change with nothing else happening: a failing member's grace period
 * ends (it is excluded) or a recovering member's probation ends (replicas return). The
 * reconciler sets a timer for the earliest such moment. Pure.
 */
import type { Plan } from "../engine/plan";
import { isFailureState } from "../engine/states";

/** Epoch ms of the next health deadline after `now`, or undefined when none is pending. */
export function nextHealthDeadline(plan: Plan, gracePeriodMs: number, now: number): number | undefined {
  let next: number | undefined;
  for (const m of plan.members) {
    if (!isFailureState(m.state) && m.state !== "Recovering") continue;
    const at = m.since + gracePeriodMs;
    if (at > now && (next === undefined || at < next)) next = at;
  }
  return next;
}
