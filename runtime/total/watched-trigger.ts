/**
 * desiredTotal (resource-trigger.ts) driven by a watch instead of a poll. Pure.
 *
 * KEDA and the HPA sample the value every pollingInterval / 15 s; here the value is known
 * at every moment, because the runtime watches the ConfigMap or Secret and evaluates on
 * each change. Three things follow:
 * - What was true until now still counts now: the previous recommendation was in force, and
 *   an active trigger was active, right up to the event that changed them. A poll would
 *   have recorded both at its last sample before the change; carriedForward records them
 *   at the moment of the change, which is the limit of polling ever more often. Without it
 *   a value that dropped after a quiet spell would scale down too early (the window would
 *   hold only the recommendation made when the high value arrived).
 * - The history no longer grows with time but with events, so it is compacted: an entry
 *   with a later entry at least as high can never be the window's highest (the later one
 *   stays in the window longer), and dropping it changes no decision.
 * - Nothing happens between events, so the time-based transitions (a scale-down held by the
 *   stabilization window, the end of cooldownPeriod) need a timer: nextTimedChange is the
 *   earliest moment at which the same value can give a different decision.
 */
import {
  HPA_DEFAULT_SCALE_DOWN_STABILIZATION_MS,
  KEDA_DEFAULT_COOLDOWN_MS,
  KEDA_DEFAULT_MIN_REPLICAS,
  type Recommendation,
  type TotalDecision,
  type TotalInput,
} from "./resource-trigger";

/** What is kept between evaluations of one DSO's trigger. */
export interface TriggerMemory {
  history: readonly Recommendation[];
  lastActiveAt: number | undefined;
  /** Whether the value was active at the last evaluation. */
  active: boolean;
}

/** The history and lastActiveAt to evaluate with at `now`, the state since the last evaluation carried up to now. */
export function carriedForward(memory: TriggerMemory | undefined, now: number): Pick<TotalInput, "history" | "lastActiveAt"> {
  if (memory === undefined) return { history: [], lastActiveAt: undefined };
  const latest = memory.history.at(-1);
  return {
    history: latest === undefined || latest.at >= now ? memory.history : [...memory.history, { at: now, total: latest.total }],
    lastActiveAt: memory.active ? now : memory.lastActiveAt,
  };
}

/** `history` without the entries that can never be the window's highest; order kept. */
export function compactHistory(history: readonly Recommendation[]): Recommendation[] {
  const kept: Recommendation[] = [];
  let highestLater = Number.NEGATIVE_INFINITY;
  for (let i = history.length - 1; i >= 0; i--) {
    const entry = history[i]!;
    // A later entry as high outlives this one in the window (entries are in time order).
    if (entry.total > highestLater) kept.push(entry);
    highestLater = Math.max(highestLater, entry.total);
  }
  return kept.reverse();
}

type Timings = Pick<TotalInput, "min" | "idleReplicaCount" | "scaleDownStabilizationMs" | "cooldownMs">;

/**
 * Epoch ms of the earliest moment after `now` at which desiredTotal, given the same value,
 * can decide differently than `decision` did at `now`; undefined when only a new value can.
 * Waking later than a change misses it; waking early only costs an evaluation.
 */
export function nextTimedChange(decision: TotalDecision, timings: Timings, now: number): number | undefined {
  const windowMs = timings.scaleDownStabilizationMs ?? HPA_DEFAULT_SCALE_DOWN_STABILIZATION_MS;
  const cooldownMs = timings.cooldownMs ?? KEDA_DEFAULT_COOLDOWN_MS;
  const idle = timings.idleReplicaCount ?? ((timings.min ?? KEDA_DEFAULT_MIN_REPLICAS) === 0 ? 0 : undefined);
  let next: number | undefined;
  const consider = (at: number) => {
    if (at > now && (next === undefined || at < next)) next = at;
  };
  // Cooling down: the idle total takes over once cooldownPeriod has passed since last active.
  if (!decision.active && idle !== undefined && decision.lastActiveAt !== undefined) consider(decision.lastActiveAt + cooldownMs);
  // Held up by the window: the highest recommendation above the newest one stops holding when
  // it leaves (compacted, the history falls from its highest, which leaves first).
  const history = compactHistory(decision.history);
  const newest = history.at(-1);
  if (newest !== undefined && history[0]!.total > newest.total) consider(history[0]!.at + windowMs);
  return next;
}
