/**
 * Member clusters as they really behave, and the scaler planning against them step by
 * step over simulated time. Used by the engine's property tests and by `fleetscale
 * simulate`; pure like the engine (time is an input), and no second implementation of
 * any planning rule: every step is the engine's own `plan`.
 *
 * What the model keeps apart, because real outages do:
 * - what the hub can see (a member is reachable or not) from what runs there (pods keep
 *   serving through a partition; a cluster that died loses its pods but keeps its
 *   Deployment in its own etcd, and its own controller recreates them when it returns);
 * - what the hub asks for (the Deployment's spec, written only while reachable) from
 *   what is ready (pods become ready `readyAfterMs` after they are created, or never).
 */
import type { Observation } from "./health";
import { type Plan, type PlanInput, type PlanPolicy, plan, recordsOf } from "./plan";
import { settle } from "./settle";

export interface ModelMember {
  name: string;
  weight: number;
  minReplicas?: number | undefined;
  maxReplicas?: number | undefined;
}

/** Something that happens to the fleet at `at` ms after the start. */
export type FleetEvent =
  | { at: number; down: string; pods: "keep" | "lose" }
  | { at: number; up: string }
  | { at: number; total: number }
  | { at: number; weight: Readonly<Record<string, number>> }
  /** That many of the member's pods created from then on never become ready; 0 heals them all. */
  | { at: number; unready: Readonly<Record<string, number>> };

export interface FleetScenario {
  workload: string;
  members: readonly ModelMember[];
  policy: PlanPolicy;
  /** The total at the start; `total` events change it. */
  total: number;
  /** How often the scaler plans. */
  stepMs: number;
  durationMs: number;
  /** A pod is ready this long after it is created. */
  readyAfterMs: number;
  events: readonly FleetEvent[];
}

export interface FleetMemberStep {
  name: string;
  /** The member Deployment's spec: what the hub last wrote while it could reach it. */
  desiredReplicas: number;
  /** Ready pods in the member, whether or not the hub reaches it. */
  readyReplicas: number;
  reachable: boolean;
  state: string;
  description: string;
}

export interface FleetStep {
  at: number;
  totalReplicas: number;
  members: FleetMemberStep[];
}

export interface FleetSummary {
  memberWrites: number;
  lowestReadyCapacity: number;
  lowestReachableReadyCapacity: number;
  /** Replicas added and removed by the hub's writes, per member. */
  moves: Record<string, { writes: number; added: number; removed: number }>;
}

/** One step as the engine saw it: for tests that check engine properties against the model. */
export interface FleetTrace {
  at: number;
  input: PlanInput;
  plan: Plan;
  /** Ready pods on reachable members right before and right after the step's writes. */
  reachableReadyBefore: number;
  reachableReadyAfter: number;
  /** Spec changes the hub wrote in this step. */
  writes: { member: string; from: number; to: number }[];
}

export interface FleetRun {
  steps: FleetStep[];
  summary: FleetSummary;
  trace: FleetTrace[];
}

interface Cluster {
  spec: number;
  /** When each pod is (or was) ready; Infinity: never. */
  pods: number[];
  alive: boolean;
  reachable: boolean;
  /** How many more new pods will never become ready. */
  stuckQuota: number;
}

