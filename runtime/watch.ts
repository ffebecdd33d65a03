/**
 * A list-watch cache that keeps itself alive. client-node's informer gives up on the
 * first failed list or watch request; this restarts it with backoff and says whether
 * its contents are current ("synced") or stale since a failure, which is what member
 * health and /readyz need to know.
 */
import type * as k8s from "@kubernetes/client-node";
import { clientNode } from "../members/client-node";
import type { Logger } from "./log";

export type ChangeKind = "add" | "update" | "delete";

export interface WatchedCacheOptions<T extends k8s.KubernetesObject> {
  /** Names the cache in logs. */
  what: string;
  config: k8s.KubeConfig;
  path: string;
  list: () => Promise<k8s.KubernetesListObject<T>>;
  labelSelector?: string | undefined;
  /** e.g. metadata.name=x: one object, watched without caching its neighbours. */
  fieldSelector?: string | undefined;
  onChange: (kind: ChangeKind, object: T) => void;
  /** Called when `synced` or `failure` changes. */
  onState: () => void;
  log: Logger;
}

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;

export class WatchedCache<T extends k8s.KubernetesObject> {
  /** True from a complete list until the next failure. */
  synced = false;
  /** Why the last (re)start failed; cleared by the next complete list. */
  failure: unknown = undefined;
  private readonly informer: k8s.Informer<T> & k8s.ObjectCache<T>;
  private stopped = false;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private failuresSeen = 0;

  constructor(private readonly options: WatchedCacheOptions<T>) {
    // makeInformer without its one limitation: it takes no field selector.
    const lib = clientNode();
    this.informer = new lib.ListWatch(options.path, new lib.Watch(options.config), options.list, false, options.labelSelector, options.fieldSelector);
    for (const kind of ["add", "update", "delete"] as const) {
      this.informer.on(kind, (object) => {
        if (!this.stopped) options.onChange(kind, object);
      });
    }
    this.informer.on("error", (error) => this.failed(error));
  }

  start(): void {
    void this.attempt();
  }

  /** Restarts a failed cache now instead of at its next backoff (e.g. once its server answers again). */
  retryNow(): void {
    if (this.stopped || this.retryTimer === undefined) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retryMs = FIRST_RETRY_MS;
    void this.attempt();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  list(): readonly T[] {
    return this.informer.list();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.informer.stop();
  }

  private async attempt(): Promise<void> {
    const failuresBefore = this.failuresSeen;
    await this.informer.start();
    // start() resolves after the list and the watch request, or after a failure it reported through "error".
    if (this.stopped || this.failuresSeen !== failuresBefore) return;
    this.retryMs = FIRST_RETRY_MS;
    if (!this.synced || this.failure !== undefined) {
      this.synced = true;
      this.failure = undefined;
      this.options.onState();
    }
  }

  private failed(error: unknown): void {
    // Stopping aborts the watch request, which the informer reports as an error.
    if (this.stopped) return;
    this.failuresSeen++;
    const firstSinceSynced = this.synced || this.failure === undefined;
    this.synced = false;
    this.failure = error;
    this.options.log.debug({ cache: this.options.what, err: messageOf(error), retryInMs: this.retryMs }, "watch failed; restarting");
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.attempt();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    if (firstSinceSynced) this.options.onState();
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
