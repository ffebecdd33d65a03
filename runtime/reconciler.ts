/**
 * Reconciles DistributedScaledObjects while this instance leads, through a keyed work
 * queue (work-queue.ts): triggers are coalesced per DSO, a DSO has at most one reconcile
 * in flight, at most `workers` DSOs reconcile at once, and a DSO whose member writes
 * failed is retried with its own exponential backoff. Each reconcile is one reconcileStep
 * (engine plan + member writes), then Event and metrics; the status it computes and the
 * Event are written behind it (status-writer.ts, event-recorder.ts), so a reconcile never
 * waits for the hub.
 *
 * What triggers a DSO: its spec changing (generation), a change in a member's cache for
 * its workload, its members' health changing, membership changing, a change of what its
 * total is computed from (the object its trigger reads), a timer at the next health
 * deadline (grace or probation end) or the total's next time-based change (stabilization
 * window, cooldown), and its resync: each DSO asks to run again
 * one resync interval (±10%) after its last reconcile, so resyncs stay spread out.
 */
import type { MemberRecord } from "../engine/health";
import { recordsOf } from "../engine/plan";
import { MemberError, type WorkloadRef } from "../members/client";
import { httpStatusOf } from "../members/client-node";
import { type MemberAccess, type MemberTarget, reconcileStep } from "../reconcile/step";
import { type DistributedScaledObject, type DsoSpec, type DsoStatus, dsoSchema, dsoStatusSchema } from "../schema/dso";
import { EventRecorder } from "./event-recorder";
import { engineMemberOf, memberSpecsOf, policyOf, workloadKey } from "../schema/plan-input";
import { ValidationError, parseOrThrow } from "../schema/validate";
import type { DsoObject, HubClient } from "../members/hub";
import type { Logger } from "./log";
import { refKey } from "./member-state";
import type { MemberRegistry } from "./member-registry";
import type { RuntimeMetrics } from "./metrics";
import { rebalanceOf } from "./rebalance";
import { type ConditionInput, invalidSpecStatus, recordsFromStatus, statusOf } from "./status";
import { StatusWriter } from "./status-writer";
import { nextHealthDeadline } from "./wake";
import { messageOf } from "./watch";
import { WorkQueue, type WorkResult } from "./work-queue";

/**
 * The fleet-wide total for a DSO. The seam for total-replica sources (KEDA ScaledObject,
 * the built-in kubernetes-resource trigger); a plain number is a total and nothing more
 * (the declared total, say, which is also where KEDA writes it through the scale subresource).
 */
export type TotalSource = ((dso: DistributedScaledObject) => number | TotalOutcome | Promise<number | TotalOutcome>) & {
  /** The DSO "namespace/name" was deleted: drop what the source remembers of it. */
  forget?(key: string): void;
  /** The runtime stops: end the source's watches. */
  stop?(): Promise<void>;
};

export interface TotalOutcome {
  total: number;
  /** Evaluate again at this epoch ms with nothing else happening (a stabilization window or cooldownPeriod ending). */
  wakeAt?: number | undefined;
  /** How the total was decided, for the DSO's status (the built-in trigger's TriggerReady). */
  condition?: ConditionInput | undefined;
  /** Something worth retrying failed (a hub write): the DSO is retried with its backoff. */
  failed?: boolean;
}

export interface ReconcilerSettings {
  resyncIntervalMs: number;
  /** First delay before retrying a reconcile whose writes failed; doubles per failure in a row. */
  retryMs: number;
  /** DSOs reconciled at once; status and Event writes have as many workers again. */
  workers: number;
}

/** The longest retry backoff of a DSO. */
const MAX_RETRY_MS = 60_000;
/** Occurrences of an Event this close together are counted into one (client-go's window). */
const EVENT_WINDOW_MS = 10 * 60_000;

export interface ReconcilerDeps {
  hub: HubClient;
  dsos: { get(name: string, namespace?: string): DsoObject | undefined; list(): readonly DsoObject[] };
  members: MemberRegistry;
  /** True while this instance leads and its hub caches are current: only then does it write. */
  isLeader: () => boolean;
  total: TotalSource;
  settings: ReconcilerSettings;
  metrics: RuntimeMetrics;
  log: Logger;
}

