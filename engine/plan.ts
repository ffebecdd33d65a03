/**
 * One planning step: from the total, the members, the policy, the previous plan and
 * the clock to each member's desired replicas, state and reasons. Pure: no I/O, no
 * hidden clock. The provider and the runtime both call this; they differ only in how
 * they observe members and apply the result.
 *
 * A step moves from the previous desired replicas ("base") toward the weighted share
 * ("target"):
 * - replicas needed because the total rose or a member was excluded are added at once;
 * - replicas moved between healthy members (recovery, weight changes, drains) move at
 *   most `maxRebalancePercentage` of the total per step, and a new move starts only as
 *   earlier ones become ready (replicas that stay unready past the readiness deadline
 *   stop counting, so one broken pod never stalls a rebalance);
 * - make-before-break, for every kind of lowering: a member's ready replicas are taken
 *   away only as far as ready replicas elsewhere keep ready capacity at the total;
 * - a member back from an outage keeps what it runs through its probation (a partition
 *   leaves its pods serving; the hub neither lowers nor raises it), then moves toward its
 *   share like any other member;
 * - while any member is failing inside its grace period, nothing is rebalanced; only
 *   changes of the total are placed.
 */
import { apportion, type Claim } from "./apportion";
import { formatDuration } from "./duration";
import { type HealthStep, type MemberRecord, type Observation, inProbation, nextHealth, probationMs } from "./health";
import { type MemberState, isDrainState, isFailureState } from "./states";
import { tieRanks } from "./tiebreak";

export interface MemberInput {
  name: string;
  /** 0 drains the member: it keeps its place in the fleet and gives its replicas away. */
  weight: number;
  minReplicas?: number | undefined;
  maxReplicas?: number | undefined;
  observation: Observation;
}

export interface PlanPolicy {
  gracePeriodMs: number;
  maxRebalancePercentage: number;
}

export interface PlanInput {
  /** Identifies the workload (namespace/name); decides how ties fall. */
  workload: string;
  totalReplicas: number;
  /** The total of the previous plan, when known: only used to explain changes. */
  previousTotalReplicas?: number | undefined;
  members: readonly MemberInput[];
  policy: PlanPolicy;
  /** The previous plan's records by member name; empty for a first plan. */
  previous: Readonly<Record<string, MemberRecord>>;
  now: number;
}

export interface MemberPlan extends MemberRecord {
  name: string;
  excluded: boolean;
  /** Desired replicas of the previous plan (0 for a new member). */
  previousReplicas: number;
  /** The share this member is moving toward. */
  targetReplicas: number;
  description: string;
  /** Why desiredReplicas differs from previousReplicas; absent when it does not. */
  reason?: string;
}

export interface Plan {
  totalReplicas: number;
  /** Sum of desired replicas: above the total while scale-downs wait for ready replacements. */
  plannedReplicas: number;
  members: MemberPlan[];
  /** Plan-wide facts: bound conflicts, paused rebalancing, deferred scale-downs, waiting moves. */
  notes: string[];
  /** True when every member is at its target: nothing is left to move at this health. */
  converged: boolean;
}

/** Largest replica count Kubernetes accepts (spec.replicas is an int32). */
export const MAX_REPLICAS = 2_147_483_647;

/** Replicas asked for count as in motion until ready, or for this long at most. */
export function readinessDeadlineMs(gracePeriodMs: number): number {
  return Math.max(gracePeriodMs, 60_000);
}

/**
 * active: takes part in the weighted split. pinned: failing within its grace period, keeps
 * its replicas. held: on probation, keeps what it runs. out: excluded, gives its share away.
 */
type Role = "active" | "pinned" | "held" | "out";

