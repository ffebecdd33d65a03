/**
 * One planning step: from the total, the members, the policy, the previous plan and
 * the clock to each member's desired replicas, state and reasons. Pure: no I/O, no
 * hidden clock. The provider and the runtime both call this; they differ only in how
 * they observe members and apply the result.
 *
 * A step moves from the previous desired replicas ("base") toward the weighted share
 * ("target"):
 * - replicas needed because the total rose or a member was excluded are added at once;
 * - replicas moved between healthy members (recovery, weight changes) move at most
 *   `maxRebalancePercentage` of the total per step;
 * - make-before-break: a member is lowered only as far as ready replicas elsewhere
 *   keep ready capacity at the total; the rest waits for a later step;
 * - while any member is failing inside its grace period, nothing is rebalanced; only
 *   changes of the total are placed.
 */
import { apportion, type Claim } from "./apportion";
import { formatDuration } from "./duration";
import { type MemberRecord, type Observation, inProbation, nextHealth } from "./health";
import { type MemberState, isFailureState } from "./states";
import { tieRanks } from "./tiebreak";

export interface MemberInput {
  name: string;
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
  /** Plan-wide facts: bound conflicts, paused rebalancing, deferred scale-downs. */
  notes: string[];
  /** True when every member is at its target: nothing is left to move at this health. */
  converged: boolean;
}

type Role = "active" | "pinned" | "out";

export function plan(input: PlanInput): Plan {
  assertPlanInput(input);
  const { members, policy, now, totalReplicas: total } = input;
  const grace = policy.gracePeriodMs;
  const ranks = tieRanks(input.workload, members.map((m) => m.name));
  const health = members.map((m) => nextHealth(input.previous[m.name], m.observation, now, grace));
  const base = members.map((m) => input.previous[m.name]?.desiredReplicas ?? 0);
  const ready = members.map((m) => (m.observation.healthy ? m.observation.readyReplicas : 0));
  const roles: Role[] = health.map((h) =>
    isFailureState(h.state) ? "pinned" : h.state === "Excluded" || inProbation(h, now, grace) ? "out" : "active",
  );
  // With no member able to take replicas, taking them from an excluded or returning member
  // would only scale the workload to zero: every member keeps what it has instead.
  const noneActive = !roles.includes("active");
  if (noneActive) roles.fill("pinned");
  const notes: string[] = [];
  const active: number[] = [];
  const pinned: number[] = [];
  roles.forEach((role, i) => (role === "active" ? active : role === "pinned" ? pinned : []).push(i));

  // Targets: pinned members keep what they had; the rest of the total is shared by weight.
  const pinnedTotal = sum(pinned.map((i) => base[i]!));
  const shared = Math.max(0, total - pinnedTotal);
  const target = new Array<number>(members.length).fill(0);
  for (const i of pinned) target[i] = base[i]!;
  const shares = apportion(
    shared,
    active.map((i) => claim(members[i]!.weight, members[i]!.minReplicas ?? 0, members[i]!.maxReplicas ?? Infinity, ranks[i]!)),
  );
  active.forEach((i, k) => (target[i] = shares[k]!));
  noteBoundConflicts(notes, shared, sum(shares), active.length, pinnedTotal, total);

  // Step: free changes (total moved, capacity lost) in full; paired moves within the budget.
  // Replicas already asked for but not yet ready count against it: a new move starts only
  // as earlier ones become ready, so at most the budget is ever in motion (a surge bound,
  // like a Deployment's maxSurge) however often steps run.
  const frozen = pinned.length > 0;
  const budget = frozen ? 0 : Math.max(1, Math.floor((total * policy.maxRebalancePercentage) / 100));
  const inFlight = sum(active.map((i) => Math.max(0, base[i]! - ready[i]!)));
  const up = active.map((i) => Math.max(0, target[i]! - base[i]!));
  const down = active.map((i) => Math.max(0, base[i]! - target[i]!));
  const paired = Math.min(sum(up), sum(down));
  const moved = Math.min(Math.max(0, budget - inFlight), paired);
  const increases = splitByAmount(sum(up) - paired + moved, up, active, ranks);
  const decreases = splitByAmount(sum(down) - paired + moved, down, active, ranks);

  // Make-before-break: lowering may cost ready capacity only where ready replicas exceed what is required.
  const required = Math.min(total, sum(target));
  const capacityAfterIncreases = sum(active.map((i, k) => Math.min(ready[i]!, base[i]! + increases[k]!)));
  const readyLost = active.map((i, k) => Math.max(0, decreases[k]! - Math.max(0, base[i]! - ready[i]!)));
  const deferredTotal = Math.max(0, sum(readyLost) - Math.max(0, capacityAfterIncreases - required));
  const deferred = splitByAmount(deferredTotal, readyLost, active, ranks);
  if (deferredTotal > 0) notes.push(`scale-down of ${deferredTotal} replicas deferred until replacements are ready`);
  if (frozen) {
    const names = pinned.map((i) => members[i]!.name).join(", ");
    notes.push(`rebalancing paused while ${names} ${pinned.length === 1 ? "is" : "are"} failing within the grace period`);
  }

  const desired = base.map((b, i) => (roles[i] === "out" ? 0 : b));
  active.forEach((i, k) => (desired[i] = base[i]! + increases[k]! - decreases[k]! + deferred[k]!));

  const context: StepContext = {
    input,
    firstPlan: Object.keys(input.previous).length === 0,
    lostFrom: members.flatMap((m, i) => (roles[i] === "out" && base[i]! > 0 ? [m.name] : [])),
    moved,
    budget,
  };
  const memberPlans = members.map((m, i): MemberPlan => {
    let { state, since } = health[i]!;
    const settled = desired[i] === target[i] && ready[i]! >= target[i]!;
    if (state === "Recovering" && roles[i] === "active" && settled) {
      state = "Ready";
      since = now;
    }
    const memberPlan: MemberPlan = {
      name: m.name,
      state,
      since,
      excluded: state === "Excluded",
      desiredReplicas: desired[i]!,
      previousReplicas: base[i]!,
      targetReplicas: target[i]!,
      description: describe(state, since, m.observation, desired[i]!, target[i]!, ready[i]!, now, grace, budget, noneActive),
    };
    if (desired[i] !== base[i]) memberPlan.reason = explain(context, roles[i]!, state, base[i]!, desired[i]!);
    return memberPlan;
  });
  if (noneActive && total > 0) notes.push("no healthy member can take replicas: every member keeps its replicas");

  return {
    totalReplicas: total,
    plannedReplicas: sum(desired),
    members: memberPlans,
    notes,
    converged: desired.every((d, i) => d === target[i]),
  };
}