/** What this leader remembers of a DSO between steps; dropped when leadership changes. */
interface Memory {
  uid: string | undefined;
  records: Record<string, MemberRecord>;
  total: number;
  /** The status last computed: the previous one for the next (times of state changes carry over). */
  status: DsoStatus | undefined;
  workload: string;
  members: string[];
}

const WAKE_SLACK_MS = 10;

export class Reconciler {
  private readonly queue: WorkQueue;
  private readonly memory = new Map<string, Memory>();
  private readonly generations = new Map<string, number | undefined>();
  private readonly byMember = new Map<string, Set<string>>();
  private readonly byWorkload = new Map<string, Set<string>>();
  /** Each DSO's entries in the two indexes, so unindexing one touches only its own. */
  private readonly indexed = new Map<string, Array<[Map<string, Set<string>>, string]>>();
  private readonly status: StatusWriter;
  private readonly events: EventRecorder;

  constructor(private readonly deps: ReconcilerDeps) {
    const { workers, retryMs } = deps.settings;
    this.queue = new WorkQueue({
      workers,
      baseBackoffMs: retryMs,
      maxBackoffMs: MAX_RETRY_MS,
      process: (key) => this.reconcile(key),
      onError: (key, error) => {
        deps.metrics.reconcileErrors.inc();
        deps.log.error({ dso: key, err: messageOf(error) }, "reconcile failed");
      },
    });
    this.status = new StatusWriter({
      write: async (namespace, name, status) => {
        await deps.hub.writeStatus(namespace, name, status);
      },
      isLeader: deps.isLeader,
      written: () => deps.metrics.statusWrites.inc(),
      failed: (key, error) => deps.log.warn({ dso: key, err: messageOf(error) }, "status write failed; retrying"),
      workers,
      retryMs,
    });
    this.events = new EventRecorder({
      api: {
        create: (dso, event) => deps.hub.createEvent(dso, event),
        update: (dso, name, event) => deps.hub.updateEvent(dso, name, event),
        isNotFound: (error) => httpStatusOf(error) === 404,
      },
      workers,
      windowMs: EVENT_WINDOW_MS,
      isLeader: deps.isLeader,
      failed: (key, error) => deps.log.warn({ event: key, err: messageOf(error) }, "could not record event; retrying"),
    });
  }

  /** DSOs waiting or reconciling now. */
  get depth(): number {
    return this.queue.depth;
  }

  /** Leadership gained: start from what the status says, since another leader may have moved things. */
  resume(): void {
    this.memory.clear();
    this.status.reset();
    this.queue.start();
    this.triggerAll();
  }

  /** Leadership lost or shutting down: no new reconcile starts; writes of one in flight are refused by isLeader. */
  pause(): void {
    this.queue.stop();
    this.memory.clear();
  }

  async drain(): Promise<void> {
    await this.queue.drain();
    await Promise.all([this.status.drain(), this.events.drain()]);
  }

  dsoChanged(change: "add" | "update" | "delete", dso: DsoObject): void {
    const key = keyOf(dso);
    if (change === "delete") {
      this.forget(key);
      return;
    }
    // Status writes (ours included) do not move the generation: only spec changes trigger.
    const generation = dso.metadata?.generation;
    if (change === "update" && this.generations.get(key) === generation) return;
    this.generations.set(key, generation);
    this.trigger(key);
  }

  /** What DSO `key`'s total is computed from changed (the object its trigger reads). */
  totalInputChanged(key: string): void {
    this.trigger(key);
  }

  memberHealthChanged(member: string): void {
    for (const key of this.byMember.get(member) ?? []) this.trigger(key);
  }

  workloadChanged(member: string, ref: WorkloadRef): void {
    for (const key of this.byWorkload.get(`${member}|${refKey(ref)}`) ?? []) this.trigger(key);
  }