export function plan(input: PlanInput): Plan {
  assertPlanInput(input);
  const { members, policy, now, totalReplicas: total } = input;
  const grace = policy.gracePeriodMs;
  const ranks = tieRanks(input.workload, members.map((m) => m.name));
  const records = members.map((m) => input.previous[m.name]);
  const health = members.map((m, i) => nextHealth(records[i], m.observation, now, grace));
  // Where each member starts from: what its Deployment asks for when it could be read, else
  // what it was last asked for. The record alone can be stale: a write that failed, a status
  // write lost before a restart, an earlier leadership term, or a member that kept running
  // while excluded (the hub could not lower it). Planning from a stale record would write
  // that stale number over replicas that are running.
  const base = members.map((m, i) => {
    const record = records[i];
    if (!m.observation.healthy) return record?.desiredReplicas ?? 0;
    if (m.observation.specReplicas !== undefined) return m.observation.specReplicas;
    return record?.state === "Excluded" ? m.observation.readyReplicas : (record?.desiredReplicas ?? 0);
  });
  // Ready replicas as observed; undefined when the member could not be counted (unreachable).
  const ready = members.map((m) => m.observation.readyReplicas);
  const roles: Role[] = health.map((h) =>
    isFailureState(h.state) ? "pinned" : h.state === "Excluded" ? "out" : inProbation(h, now, grace) ? "held" : "active",
  );
  // With no member able to take replicas, taking them from an excluded member would only
  // scale the workload down: every member keeps what it has instead.
  const noneActive = !roles.includes("active");
  if (noneActive) roles.forEach((role, i) => role === "out" && (roles[i] = "pinned"));
  const notes: string[] = [];
  const active: number[] = [];
  const pinned: number[] = [];
  roles.forEach((role, i) => (role === "active" ? active : role === "pinned" ? pinned : []).push(i));

  // Targets: pinned members keep what they had, held members what they run; the rest of the
  // total is shared by weight among active members. Held members do not reduce that rest:
  // until probation ends nobody counts on them.
  const target = base.map((b, i) => (roles[i] === "pinned" || roles[i] === "held" ? b : 0));
  const pinnedTotal = sum(pinned.map((i) => base[i]!));
  const shared = Math.max(0, total - pinnedTotal);
  // A fleet whose every active member has weight 0 still has to run the workload somewhere.
  const allDraining = active.length > 0 && active.every((i) => members[i]!.weight === 0);
  if (allDraining && shared > 0) notes.push("every healthy member has weight 0: replicas are shared among them equally until another member is healthy");
  const shares = apportion(
    shared,
    active.map((i) => claim(allDraining ? 1 : members[i]!.weight, members[i]!.minReplicas ?? 0, members[i]!.maxReplicas ?? Infinity, ranks[i]!)),
  );
  active.forEach((i, k) => (target[i] = shares[k]!));
  noteBoundConflicts(notes, shared, sum(shares), active.length, pinnedTotal, total);

  // Step: free changes (total moved, capacity lost) in full; paired moves within the budget.
  // Replicas asked for but not ready yet count against it, so at most the budget is ever in
  // motion (a surge bound, like a Deployment's maxSurge) however often steps run; replicas
  // unready past the readiness deadline no longer count: they are not a move in progress.
  const frozen = pinned.length > 0 && !noneActive;
  const budget = frozen ? 0 : Math.max(1, Math.floor((total * policy.maxRebalancePercentage) / 100));
  const deadline = readinessDeadlineMs(grace);
  const rising = members.map((_, i) => risingReplicas(records[i], roles[i]!, ready[i], now, deadline));
  const stale: string[] = [];
  members.forEach((m, i) => {
    const record = records[i]?.rising;
    if (record && roles[i] === "active" && rising[i] === 0 && now - record.since >= deadline && (ready[i] ?? 0) < base[i]!) stale.push(m.name);
  });
  if (stale.length > 0) notes.push(`replicas on ${stale.join(", ")} not ready after ${formatDuration(deadline)}: moves no longer wait for them`);
  const inFlight = sum(active.map((i) => rising[i]!));
  const up = active.map((i) => Math.max(0, target[i]! - base[i]!));
  const down = active.map((i) => Math.max(0, base[i]! - target[i]!));
  // Free changes first: replicas the total or a lost member needs are placed at once.
  const freeUp = splitByAmount(Math.max(0, sum(up) - sum(down)), up, active, ranks);
  // Paired moves never raise a member past the share it keeps once members now on probation
  // are back: raising it further would only be undone a few steps later.
  const keeps = eventualShares(members, roles, active, shared, ranks);
  const upPaired = active.map((i, k) => Math.max(0, Math.min(up[k]! - freeUp[k]!, (keeps?.[k] ?? Infinity) - base[i]! - freeUp[k]!)));
  const paired = Math.min(sum(upPaired), sum(down));
  const moved = Math.min(Math.max(0, budget - inFlight), paired);
  if (paired > moved && inFlight > 0) {
    const waitingOn = active.filter((i) => rising[i]! > 0).map((i) => `${rising[i]} on ${members[i]!.name}`);
    notes.push(`moves wait for ${waitingOn.join(", ")} to become ready (at most ${budget} replicas in motion)`);
  }
  const pairedUp = splitByAmount(moved, upPaired, active, ranks);
  const increases = freeUp.map((f, k) => f + pairedUp[k]!);
  // While a member fails within its grace period, what it runs is unknown: the replicas
  // pinned to it may be serving or not. Active members are then lowered only by what they
  // hold beyond the total on their own (a lower total), never to make room for the pinned
  // member's replicas. (A new leadership term reading a status written before a failover
  // would otherwise take back, during a fresh grace period, the replicas a survivor was
  // raised by, and raise it again when the grace period ends.)
  const freeDown = Math.max(0, sum(down) - sum(up));
  const activeExcess = Math.max(0, sum(active.map((i) => base[i]!)) - total);
  const decreases = splitByAmount((frozen ? Math.min(freeDown, activeExcess) : freeDown) + moved, down, active, ranks);

  const tentative = base.map((b, i) => (roles[i] === "out" ? 0 : b));
  active.forEach((i, k) => (tentative[i] = base[i]! + increases[k]! - decreases[k]!));

  // Make-before-break, for every lowering: ready replicas may be taken away only where ready
  // replicas of trusted members (and of excluded members that still report them) exceed what
  // is required. A held member is never lowered, so its pods need no cover and give none.
  let capacity = 0;
  const readyLost = new Array<number>(members.length).fill(0);
  for (let i = 0; i < members.length; i++) {
    if (ready[i] === undefined || (roles[i] !== "active" && roles[i] !== "out")) continue;
    capacity += Math.min(ready[i]!, Math.max(base[i]!, tentative[i]!));
    readyLost[i] = Math.max(0, Math.min(ready[i]!, base[i]!) - tentative[i]!);
  }
  const required = Math.min(total, sum(target));
  const deferredTotal = Math.max(0, sum(readyLost) - Math.max(0, capacity - required));
  const deferred = splitByAmount(deferredTotal, readyLost, undefined, ranks);
  if (deferredTotal > 0) notes.push(`scale-down of ${deferredTotal} replicas deferred until replacements are ready`);
  const desired = tentative.map((t, i) => t + deferred[i]!);

  if (frozen) {
    const failing = pinned.filter((i) => isFailureState(health[i]!.state));
    const names = failing.map((i) => members[i]!.name).join(", ");
    notes.push(`rebalancing paused while ${names} ${failing.length === 1 ? "is" : "are"} failing within the grace period`);
  }
  if (noneActive && total > 0) notes.push("no healthy member can take replicas: every member keeps its replicas");

  const converged = desired.every((d, i) => d === target[i]);
  // Nothing left to move and nothing moved in this step: the fleet has settled.
  const settled = converged && desired.every((d, i) => d === base[i]);
  // Only a step that changes something needs reasons: most steps of most workloads change nothing.
  let context: StepContext | undefined;
  const contextOfStep = (): StepContext =>
    (context ??= {
      input,
      firstPlan: Object.keys(input.previous).length === 0,
      lostFrom: members.filter((_, i) => roles[i] === "out" && base[i]! > 0).map((m) => m.name),
      returned: members.filter((_, i) => roles[i] === "active" && health[i]!.state === "Recovering").map((m) => m.name),
      moved,
      budget,
    });
  const memberPlans = members.map((m, i): MemberPlan => {
    const { state, since } = displayedState(health[i]!, roles[i]!, m.weight, desired[i]!, target[i]!, ready[i], settled, now);
    const memberPlan: MemberPlan = {
      name: m.name,
      state,
      since,
      failures: health[i]!.failures,
      excluded: state === "Excluded",
      desiredReplicas: desired[i]!,
      previousReplicas: base[i]!,
      targetReplicas: target[i]!,
      description: describe({ state, since, health: health[i]!, role: roles[i]!, observation: m.observation, desired: desired[i]!, target: target[i]!, now, grace, budget, noneActive }),
    };
    const nextRising = risingAfter(rising[i]!, roles[i]!, base[i]!, desired[i]!, ready[i], records[i]?.rising, now);
    if (nextRising) memberPlan.rising = nextRising;
    if (desired[i] !== base[i]) memberPlan.reason = explain(contextOfStep(), m.name, roles[i]!, state, base[i]!, desired[i]!);
    return memberPlan;
  });

  return {
    totalReplicas: total,
    plannedReplicas: sum(desired),
    members: memberPlans,
    notes,
    converged,
  };
}

