/**
 * Watches one Deployment's spec.replicas (and readyReplicas) in several member clusters
 * from the bench process, as the members' admin, timestamping every event on arrival.
 */
import { performance } from "node:perf_hooks";
import type * as k8s from "@kubernetes/client-node";
import { clientNode } from "../../members/client-node";
import type { LocalFleet } from "../../test/support/fleet";

export interface Seen {
  desired: number | undefined;
  ready: number;
  /** performance.now() of the event that set `desired` to its current value. */
  desiredAt: number;
}

export class ReplicaWatch {
  readonly seen = new Map<string, Seen>();
  /** Every value spec.replicas took, per member, in order. */
  readonly history = new Map<string, { desired: number; at: number }[]>();
  private readonly aborts: AbortController[] = [];
  private readonly waiters = new Set<() => void>();
  /** Called on every event (and disconnect), after `seen` is updated. */
  onEvent: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly fleet: LocalFleet,
    readonly members: readonly string[],
    readonly deployment: string,
    readonly namespace = "default",
  ) {}

  async start(): Promise<void> {
    await Promise.all(this.members.map((m) => this.watch(m)));
  }

  private async watch(member: string): Promise<void> {
    const lib = clientNode();
    const config = new lib.KubeConfig();
    config.loadFromString(this.fleet.kubeconfig(member));
    const watch = new lib.Watch(config);
    const path = `/apis/apps/v1/namespaces/${this.namespace}/deployments`;
    let first = true;
    await new Promise<void>((resolve, reject) => {
      const open = () =>
        watch
          .watch(
            path,
            { fieldSelector: `metadata.name=${this.deployment}` },
            (_type: string, object: k8s.V1Deployment) => {
              const desired = object.spec?.replicas;
              const previous = this.seen.get(member);
              const at = performance.now();
              const changed = previous?.desired !== desired;
              this.seen.set(member, { desired, ready: object.status?.readyReplicas ?? 0, desiredAt: changed ? at : previous!.desiredAt });
              if (changed && desired !== undefined) {
                const list = this.history.get(member) ?? [];
                list.push({ desired, at });
                this.history.set(member, list);
              }
              if (first) {
                first = false;
                resolve();
              }
              for (const wake of [...this.waiters]) wake();
              this.onEvent?.();
            },
            () => {
              // Unknown while disconnected: counts as no ready capacity.
              const previous = this.seen.get(member);
              if (previous) this.seen.set(member, { ...previous, ready: 0 });
              for (const wake of [...this.waiters]) wake();
              this.onEvent?.();
              // A stopped member API server ends the watch: reopen until stopped.
              if (!this.stopped) setTimeout(() => void open().catch(() => undefined), 200);
            },
          )
          .then((controller) => this.aborts.push(controller), (error: unknown) => {
            if (first) reject(error as Error);
            else if (!this.stopped) setTimeout(() => void open().catch(() => undefined), 200);
          });
      void open();
    });
  }

  /** Resolves once `done` holds over the latest events (or rejects after timeoutMs). */
  until(done: (seen: ReadonlyMap<string, Seen>) => boolean, timeoutMs: number): Promise<void> {
    if (done(this.seen)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = () => {
        if (!done(this.seen)) return;
        this.waiters.delete(wake);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(new Error(`timed out after ${timeoutMs} ms: ${JSON.stringify([...this.seen])}`));
      }, timeoutMs);
      this.waiters.add(wake);
    });
  }

  readyTotal(): number {
    let sum = 0;
    for (const s of this.seen.values()) sum += s.ready;
    return sum;
  }

  stop(): void {
    this.stopped = true;
    for (const a of this.aborts) a.abort();
  }
}