/** The records a plan leaves for the next one (what DSO status persists). */
export function recordsOf(result: Plan): Record<string, MemberRecord> {
  return Object.fromEntries(
    result.members.map((m) => [m.name, { state: m.state, since: m.since, desiredReplicas: m.desiredReplicas }]),
  );
}

interface StepContext {
  input: PlanInput;
  firstPlan: boolean;
  lostFrom: string[];
  moved: number;
  budget: number;
}

function explain(context: StepContext, role: Role, state: MemberState, from: number, to: number): string {
  const change = `${from} -> ${to}`;
  if (role === "out") {
    return state === "Excluded"
      ? `${change}: excluded after failing for longer than the grace period; its replicas run on healthy members`
      : `${change}: held at 0 until it has stayed healthy for the grace period`;
  }
  const { input, firstPlan, lostFrom, moved, budget } = context;
  const previousTotal = input.previousTotalReplicas;
  const causes: string[] = [];
  if (firstPlan) causes.push("initial placement by weight");
  if (previousTotal !== undefined && previousTotal !== input.totalReplicas && (to > from) === (input.totalReplicas > previousTotal)) {
    causes.push(`total ${input.totalReplicas > previousTotal ? "raised" : "lowered"} from ${previousTotal} to ${input.totalReplicas}`);
  }
  if (to > from && lostFrom.length > 0) causes.push(`takes over the share of ${lostFrom.join(", ")}`);
  if (moved > 0) causes.push(`rebalancing toward weighted shares (${moved} replicas this step, at most ${budget})`);
  if (causes.length === 0) {
    causes.push(to < from ? "completing a move now that replacement replicas are ready" : "moving toward its weighted share");
  }
  return `${change}: ${causes.join("; ")}`;
}