/**
 * Each active member's share once the members on probation take part again (at their
 * weights): where paired moves stop. Undefined without members on probation: no limit.
 */
function eventualShares(members: readonly MemberInput[], roles: readonly Role[], active: readonly number[], shared: number, ranks: readonly number[]): number[] | undefined {
  if (!roles.includes("held")) return undefined;
  const held = roles.flatMap((r, i) => (r === "held" ? [i] : []));
  const sharing = [...active, ...held];
  if (sharing.every((i) => members[i]!.weight === 0)) return undefined;
  const shares = apportion(shared, sharing.map((i) => claim(members[i]!.weight, members[i]!.minReplicas ?? 0, members[i]!.maxReplicas ?? Infinity, ranks[i]!)));
  return active.map((_, k) => shares[k]!);
}

/** Replicas of a member's recent raises not ready yet, within the deadline. */
function risingReplicas(record: MemberRecord | undefined, role: Role, ready: number | undefined, now: number, deadline: number): number {
  const rising = record?.rising;
  if (role !== "active" || !rising || now - rising.since >= deadline) return 0;
  return Math.min(rising.replicas, Math.max(0, rising.readyBefore + rising.replicas - (ready ?? 0)));
}

function risingAfter(stillRising: number, role: Role, base: number, desired: number, ready: number | undefined, previous: MemberRecord["rising"], now: number): MemberRecord["rising"] {
  if (role !== "active") return undefined;
  const raised = Math.max(0, desired - base);
  const replicas = Math.min(stillRising + raised, Math.max(0, desired - (ready ?? 0)));
  if (replicas === 0) return undefined;
  if (raised === 0 && previous) return { ...previous, replicas };
  return { replicas, since: now, readyBefore: ready ?? 0 };
}