/** Runs a scenario from the steady state (every member running its weighted share, ready). */
export function runFleet(scenario: FleetScenario): FleetRun {
  const weights = new Map(scenario.members.map((m) => [m.name, m.weight]));
  const membersNow = () => scenario.members.map((m) => ({ ...m, weight: weights.get(m.name)! }));
  let total = scenario.total;
  const start = settle({
    workload: scenario.workload,
    totalReplicas: total,
    policy: scenario.policy,
    previous: {},
    now: 0,
    members: membersNow().map((m) => ({ ...m, observation: { healthy: true, readyReplicas: 0, currentReplicas: 0 } })),
  }).plan;
  const clusters = new Map<string, Cluster>(
    start.members.map((m) => [m.name, { spec: m.desiredReplicas, pods: new Array<number>(m.desiredReplicas).fill(0), alive: true, reachable: true, stuckQuota: 0 }]),
  );
  let previous = recordsOf(start);
  let previousTotal: number | undefined = total;
  const events = [...scenario.events].sort((a, b) => a.at - b.at);
  let nextEvent = 0;

  const steps: FleetStep[] = [];
  const trace: FleetTrace[] = [];
  const moves: FleetSummary["moves"] = Object.fromEntries(scenario.members.map((m) => [m.name, { writes: 0, added: 0, removed: 0 }]));
  let memberWrites = 0;
  let lowestReady = Infinity;
  let lowestReachable = Infinity;

  for (let now = 0; now <= scenario.durationMs; now += scenario.stepMs) {
    for (; nextEvent < events.length && events[nextEvent]!.at <= now; nextEvent++) {
      const event = events[nextEvent]!;
      if ("total" in event) total = event.total;
      else if ("weight" in event) for (const [name, weight] of Object.entries(event.weight)) weights.set(name, weight);
      else applyToCluster(clusters, event, now, scenario.readyAfterMs);
    }
    for (const cluster of clusters.values()) runController(cluster, now, scenario.readyAfterMs);

    const input: PlanInput = {
      workload: scenario.workload,
      totalReplicas: total,
      previousTotalReplicas: previousTotal,
      policy: scenario.policy,
      previous,
      now,
      members: membersNow().map((m) => ({ ...m, observation: observe(clusters.get(m.name)!, now) })),
    };
    const result = plan(input);
    const reachableReadyBefore = reachableReady(clusters, now);
    const writes: FleetTrace["writes"] = [];
    for (const m of result.members) {
      const cluster = clusters.get(m.name)!;
      if (!cluster.reachable || cluster.spec === m.desiredReplicas) continue;
      writes.push({ member: m.name, from: cluster.spec, to: m.desiredReplicas });
      const counter = moves[m.name]!;
      counter.writes++;
      if (m.desiredReplicas > cluster.spec) counter.added += m.desiredReplicas - cluster.spec;
      else counter.removed += cluster.spec - m.desiredReplicas;
      memberWrites++;
      cluster.spec = m.desiredReplicas;
      runController(cluster, now, scenario.readyAfterMs);
    }
    const reachableReadyAfter = reachableReady(clusters, now);
    const allReady = [...clusters.values()].reduce((s, c) => s + readyOf(c, now), 0);
    lowestReady = Math.min(lowestReady, allReady);
    lowestReachable = Math.min(lowestReachable, reachableReadyAfter);

    steps.push({
      at: now,
      totalReplicas: total,
      members: result.members.map((m) => {
        const cluster = clusters.get(m.name)!;
        return { name: m.name, desiredReplicas: cluster.spec, readyReplicas: readyOf(cluster, now), reachable: cluster.reachable, state: m.state, description: m.description };
      }),
    });
    trace.push({ at: now, input, plan: result, reachableReadyBefore, reachableReadyAfter, writes });
    previous = recordsOf(result);
    previousTotal = total;
  }
  return {
    steps,
    trace,
    summary: { memberWrites, lowestReadyCapacity: lowestReady, lowestReachableReadyCapacity: lowestReachable, moves },
  };
}

function applyToCluster(clusters: Map<string, Cluster>, event: FleetEvent, now: number, readyAfterMs: number): void {
  if ("down" in event) {
    const cluster = clusters.get(event.down)!;
    cluster.reachable = false;
    if (event.pods === "lose") {
      // The cluster died: its pods are gone, its Deployment survives in its own etcd.
      cluster.alive = false;
      cluster.pods = [];
    }
  } else if ("up" in event) {
    const cluster = clusters.get(event.up)!;
    cluster.reachable = true;
    cluster.alive = true;
  } else if ("unready" in event) {
    for (const [name, count] of Object.entries(event.unready)) {
      const cluster = clusters.get(name)!;
      if (count === 0) {
        cluster.stuckQuota = 0;
        cluster.pods = cluster.pods.map((at) => (at === Infinity ? now + Math.max(1, readyAfterMs) : at));
      } else {
        cluster.stuckQuota = count;
      }
    }
  }
}

/** The member's own Deployment controller: pods follow the spec while the cluster runs. */
function runController(cluster: Cluster, now: number, readyAfterMs: number): void {
  if (!cluster.alive) return;
  while (cluster.pods.length < cluster.spec) {
    if (cluster.stuckQuota > 0) {
      cluster.stuckQuota--;
      cluster.pods.push(Infinity);
    } else {
      // Never ready in the instant it is created: the hub sees it at its next step at the earliest.
      cluster.pods.push(now + Math.max(1, readyAfterMs));
    }
  }
  if (cluster.pods.length > cluster.spec) {
    // Like a ReplicaSet: pods that are not ready go first, the newest of them first.
    cluster.pods.sort((a, b) => (a > now ? 1 : 0) - (b > now ? 1 : 0) || a - b);
    cluster.pods.length = cluster.spec;
  }
}

function readyOf(cluster: Cluster, now: number): number {
  return cluster.alive ? cluster.pods.filter((at) => at <= now).length : 0;
}

function reachableReady(clusters: Map<string, Cluster>, now: number): number {
  let sum = 0;
  for (const cluster of clusters.values()) if (cluster.reachable) sum += readyOf(cluster, now);
  return sum;
}

function observe(cluster: Cluster, now: number): Observation {
  if (!cluster.reachable) return { healthy: false, failure: "Unreachable", message: "no answer within the timeout" };
  return { healthy: true, readyReplicas: readyOf(cluster, now), currentReplicas: cluster.pods.length, specReplicas: cluster.spec };
}