function describe(
  state: MemberState,
  since: number,
  observation: Observation,
  desired: number,
  target: number,
  ready: number,
  now: number,
  grace: number,
  budget: number,
  noneActive: boolean,
): string {
  const failure = observation.healthy ? "" : observation.message;
  switch (state) {
    case "Ready":
      if (desired !== target) return `Cluster is healthy; moving from ${desired} toward its share of ${target} replicas`;
      if (ready < desired) return `Cluster is healthy; ${ready} of ${desired} replicas ready`;
      return "Cluster is healthy";
    case "Excluded":
      if (noneActive) return `Excluded: ${failure || "failing"}; no healthy member can take its replicas, so it keeps its ${desired}`;
      return `Excluded: ${failure || "failing"}; its share runs on healthy members`;
    case "Recovering":
      if (now - since < grace) {
        return `Healthy again; replicas return once it has stayed healthy for ${formatDuration(grace)} (in ${formatDuration(since + grace - now)})`;
      }
      return `Recovering: ${desired} of ${target} replicas returned, at most ${budget} moved per step`;
    default:
      return `${failure}; keeps its ${desired} replicas, excluded in ${formatDuration(since + grace - now)} if this persists`;
  }
}

function noteBoundConflicts(notes: string[], shared: number, planned: number, activeCount: number, pinnedTotal: number, total: number): void {
  if (pinnedTotal > total) notes.push(`members within their grace period keep ${pinnedTotal} replicas, more than the total of ${total}`);
  if (activeCount === 0) return;
  if (planned > shared) notes.push(`minReplicas of the healthy members add up to ${planned}, more than the ${shared} to distribute: minimums win`);
  if (planned < shared) notes.push(`maxReplicas of the healthy members add up to ${planned}, less than the ${shared} to distribute: ${shared - planned} replicas cannot be placed`);
}

/** Splits `amount` over members in proportion to (and capped by) their own amounts. */
function splitByAmount(amount: number, amounts: readonly number[], indices: readonly number[], ranks: readonly number[]): number[] {
  if (amount === 0) return new Array<number>(amounts.length).fill(0);
  return apportion(amount, amounts.map((a, k) => claim(a, 0, a, ranks[indices[k]!]!)));
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
  if (!isCount(input.totalReplicas)) fail("totalReplicas", `must be a whole number >= 0, got ${input.totalReplicas}`);
  if (!isCount(input.policy.gracePeriodMs)) fail("policy.gracePeriodMs", "must be a whole number >= 0");
  const pct = input.policy.maxRebalancePercentage;
  if (!Number.isInteger(pct) || pct < 1 || pct > 100) fail("policy.maxRebalancePercentage", `must be 1..100, got ${pct}`);
  const names = new Set<string>();
  input.members.forEach((m, i) => {
    const at = `members[${i}]`;
    if (names.has(m.name)) fail(`${at}.name`, `duplicate member "${m.name}"`);
    names.add(m.name);
    if (!isCount(m.weight) || m.weight < 1) fail(`${at}.weight`, `must be a whole number >= 1, got ${m.weight}`);
    if (m.minReplicas !== undefined && !isCount(m.minReplicas)) fail(`${at}.minReplicas`, "must be a whole number >= 0");
    if (m.maxReplicas !== undefined && !isCount(m.maxReplicas)) fail(`${at}.maxReplicas`, "must be a whole number >= 0");
    if ((m.minReplicas ?? 0) > (m.maxReplicas ?? Infinity)) fail(`${at}.minReplicas`, "must not exceed maxReplicas");
    if (m.observation.healthy && !isCount(m.observation.readyReplicas)) fail(`${at}.observation.readyReplicas`, "must be a whole number >= 0");
  });
}
