/**
 * When the plan can change with nothing else happening: a failing member's grace period
 * ends (it is excluded), a recovering member's probation ends (replicas return), or a move
 * stops waiting for replicas that never became ready. The reconciler sets a timer for the
 * earliest such moment. Pure.
 */
import { probationMs } from "../engine/health";
import { type Plan, readinessDeadlineMs } from "../engine/plan";
import { isFailureState } from "../engine/states";

/** Epoch ms of the next health deadline after `now`, or undefined when none is pending. */
export function nextHealthDeadline(plan: Plan, gracePeriodMs: number, now: number): number | undefined {
  let next: number | undefined;
  const consider = (at: number) => {
    if (at > now && (next === undefined || at < next)) next = at;
  };
  for (const m of plan.members) {
    if (isFailureState(m.state)) consider(m.since + gracePeriodMs);
    if (m.state === "Recovering") consider(m.since + probationMs(m.failures ?? 0, gracePeriodMs));
    // A pod that never becomes ready sends no event: wake when moves stop waiting for it.
    if (m.rising) consider(m.rising.since + readinessDeadlineMs(gracePeriodMs));
  }
  return next;
}
