/**
 * One member cluster as the runtime holds it: one health probe per interval however many
 * workloads the member serves, and watch caches of its Deployments and StatefulSets that
 * answer every read. Idle API traffic therefore grows with the number of members, not of
 * workloads.
 *
 * Two lanes to the member: writes and watches go through one client with the member's rate
 * limit (QPS and burst), the health probe through another with its own connections and no
 * limit, so a burst of writes in a mass failover never delays the probe that says whether
 * the member is alive. A probe fails the member only when a second attempt right after it
 * fails too: a timeout caused by this process's busy event loop rather than by the member
 * is not taken for an outage (a blackholed member is found after two timeouts).
 */
import type * as k8s from "@kubernetes/client-node";
import { MemberClient, MemberError, type WorkloadRef } from "../members/client";
import type { MemberAccess } from "../reconcile/step";
import { clientNode, timeoutOptions } from "../members/client-node";
import { TokenBucket } from "../members/token-bucket";
import type { Logger } from "./log";
import {
  type MemberHealth,
  type WorkloadSnapshot,
  type Written,
  healthOf,
  notReadyAt,
  observedReplicas,
  refKey,
  sameHealth,
  sameReplicas,
  snapshotOf,
  writtenAfter,
} from "./member-state";
import type { RuntimeMetrics } from "./metrics";
import { WatchedCache } from "./watch";

export interface MemberSettings {
  probeIntervalMs: number;
  memberTimeoutMs: number;
  notReadyDeadlineMs: number;
  /** Client-side rate limit of writes and watches per member. */
  qps: number;
  burst: number;
}

export interface MemberListener {
  /** The member's health changed (as sameHealth tells). */
  health(member: string): void;
  /** A workload's replicas changed in the member's cache, or its NotReady deadline passed. */
  workload(member: string, ref: WorkloadRef): void;
}

type Scalable = k8s.V1Deployment | k8s.V1StatefulSet;

const KINDS = ["Deployment", "StatefulSet"] as const;

export class MemberConnection {
  /** "<secret namespace>/<secret name>+<kubeconfig user>": which credentials reach this member. */
  readonly id: string;
  private readonly client: MemberClient | undefined;
  private readonly prober: MemberClient | undefined;
  /** Set when the kubeconfig itself is unusable: the member can never be reached with it. */
  private readonly broken: MemberError | undefined;
  private readonly caches = new Map<WorkloadRef["kind"], WatchedCache<Scalable>>();
  private readonly snapshots = new Map<string, WorkloadSnapshot>();
  private readonly written = new Map<string, Written>();
  private readonly deadlineTimers = new Map<string, NodeJS.Timeout>();
  private probe: "ok" | MemberError | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private lastHealth: MemberHealth = { kind: "pending" };
  private stopped = false;

  constructor(
    readonly name: string,
    secret: { namespace: string; name: string },
    readonly kubeconfig: string,
    private readonly settings: MemberSettings,
    private readonly listener: MemberListener,
    private readonly metrics: RuntimeMetrics,
    private readonly log: Logger,
  ) {
    let user = "unknown";
    try {
      this.client = new MemberClient(name, kubeconfig, { timeoutMs: settings.memberTimeoutMs, gate: new TokenBucket({ qps: settings.qps, burst: settings.burst }) });
      this.prober = new MemberClient(name, kubeconfig, { timeoutMs: settings.memberTimeoutMs });
      user = this.client.config.getCurrentUser()?.name ?? user;
    } catch (error) {
      this.broken = error instanceof MemberError ? error : new MemberError(name, "Unauthorized", `kubeconfig cannot be read: ${(error as Error).message}`);
    }
    this.id = `${secret.namespace}/${secret.name}+${user}`;
    if (this.client === undefined) return;

    const config = this.client.config;
    const apps = config.makeApiClient(clientNode().AppsV1Api);
    const options = () => timeoutOptions(settings.memberTimeoutMs);
    const lists: Record<WorkloadRef["kind"], () => Promise<k8s.KubernetesListObject<Scalable>>> = {
      Deployment: () => apps.listDeploymentForAllNamespaces({}, options()),
      StatefulSet: () => apps.listStatefulSetForAllNamespaces({}, options()),
    };
    for (const kind of KINDS) {
      const plural = pluralOf(kind);
      this.caches.set(
        kind,
        new WatchedCache<Scalable>({
          what: `watch ${plural}`,
          config,
          path: `/apis/apps/v1/${plural}`,
          list: lists[kind],
          onChange: (change, object) => this.cacheChanged(kind, change, object),
          onState: () => this.healthMayHaveChanged(),
          log: log.child({ member: name, cache: plural }),
        }),
      );
    }
  }

