/**
 * Reconciles DistributedScaledObjects while this instance leads. Events are coalesced
 * per DSO and a DSO has at most one reconcile in flight (a trigger during one runs it
 * again afterwards); different DSOs reconcile in parallel. Each reconcile is one
 * reconcileStep (engine plan + member writes), then Event and metrics; the status it
 * computes is written behind it (status-writer.ts), so a reconcile never waits for the hub.
 *
 * What triggers a DSO: its spec changing (generation), a change in a member's cache for
 * its workload, its members' health changing, membership changing, a timer at the next
 * health deadline (grace or probation end), and a slow resync.
 */
import type { MemberRecord } from "../engine/health";
import { recordsOf } from "../engine/plan";
import { MemberError, type WorkloadRef } from "../members/client";
import { type MemberAccess, type MemberTarget, reconcileStep } from "../reconcile/step";
import { type DistributedScaledObject, type DsoSpec, type DsoStatus, dsoSchema, dsoStatusSchema } from "../schema/dso";
import { engineMemberOf, memberSpecsOf, policyOf, workloadKey } from "../schema/plan-input";
import { ValidationError, parseOrThrow } from "../schema/validate";
import type { DsoObject, HubApi } from "./hub-api";
import type { Logger } from "./log";
import { refKey } from "./member-state";
import type { MemberRegistry } from "./members";
import type { RuntimeMetrics } from "./metrics";
import { rebalanceOf } from "./rebalance";
import { invalidSpecStatus, recordsFromStatus, statusOf } from "./status";
import { StatusWriter } from "./status-writer";
import { nextHealthDeadline } from "./wake";
import { messageOf } from "./watch";

/** setTimeout fires at once beyond this (about 24.8 days); a longer wait wakes early and re-plans, which is harmless. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * The fleet-wide total for a DSO. The seam for total-replica sources (KEDA ScaledObject,
 * the built-in kubernetes-resource trigger): until they are wired in, the total is what
 * the spec declares (declaredTotal), which is also where KEDA writes it through the scale
 * subresource.
 */
export type TotalSource = (dso: DistributedScaledObject) => number | Promise<number>;

export interface ReconcilerSettings {
  resyncIntervalMs: number;
  /** Delay before retrying a reconcile whose writes failed. */
  retryMs: number;
}

export interface ReconcilerDeps {
  hub: HubApi;
  dsos: { get(name: string, namespace?: string): DsoObject | undefined; list(): readonly DsoObject[] };
  members: MemberRegistry;
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

interface QueueEntry {
  again: boolean;
  done: Promise<void>;
}

const WAKE_SLACK_MS = 10;

export class Reconciler {
  private active = false;
  private readonly queue = new Map<string, QueueEntry>();
  private readonly wakeTimers = new Map<string, NodeJS.Timeout>();
  private readonly memory = new Map<string, Memory>();
  private readonly generations = new Map<string, number | undefined>();
  private readonly byMember = new Map<string, Set<string>>();
  private readonly byWorkload = new Map<string, Set<string>>();
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly status: StatusWriter;

  constructor(private readonly deps: ReconcilerDeps) {
    this.status = new StatusWriter({
      write: async (namespace, name, status) => {
        await deps.hub.writeStatus(namespace, name, status);
      },
      isLeader: deps.isLeader,
      written: () => deps.metrics.statusWrites.inc(),
      failed: (key, error) => {
        deps.log.warn({ dso: key, err: messageOf(error) }, "status write failed; retrying");
        if (this.active) this.wakeAt(key, Date.now() + deps.settings.retryMs);
      },
    });
  }

  /** Leadership gained: start from what the status says, since another leader may have moved things. */
  resume(): void {
    this.active = true;
    this.memory.clear();
    this.status.reset();
    this.resyncTimer = setInterval(() => this.triggerAll(), this.deps.settings.resyncIntervalMs);
    this.triggerAll();
  }

  /** Leadership lost or shutting down: no new reconcile starts; writes of one in flight are refused by isLeader. */
  pause(): void {
    this.active = false;
    clearInterval(this.resyncTimer);
    for (const timer of this.wakeTimers.values()) clearTimeout(timer);
    this.wakeTimers.clear();
    this.memory.clear();
  }