  /**
   * DSOs without a member list take every registered member, so any of them may be
   * affected; and the hub caches being current again (after a hub outage) calls for a
   * fresh pass too.
   */
  triggerAll(): void {
    for (const dso of this.deps.dsos.list()) this.trigger(keyOf(dso));
  }

  private trigger(key: string): void {
    // Ignored unless leading: the queue takes keys only between resume and pause.
    this.queue.add(key);
  }

  private forget(key: string): void {
    this.queue.forget(key);
    this.generations.delete(key);
    this.status.forget(key);
    this.events.forget(key);
    this.deps.total.forget?.(key);
    const memory = this.memory.get(key);
    if (memory) this.deps.metrics.forgetWorkload(memory.workload, memory.members);
    this.memory.delete(key);
    this.unindex(key);
  }

  private async reconcile(key: string): Promise<WorkResult> {
    const [namespace, name] = key.split("/") as [string, string];
    const raw = this.deps.dsos.get(name, namespace);
    if (!raw || !this.deps.isLeader()) return {};
    const endTimer = this.deps.metrics.reconcileSeconds.startTimer();
    try {
      return await this.reconcileDso(key, raw, this.deps.log.child({ dso: key }));
    } finally {
      endTimer();
    }
  }

  /** When this DSO's resync is due: one interval from now, ±10% so DSOs reconciled together drift apart. */
  private resyncAt(now: number): number {
    return now + this.deps.settings.resyncIntervalMs * (0.9 + 0.2 * Math.random());
  }

  private async reconcileDso(key: string, raw: DsoObject, log: Logger): Promise<WorkResult> {
    const { members, metrics } = this.deps;
    const uid = raw.metadata?.uid;
    const remembered = this.memory.get(key)?.uid === uid ? this.memory.get(key) : undefined;
    const previousStatus = remembered?.status ?? lenientStatus(raw.status);
    const generation = raw.metadata?.generation;

    let dso: DistributedScaledObject;
    try {
      // Status is ours, not the user's: a damaged status must not make the spec look invalid.
      dso = parseOrThrow(dsoSchema, { apiVersion: raw.apiVersion, kind: raw.kind, metadata: raw.metadata, spec: raw.spec }, `DistributedScaledObject ${key}`);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      this.unindex(key);
      log.warn({ problems: error.problems }, "invalid spec; nothing is moved");
      const status = invalidSpecStatus(previousStatus, generation, error, Date.now());
      if (remembered) remembered.status = status;
      this.status.submit(key, status, () => lenientStatus(raw.status));
      return {};
    }

    const spec = dso.spec;
    const specs = memberSpecsOf(spec, members.names());
    const refs = new Map(specs.map((m) => [m.name, refOf(spec, m.targetNamespace ?? namespaceOf(key))]));
    this.index(key, refs);
    const pending = specs.filter((m) => members.get(m.name)?.health().kind === "pending");
    if (pending.length > 0) {
      // Their health change triggers this DSO again once they are known.
      log.debug({ pending: pending.map((m) => m.name) }, "waiting for members to connect");
      return { runAt: this.resyncAt(Date.now()) };
    }

    const targets: MemberTarget[] = specs.map((m) => {
      const connection = members.get(m.name);
      return {
        spec: engineMemberOf(m),
        ref: refs.get(m.name)!,
        access: connection ? this.leaderOnly(m.name, connection.access()) : new MemberError(m.name, "Unauthorized", "no kubeconfig Secret registers this member in the hub"),
      };
    });
    const answer = await this.deps.total(dso);
    const outcome: TotalOutcome = typeof answer === "number" ? { total: answer } : answer;
    const { total } = outcome;
    // A total that could not be had (KEDA's ScaledObject or the hub refusing a write) fails the
    // reconcile as an exception would, though the DSO goes on with the total it had.
    if (outcome.failed === true) metrics.reconcileErrors.inc();
    const workload = workloadKey(dso);
    const step = await reconcileStep({
      workload,
      totalReplicas: total,
      previousTotalReplicas: remembered?.total,
      policy: policyOf(spec.rebalancingPolicy),
      previous: remembered?.records ?? recordsFromStatus(raw.status),
      members: targets,
      now: Date.now(),
    });
    // Lost the lease during the step: the new leader owns status from here.
    if (!this.deps.isLeader()) return {};

    const now = Date.now();
    const { plan } = step;
    const ids = Object.fromEntries(specs.map((m) => [m.name, members.get(m.name)?.id ?? ""]));
    const selector = specs.map((m) => members.get(m.name)?.selectorOf(refs.get(m.name)!)).find((s) => s !== undefined);
    const status = statusOf({ generation, plan, observations: step.observations, ids, selector, previous: previousStatus, now, totalConditions: outcome.condition ? [outcome.condition] : [] });
    const memory: Memory = { uid, records: recordsOf(plan), total, status, workload, members: specs.map((m) => m.name) };
    if (remembered && remembered.members.some((m) => !memory.members.includes(m))) {
      metrics.forgetMembersOf(workload, remembered.members.filter((m) => !memory.members.includes(m)));
    }
    this.memory.set(key, memory);

    for (const write of step.writes) {
      if (write.error) log.warn({ member: write.member, from: write.from, to: write.to, err: write.error.message }, "scale failed");
      else log.info({ member: write.member, from: write.from, to: write.to }, "scaled");
    }
    const rebalance = rebalanceOf(plan);
    if (rebalance) {
      metrics.rebalances.inc({ workload, reason: rebalance.reason });
      log.info({ reason: rebalance.reason, total, desired: Object.fromEntries(plan.members.map((m) => [m.name, m.desiredReplicas])) }, rebalance.message);
      this.events.record(key, raw, rebalance.reason, rebalance.message);
    }
    metrics.recordPlan(workload, plan, step.observations);

    this.status.submit(key, status, () => lenientStatus(raw.status));

    const deadline = nextHealthDeadline(plan, policyOf(spec.rebalancingPolicy).gracePeriodMs, now);
    const wakeAt = Math.min(deadline ?? Infinity, outcome.wakeAt ?? Infinity);
    const runAt = Math.min(this.resyncAt(now), wakeAt + WAKE_SLACK_MS);
    return { failed: step.writes.some((w) => w.error) || outcome.failed === true, runAt };
  }