  start(): void {
    if (this.broken) {
      this.healthMayHaveChanged();
      return;
    }
    for (const cache of this.caches.values()) cache.start();
    void this.probeLoop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.probeTimer);
    for (const timer of this.deadlineTimers.values()) clearTimeout(timer);
    await Promise.all([...this.caches.values()].map((cache) => cache.stop()));
  }

  health(): MemberHealth {
    if (this.broken) return { kind: "failed", error: this.broken };
    const caches = [...this.caches].map(([kind, c]) => ({ what: `watch ${pluralOf(kind)}`, synced: c.synced, failure: c.failure }));
    return healthOf(this.name, this.probe, caches, this.settings.memberTimeoutMs);
  }

  /** How a reconcile step reads and writes this member's workloads. */
  access(): MemberAccess {
    return {
      readReplicas: async (ref) => {
        const health = this.health();
        if (health.kind === "failed") throw health.error;
        if (health.kind === "pending") throw new MemberError(this.name, "Unreachable", "not connected yet");
        const key = refKey(ref);
        return observedReplicas(this.name, ref, this.snapshots.get(key), this.written.get(key), Date.now(), this.settings.notReadyDeadlineMs);
      },
      scale: async (ref, replicas) => {
        const key = refKey(ref);
        const written = writtenAfter(replicas, this.snapshots.get(key)?.generation ?? 0, this.written.get(key));
        try {
          await this.client!.scale(ref, replicas);
        } catch (error) {
          const failure = error instanceof MemberError ? error.failure : "Unreachable";
          if (error instanceof MemberError) this.metrics.memberApiErrors.inc({ member: this.name, failure });
          this.metrics.memberWriteFailures.inc({ member: this.name, failure });
          throw error;
        }
        this.written.set(key, written);
        this.metrics.memberWrites.inc({ member: this.name });
      },
    };
  }

  /** The workload's label selector as the member has it, for DSO status. */
  selectorOf(ref: WorkloadRef): string | undefined {
    return this.snapshots.get(refKey(ref))?.selector;
  }

  private async probeLoop(): Promise<void> {
    if (this.stopped) return;
    const before = this.probe;
    let result = await this.probeOnce();
    if (result !== "ok" && before === "ok" && !this.stopped) result = await this.probeOnce();
    this.probe = result;
    if (this.stopped) return;
    // Answering again: re-list now rather than wait out the caches' backoff.
    if (before instanceof MemberError && this.probe === "ok") for (const cache of this.caches.values()) cache.retryNow();
    this.healthMayHaveChanged();
    this.probeTimer = setTimeout(() => void this.probeLoop(), this.settings.probeIntervalMs);
  }

  private async probeOnce(): Promise<"ok" | MemberError> {
    try {
      await this.prober!.probe();
      return "ok";
    } catch (error) {
      const failure = error instanceof MemberError ? error : new MemberError(this.name, "Unreachable", (error as Error).message);
      this.metrics.memberApiErrors.inc({ member: this.name, failure: failure.failure });
      return failure;
    }
  }

  private healthMayHaveChanged(): void {
    if (this.stopped) return;
    const health = this.health();
    if (sameHealth(health, this.lastHealth)) return;
    this.lastHealth = health;
    this.metrics.memberHealthy.set({ member: this.name }, health.kind === "healthy" ? 1 : 0);
    if (health.kind === "failed") this.log.warn({ member: this.name, failure: health.error.failure, reason: health.error.message }, "member unhealthy");
    else this.log.info({ member: this.name, health: health.kind }, "member health changed");
    this.listener.health(this.name);
  }

  private cacheChanged(kind: WorkloadRef["kind"], change: "add" | "update" | "delete", object: Scalable): void {
    const ref: WorkloadRef = { kind, namespace: object.metadata?.namespace ?? "", name: object.metadata?.name ?? "" };
    const key = refKey(ref);
    const previous = this.snapshots.get(key);
    const next = change === "delete" ? undefined : snapshotOf(object, previous, Date.now());
    if (next === undefined) this.snapshots.delete(key);
    else this.snapshots.set(key, next);
    const write = this.written.get(key);
    if (write !== undefined && (next === undefined || next.generation > write.overGeneration)) this.written.delete(key);
    this.armNotReadyDeadline(ref, key, next);
    if (!sameReplicas(previous, next)) this.listener.workload(this.name, ref);
  }

  /** A short workload turns NotReady by the clock, not by an event: wake its DSOs then. */
  private armNotReadyDeadline(ref: WorkloadRef, key: string, snapshot: WorkloadSnapshot | undefined): void {
    const at = snapshot === undefined ? undefined : notReadyAt(snapshot, this.settings.notReadyDeadlineMs);
    if (at === undefined) {
      clearTimeout(this.deadlineTimers.get(key));
      this.deadlineTimers.delete(key);
      return;
    }
    if (this.deadlineTimers.has(key)) return;
    const timer = setTimeout(() => {
      this.deadlineTimers.delete(key);
      this.listener.workload(this.name, ref);
    }, Math.max(0, at - Date.now()));
    timer.unref();
    this.deadlineTimers.set(key, timer);
  }
}

function pluralOf(kind: WorkloadRef["kind"]): string {
  return `${kind.toLowerCase()}s`;
}
