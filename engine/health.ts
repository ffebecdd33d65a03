/**
 * Member health over time. A failing member first keeps its replicas for the grace
 * period (a blip moves nothing), then is excluded. When it answers again it must stay
 * healthy for a whole grace period (probation) before replicas return to it; failing
 * again during recovery excludes it at once. Those two rules are the hysteresis: a
 * member flapping faster than the grace period never triggers a move, one flapping
 * slower triggers at most one exclusion per outage and never ping-pongs replicas.
 */
import { type FailureState, type MemberState, isFailureState } from "./states";

/** What the member looked like when it was last asked. */
export type Observation =
  | { healthy: true; readyReplicas: number; currentReplicas: number }
  | { healthy: false; failure: FailureState; message: string };

/** What the engine remembers of a member between plans (persisted in DSO status). */
export interface MemberRecord {
  state: MemberState;
  /** Epoch ms of the last state change (status.lastStatusChangeTime). */
  since: number;
  desiredReplicas: number;
}

export interface HealthStep {
  state: MemberState;
  since: number;
}

/** The member's state now, from its previous record and the latest observation. */
export function nextHealth(previous: MemberRecord | undefined, observation: Observation, now: number, gracePeriodMs: number): HealthStep {
  if (!observation.healthy) {
    if (previous === undefined || previous.state === "Ready") return { state: observation.failure, since: now };
    if (isFailureState(previous.state)) {
      return now - previous.since >= gracePeriodMs
        ? { state: "Excluded", since: now }
        : { state: observation.failure, since: previous.since };
    }
    if (previous.state === "Recovering") return { state: "Excluded", since: now };
    return { state: "Excluded", since: previous.since };
  }
  if (previous === undefined || isFailureState(previous.state)) return { state: "Ready", since: now };
  if (previous.state === "Excluded") return { state: "Recovering", since: now };
  return { state: previous.state, since: previous.since };
}

/** A recovering member gets replicas back only once it has been healthy for a grace period. */
export function inProbation(health: HealthStep, now: number, gracePeriodMs: number): boolean {
  return health.state === "Recovering" && now - health.since < gracePeriodMs;
}