  /** Losing the lease stops writes at once, even in the middle of a step. */
  private leaderOnly(member: string, access: MemberAccess): MemberAccess {
    return {
      readReplicas: (ref) => access.readReplicas(ref),
      scale: async (ref, replicas) => {
        if (!this.deps.isLeader()) throw new MemberError(member, "Unreachable", "write withheld: this instance no longer holds the leader lease");
        await access.scale(ref, replicas);
      },
    };
  }

  private index(key: string, refs: ReadonlyMap<string, WorkloadRef>): void {
    this.unindex(key);
    const entries: Array<[Map<string, Set<string>>, string]> = [];
    for (const [member, ref] of refs) entries.push([this.byMember, member], [this.byWorkload, `${member}|${refKey(ref)}`]);
    for (const [index, entry] of entries) add(index, entry, key);
    this.indexed.set(key, entries);
  }

  private unindex(key: string): void {
    for (const [index, entry] of this.indexed.get(key) ?? []) {
      const keys = index.get(entry);
      keys?.delete(key);
      if (keys?.size === 0) index.delete(entry);
    }
    this.indexed.delete(key);
  }
}

function keyOf(dso: DsoObject): string {
  return `${dso.metadata?.namespace ?? "default"}/${dso.metadata?.name ?? ""}`;
}

function namespaceOf(key: string): string {
  return key.split("/")[0]!;
}

function refOf(spec: DsoSpec, namespace: string): WorkloadRef {
  const target = spec.scaledObjectSpec.scaleTargetRef;
  return { kind: target.kind, namespace, name: target.name };
}

function lenientStatus(status: unknown): DsoStatus | undefined {
  const parsed = dsoStatusSchema.safeParse(status);
  return parsed.success ? parsed.data : undefined;
}

function add(index: Map<string, Set<string>>, entry: string, key: string): void {
  const keys = index.get(entry) ?? new Set<string>();
  keys.add(key);
  index.set(entry, keys);
}