/**
 * Ready once the fleet has settled after a recovery (the members that covered for it have
 * given its share back, in an earlier step); Draining/Drained for a healthy member with weight 0.
 */
function displayedState(
  health: HealthStep,
  role: Role,
  weight: number,
  desired: number,
  target: number,
  ready: number | undefined,
  settled: boolean,
  now: number,
): { state: MemberState; since: number } {
  let { state, since } = health;
  if (state === "Recovering" && role === "active" && settled && (ready ?? 0) >= target) {
    state = "Ready";
    since = now;
  }
  const draining = isDrainState(state);
  if (role === "active" && weight === 0 && (state === "Ready" || draining)) {
    const drained = desired === target ? "Drained" : "Draining";
    return { state: drained, since: drained === health.state ? health.since : now };
  }
  // Weight back above 0: an ordinary member again.
  if (draining) return { state: "Ready", since: now };
  return { state, since };
}

/** The records a plan leaves for the next one (what DSO status persists). */
export function recordsOf(result: Plan): Record<string, MemberRecord> {
  return Object.fromEntries(
    result.members.map((m) => {
      const record: MemberRecord = { state: m.state, since: m.since, desiredReplicas: m.desiredReplicas };
      if (m.failures) record.failures = m.failures;
      if (m.rising) record.rising = m.rising;
      return [m.name, record];
    }),
  );
}