  async drain(): Promise<void> {
    await Promise.all([...this.queue.values()].map((entry) => entry.done));
    await this.status.drain();
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

  memberHealthChanged(member: string): void {
    for (const key of this.byMember.get(member) ?? []) this.trigger(key);
  }

  workloadChanged(member: string, ref: WorkloadRef): void {
    for (const key of this.byWorkload.get(`${member}|${refKey(ref)}`) ?? []) this.trigger(key);
  }

  /** DSOs without a member list take every registered member, so any of them may be affected. */
  membershipChanged(): void {
    this.triggerAll();
  }

  private triggerAll(): void {
    for (const dso of this.deps.dsos.list()) this.trigger(keyOf(dso));
  }

  private trigger(key: string): void {
    if (!this.active) return;
    const entry = this.queue.get(key);
    if (entry) {
      entry.again = true;
      return;
    }
    const created: QueueEntry = { again: false, done: Promise.resolve() };
    this.queue.set(key, created);
    created.done = (async () => {
      do {
        created.again = false;
        await this.reconcile(key);
      } while (created.again && this.active);
      this.queue.delete(key);
    })();
  }

  private wakeAt(key: string, at: number): void {
    clearTimeout(this.wakeTimers.get(key));
    const timer = setTimeout(() => {
      this.wakeTimers.delete(key);
      this.trigger(key);
    }, Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())));
    this.wakeTimers.set(key, timer);
  }

  private forget(key: string): void {
    clearTimeout(this.wakeTimers.get(key));
    this.wakeTimers.delete(key);
    this.generations.delete(key);
    this.status.forget(key);
    const memory = this.memory.get(key);
    if (memory) this.deps.metrics.forgetWorkload(memory.workload, memory.members);
    this.memory.delete(key);
    this.unindex(key);
  }

  private async reconcile(key: string): Promise<void> {
    const [namespace, name] = key.split("/") as [string, string];
    const raw = this.deps.dsos.get(name, namespace);
    if (!raw || !this.deps.isLeader()) return;
    const log = this.deps.log.child({ dso: key });
    const endTimer = this.deps.metrics.reconcileSeconds.startTimer();
    try {
      await this.reconcileDso(key, raw, log);
    } catch (error) {
      log.error({ err: messageOf(error) }, "reconcile failed");
      this.wakeAt(key, Date.now() + this.deps.settings.retryMs);
    } finally {
      endTimer();
    }
  }

  private async reconcileDso(key: string, raw: DsoObject, log: Logger): Promise<void> {
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
      return;
    }

    const spec = dso.spec;
    const specs = memberSpecsOf(spec, members.names());
    const refs = new Map(specs.map((m) => [m.name, refOf(spec, m.targetNamespace ?? namespaceOf(key))]));
    this.index(key, refs);
    const pending = specs.filter((m) => members.get(m.name)?.health().kind === "pending");
    if (pending.length > 0) {
      // Their health change triggers this DSO again once they are known.
      log.debug({ pending: pending.map((m) => m.name) }, "waiting for members to connect");
      return;
    }

    const targets: MemberTarget[] = specs.map((m) => {
      const connection = members.get(m.name);
      return {
        spec: engineMemberOf(m),
        ref: refs.get(m.name)!,
        access: connection ? this.leaderOnly(m.name, connection.access()) : new MemberError(m.name, "Unauthorized", "no kubeconfig Secret registers this member in the hub"),
      };
    });
    const total = await this.deps.total(dso);
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
    if (!this.deps.isLeader()) return;

    const now = Date.now();
    const { plan } = step;
    const ids = Object.fromEntries(specs.map((m) => [m.name, members.get(m.name)?.id ?? ""]));
    const selector = specs.map((m) => members.get(m.name)?.selectorOf(refs.get(m.name)!)).find((s) => s !== undefined);
    const status = statusOf({ generation, plan, observations: step.observations, ids, selector, previous: previousStatus, now });
    const memory: Memory = { uid, records: recordsOf(plan), total, status, workload, members: specs.map((m) => m.name) };
    if (remembered && remembered.members.some((m) => !memory.members.includes(m))) {
      metrics.forgetWorkload(workload, remembered.members.filter((m) => !memory.members.includes(m)));
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
      this.deps.hub.recordEvent(raw, rebalance.reason, rebalance.message).catch((error: unknown) => log.warn({ err: messageOf(error) }, "could not record event"));
    }
    metrics.recordPlan(workload, plan, step.observations);

    this.status.submit(key, status, () => lenientStatus(raw.status));

    const failed = step.writes.some((w) => w.error);
    const deadline = nextHealthDeadline(plan, policyOf(spec.rebalancingPolicy).gracePeriodMs, now);
    const retry = failed ? now + this.deps.settings.retryMs : undefined;
    const wake = [deadline === undefined ? undefined : deadline + WAKE_SLACK_MS, retry].filter((t): t is number => t !== undefined);
    if (wake.length > 0) this.wakeAt(key, Math.min(...wake));
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
    for (const [member, ref] of refs) {
      add(this.byMember, member, key);
      add(this.byWorkload, `${member}|${refKey(ref)}`, key);
    }
  }

  private unindex(key: string): void {
    for (const index of [this.byMember, this.byWorkload]) {
      for (const [entry, keys] of index) {
        keys.delete(key);
        if (keys.size === 0) index.delete(entry);
      }
    }
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
