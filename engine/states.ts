/**
 * Member states, as the engine computes them and as they appear in
 * DistributedScaledObject status. The failure states name what went wrong
 * while the member is still inside its grace period. Draining and Drained are a
 * healthy member with weight 0: on its way to no replicas, and there.
 */
export const FAILURE_STATES = ["Unreachable", "Unauthorized", "WorkloadMissing", "NotReady"] as const;
export const MEMBER_STATES = ["Ready", ...FAILURE_STATES, "Excluded", "Recovering", "Draining", "Drained"] as const;

export type FailureState = (typeof FAILURE_STATES)[number];
export type MemberState = (typeof MEMBER_STATES)[number];

/** A member that answers and takes part: Ready, or Ready with weight 0 (Draining, Drained). */
export function isHealthyState(state: MemberState): boolean {
  return state === "Ready" || isDrainState(state);
}

export function isDrainState(state: MemberState): boolean {
  return state === "Draining" || state === "Drained";
}

export function isFailureState(state: MemberState): state is FailureState {
  return (FAILURE_STATES as readonly string[]).includes(state);
}