interface StepContext {
  input: PlanInput;
  firstPlan: boolean;
  lostFrom: string[];
  /** Members past their probation, taking their share back. */
  returned: string[];
  moved: number;
  budget: number;
}

function explain(context: StepContext, member: string, role: Role, state: MemberState, from: number, to: number): string {
  const change = `${from} -> ${to}`;
  if (role === "held") return `${change}: back from an outage; keeps the replicas it runs while on probation`;
  if (role === "out") {
    return to > 0
      ? `${change}: excluded after failing for longer than the grace period; its ready replicas go once replacements are ready`
      : `${change}: excluded after failing for longer than the grace period; its replicas run on healthy members`;
  }
  const { input, firstPlan, lostFrom, returned, moved, budget } = context;
  const previousTotal = input.previousTotalReplicas;
  const causes: string[] = [];
  if (firstPlan) causes.push("initial placement by weight");
  if (previousTotal !== undefined && previousTotal !== input.totalReplicas && (to > from) === (input.totalReplicas > previousTotal)) {
    causes.push(`total ${input.totalReplicas > previousTotal ? "raised" : "lowered"} from ${previousTotal} to ${input.totalReplicas}`);
  }
  if (to > from && lostFrom.length > 0) causes.push(`takes over the share of ${lostFrom.join(", ")}`);
  if (to < from && isDrainState(state)) causes.push("weight 0: draining");
  const others = returned.filter((name) => name !== member);
  if (to < from && others.length > 0) causes.push(`gives back the share of ${others.join(", ")}, healthy again after its probation`);
  if (moved > 0) causes.push(`rebalancing toward weighted shares (${moved} replicas this step, at most ${budget})`);
  if (causes.length === 0) {
    causes.push(to < from ? "completing a move now that replacement replicas are ready" : "moving toward its weighted share");
  }
  return `${change}: ${causes.join("; ")}`;
}

interface Described {
  state: MemberState;
  since: number;
  health: HealthStep;
  role: Role;
  observation: Observation;
  desired: number;
  target: number;
  now: number;
  grace: number;
  budget: number;
  noneActive: boolean;
}

function describe(d: Described): string {
  const { state, health, observation, desired, target, now, grace } = d;
  const failure = observation.healthy ? "" : observation.message;
  const ready = observation.readyReplicas ?? 0;
  switch (state) {
    case "Ready":
      if (desired !== target) return `Cluster is healthy; moving from ${desired} toward its share of ${target} replicas`;
      if (ready < desired) return `Cluster is healthy; ${ready} of ${desired} replicas ready`;
      return "Cluster is healthy";
    case "Draining":
      return `Weight 0: draining; ${desired} replicas left, each removed once a replacement elsewhere is ready`;
    case "Drained":
      return target === 0 ? "Weight 0: drained; holds no replicas" : `Weight 0: drained to its minReplicas of ${target}`;
    case "Excluded":
      if (d.noneActive) {
        return desired > 0
          ? `Excluded: ${failure || "failing"}; no healthy member can take its replicas, so it keeps its ${desired}`
          : `Excluded: ${failure || "failing"}; holds no replicas`;
      }
      if (desired > 0) return `Excluded: ${failure || "failing"}; its share runs on healthy members; its ${desired} ready replicas go once replacements are ready`;
      return `Excluded: ${failure || "failing"}; its share runs on healthy members`;
    case "Recovering": {
      if (d.role === "held") {
        const probation = probationMs(health.failures, grace);
        const lengthened = health.failures >= 2 ? ` (probation lengthened: excluded ${health.failures} times in a row)` : "";
        return `Healthy again; keeps the ${desired} replicas it runs; replicas return once it has stayed healthy for ${formatDuration(probation)} (in ${formatDuration(health.since + probation - now)})${lengthened}`;
      }
      if (desired > target) return `Recovering: moving from ${desired} toward its share of ${target} replicas`;
      return `Recovering: ${desired} of ${target} replicas returned, at most ${d.budget} moved per step`;
    }
    default:
      return `${failure}; keeps its ${desired} replicas, excluded in ${formatDuration(d.since + grace - now)} if this persists`;
  }
}

