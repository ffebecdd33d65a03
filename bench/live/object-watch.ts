/**
 * A plain watch over a collection (e.g. every DSO in the hub) from the bench process,
 * keeping the latest object per namespace/name with the performance.now() of its arrival.
 */
import { performance } from "node:perf_hooks";
import type * as k8s from "@kubernetes/client-node";
import { clientNode } from "../../members/client-node";

export interface Entry<T> {
  object: T;
  at: number;
}

export class ObjectWatch<T extends k8s.KubernetesObject> {
  readonly objects = new Map<string, Entry<T>>();
  private controller: AbortController | undefined;
  private readonly waiters = new Set<() => void>();
  private stopped = false;
  /** Called for every event after `objects` is updated. */
  onEvent: ((key: string, entry: Entry<T> | undefined) => void) | undefined;

  constructor(
    private readonly kubeconfig: string,
    private readonly path: string,
  ) {}

  /** Resolves once the initial state (ADDED events of the list) has arrived: `expected` objects, or the first event. */
  async start(): Promise<void> {
    const lib = clientNode();
    const config = new lib.KubeConfig();
    config.loadFromString(this.kubeconfig);
    const watch = new lib.Watch(config);
    const open = async (): Promise<void> => {
      this.controller = await watch.watch(
        this.path,
        { allowWatchBookmarks: false },
        (type: string, object: T) => {
          const key = `${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;
          if (type === "DELETED") this.objects.delete(key);
          else this.objects.set(key, { object, at: performance.now() });
          this.onEvent?.(key, this.objects.get(key));
          for (const wake of [...this.waiters]) wake();
        },
        () => {
          if (!this.stopped) setTimeout(() => void open().catch(() => undefined), 200);
        },
      );
    };
    await open();
  }

  until(done: (objects: ReadonlyMap<string, Entry<T>>) => boolean, timeoutMs: number, checkEveryMs = 0): Promise<void> {
    if (done(this.objects)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let last = 0;
      const wake = () => {
        const now = performance.now();
        // With thousands of events, evaluate a costly predicate at most every checkEveryMs.
        if (checkEveryMs > 0 && now - last < checkEveryMs) return;
        last = now;
        if (!done(this.objects)) return;
        finish();
        resolve();
      };
      const poll = checkEveryMs > 0 ? setInterval(() => {
        if (done(this.objects)) {
          finish();
          resolve();
        }
      }, checkEveryMs) : undefined;
      const finish = () => {
        this.waiters.delete(wake);
        clearTimeout(timer);
        clearInterval(poll);
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms watching ${this.path}`));
      }, timeoutMs);
      this.waiters.add(wake);
    });
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
  }
}
