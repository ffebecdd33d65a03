/**
 * Member health over time. A failing member first keeps its replicas for the grace
 * period (a blip moves nothing), then is excluded. When it answers again it is on
 * probation: it keeps what it runs but gets nothing back until it has stayed healthy for
 * the whole probation; failing again during probation or recovery excludes it at once.
 *
 * Probation grows with repeated failures, in the spirit of CrashLoopBackOff: the first
 * lasts one grace period; each further exclusion doubles it (from at least 10 s), up to
 * 16 times that unit; a member that then stays healthy for that cap is trusted afresh
 * (its count is dropped when it next fails).
 * That bounds what a flapping member can cost, whatever its period (see README, "Flapping").
 */
import { type FailureState, type MemberState, isFailureState, isHealthyState } from "./states";

/** What the member looked like when it was last asked. */
export type Observation =
  | {
      healthy: true;
      readyReplicas: number;
      currentReplicas: number;
      /** The workload's spec.replicas in the member, when known: what a returning member runs of its own. */
      specReplicas?: number | undefined;
    }
  | {
      healthy: false;
      failure: FailureState;
      message: string;
      /** Ready replicas, when the member answered but failed (NotReady): they still serve. */
      readyReplicas?: number | undefined;
    };

/** What the engine remembers of a member between plans (persisted in DSO status). */
export interface MemberRecord {
  state: MemberState;
  /** Epoch ms of the last state change (status.lastStatusChangeTime). */
  since: number;
  desiredReplicas: number;
  /** Exclusions since the member last stayed healthy for a long stretch; lengthens probation. */
  failures?: number | undefined;
  /**
   * A move toward this member in progress: replicas raised by, when, and how many were ready
   * before, so replicas that were unready already (a broken pod) are not taken for the move.
   */
  rising?: { replicas: number; since: number; readyBefore: number } | undefined;
}

export interface HealthStep {
  state: MemberState;
  since: number;
  failures: number;
}

/** The smallest doubling unit: a grace period of 0 must not make probation free. */
const MIN_PROBATION_UNIT_MS = 10_000;
/** Probation stops doubling at this many units; this long healthy forgives every failure. */
const PROBATION_CAP_UNITS = 16;

function probationUnit(gracePeriodMs: number): number {
  return Math.max(gracePeriodMs, MIN_PROBATION_UNIT_MS);
}

/** How long a member excluded `failures` times in a row must stay healthy before replicas return. */
export function probationMs(failures: number, gracePeriodMs: number): number {
  if (failures <= 1) return gracePeriodMs;
  const unit = probationUnit(gracePeriodMs);
  return unit * Math.min(2 ** (failures - 1), PROBATION_CAP_UNITS);
}

/** How long a readmitted member must stay healthy before its failures are forgotten. */
export function forgivenAfterMs(gracePeriodMs: number): number {
  return probationUnit(gracePeriodMs) * PROBATION_CAP_UNITS;
}

/** The member's state now, from its previous record and the latest observation. */
export function nextHealth(previous: MemberRecord | undefined, observation: Observation, now: number, gracePeriodMs: number): HealthStep {
  const failures = previous?.failures ?? 0;
  if (!observation.healthy) {
    if (previous === undefined || isHealthyState(previous.state)) {
      // Forgiven when it fails again after a long healthy stretch, not while it stays healthy:
      // time alone then changes nothing the status shows, so it causes no status write.
      const forgiven = previous !== undefined && now - previous.since >= forgivenAfterMs(gracePeriodMs);
      return { state: observation.failure, since: now, failures: forgiven ? 0 : failures };
    }
    if (isFailureState(previous.state)) {
      return now - previous.since >= gracePeriodMs
        ? { state: "Excluded", since: now, failures: failures + 1 }
        : { state: observation.failure, since: previous.since, failures };
    }
    if (previous.state === "Recovering") return { state: "Excluded", since: now, failures: failures + 1 };
    return { state: "Excluded", since: previous.since, failures };
  }
  if (previous === undefined) return { state: "Ready", since: now, failures: 0 };
  if (isFailureState(previous.state)) return { state: "Ready", since: now, failures };
  if (previous.state === "Excluded") return { state: "Recovering", since: now, failures };
  // Ready, Recovering, Draining and Drained hold while the member stays healthy.
  return { state: previous.state, since: previous.since, failures };
}

/** A recovering member gets replicas back only once it has been healthy for its probation. */
export function inProbation(health: HealthStep, now: number, gracePeriodMs: number): boolean {
  return health.state === "Recovering" && now - health.since < probationMs(health.failures, gracePeriodMs);
}