function noteBoundConflicts(notes: string[], shared: number, planned: number, activeCount: number, pinnedTotal: number, total: number): void {
  if (pinnedTotal > total) notes.push(`members within their grace period keep ${pinnedTotal} replicas, more than the total of ${total}`);
  if (activeCount === 0) return;
  if (planned > shared) notes.push(`minReplicas of the healthy members add up to ${planned}, more than the ${shared} to distribute: minimums win`);
  if (planned < shared) notes.push(`maxReplicas of the healthy members add up to ${planned}, less than the ${shared} to distribute: ${shared - planned} replicas cannot be placed`);
}

/** Splits `amount` over members (`indices` of them, or all) in proportion to, and capped by, their own amounts. */
function splitByAmount(amount: number, amounts: readonly number[], indices: readonly number[] | undefined, ranks: readonly number[]): number[] {
  if (amount === 0) return new Array<number>(amounts.length).fill(0);
  return apportion(amount, amounts.map((a, k) => claim(a, 0, a, ranks[indices ? indices[k]! : k]!)));
}

function claim(weight: number, min: number, max: number, rank: number): Claim {
  return { weight, min, max, rank };
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Guards against programming errors: callers validate user input with the schemas first. */
function assertPlanInput(input: PlanInput): void {
  const fail = (field: string, problem: string): never => {
    throw new RangeError(`plan input ${field}: ${problem}`);
  };
  if (!isCount(input.totalReplicas) || input.totalReplicas > MAX_REPLICAS) fail("totalReplicas", `must be a whole number in 0..${MAX_REPLICAS}, got ${input.totalReplicas}`);
  if (!isCount(input.policy.gracePeriodMs)) fail("policy.gracePeriodMs", "must be a whole number >= 0");
  const pct = input.policy.maxRebalancePercentage;
  if (!Number.isInteger(pct) || pct < 1 || pct > 100) fail("policy.maxRebalancePercentage", `must be 1..100, got ${pct}`);
  const names = new Set<string>();
  input.members.forEach((m, i) => {
    // The path is built only on failure: this runs for every member of every plan.
    const at = (field: string) => `members[${i}].${field}`;
    if (names.has(m.name)) fail(at("name"), `duplicate member "${m.name}"`);
    names.add(m.name);
    if (!isCount(m.weight)) fail(at("weight"), `must be a whole number >= 0, got ${m.weight}`);
    if (m.minReplicas !== undefined && !isCount(m.minReplicas)) fail(at("minReplicas"), "must be a whole number >= 0");
    if (m.maxReplicas !== undefined && !isCount(m.maxReplicas)) fail(at("maxReplicas"), "must be a whole number >= 0");
    if ((m.minReplicas ?? 0) > (m.maxReplicas ?? Infinity)) fail(at("minReplicas"), "must not exceed maxReplicas");
    const { readyReplicas } = m.observation;
    if ((m.observation.healthy || readyReplicas !== undefined) && !isCount(readyReplicas)) fail(at("observation.readyReplicas"), "must be a whole number >= 0");
    if (m.observation.healthy && m.observation.specReplicas !== undefined && !isCount(m.observation.specReplicas)) fail(at("observation.specReplicas"), "must be a whole number >= 0");
  });
}
