/**
 * The ConfigMaps and Secrets that built-in triggers read, watched in the hub: one watch per
 * object (a field selector on its name, so nothing else in the namespace is cached), shared
 * by every DSO that reads it, started by the first reader and stopped with the last.
 *
 * Each watch is a WatchedCache (../watch.ts), the runtime's list-watch that restarts itself:
 * a watch that goes silent is cut by client-node after 30 s without data and resumed from
 * its resourceVersion; one that fails (the hub down, RBAC refusing) is relisted with
 * backoff, and says why meanwhile. Any change of the object (added, updated, deleted) or of
 * the watch's state (first synced, failed, current again) wakes the DSOs that read it.
 */
import type * as k8s from "@kubernetes/client-node";
import { clientNode, timeoutOptions } from "../../members/client-node";
import { HUB_TIMEOUT_MS } from "../../members/hub";
import type { Logger } from "../log";
import { WatchedCache } from "../watch";

export type TriggerObject = k8s.V1ConfigMap | k8s.V1Secret;

export interface TriggerObjectRef {
  kind: "ConfigMap" | "Secret";
  namespace: string;
  name: string;
}

export type TriggerObjectRead =
  /** The first list has not answered yet: the watch wakes its readers when it does. */
  | { state: "syncing" }
  /** What the hub holds now (undefined: no such object). */
  | { state: "current"; object: TriggerObject | undefined }
  /** The watch failed and is being restarted; what it held may be stale. */
  | { state: "failed"; error: unknown };

export interface TriggerObjectsOptions {
  config: k8s.KubeConfig;
  log: Logger;
  /** The object DSO `key` reads changed, or its watch did. */
  changed: (key: string) => void;
}

interface Watched {
  cache: WatchedCache<TriggerObject>;
  readers: Set<string>;
}

export class TriggerObjects {
  private readonly watches = new Map<string, Watched>();
  /** DSO key -> the object it reads. */
  private readonly reading = new Map<string, { id: string; ref: TriggerObjectRef }>();

  constructor(private readonly options: TriggerObjectsOptions) {}

  /** The object DSO `key` reads, from its watch (started now if it is the first reader). */
  read(key: string, ref: TriggerObjectRef): TriggerObjectRead {
    const id = `${ref.kind}/${ref.namespace}/${ref.name}`;
    if (this.reading.get(key)?.id !== id) {
      this.forget(key);
      this.reading.set(key, { id, ref });
      this.watchOf(id, ref).readers.add(key);
    }
    const { cache } = this.watches.get(id)!;
    if (cache.failure !== undefined) return { state: "failed", error: cache.failure };
    if (!cache.synced) return { state: "syncing" };
    return { state: "current", object: cache.get(ref.name, ref.namespace) };
  }

  /** DSO `key` reads nothing any more (deleted, or no longer a built-in trigger). */
  forget(key: string): void {
    const before = this.reading.get(key);
    if (before === undefined) return;
    this.reading.delete(key);
    const watched = this.watches.get(before.id);
    watched?.readers.delete(key);
    if (watched !== undefined && watched.readers.size === 0) {
      this.watches.delete(before.id);
      void watched.cache.stop();
    }
  }

  /** Objects watched now. */
  get size(): number {
    return this.watches.size;
  }

  async stop(): Promise<void> {
    const all = [...this.watches.values()];
    this.watches.clear();
    this.reading.clear();
    await Promise.all(all.map((w) => w.cache.stop()));
  }

  private watchOf(id: string, ref: TriggerObjectRef): Watched {
    const existing = this.watches.get(id);
    if (existing !== undefined) return existing;
    const core = this.options.config.makeApiClient(clientNode().CoreV1Api);
    const fieldSelector = `metadata.name=${ref.name}`;
    const request = { namespace: ref.namespace, fieldSelector };
    const list =
      ref.kind === "ConfigMap"
        ? () => core.listNamespacedConfigMap(request, timeoutOptions(HUB_TIMEOUT_MS))
        : () => core.listNamespacedSecret(request, timeoutOptions(HUB_TIMEOUT_MS));
    const readers = new Set<string>();
    const wake = () => {
      for (const key of readers) this.options.changed(key);
    };
    const cache = new WatchedCache<TriggerObject>({
      what: `watch ${id}`,
      config: this.options.config,
      path: `/api/v1/namespaces/${ref.namespace}/${ref.kind === "ConfigMap" ? "configmaps" : "secrets"}`,
      list: list as () => Promise<k8s.KubernetesListObject<TriggerObject>>,
      fieldSelector,
      onChange: wake,
      onState: wake,
      log: this.options.log,
    });
    const watched = { cache, readers };
    this.watches.set(id, watched);
    cache.start();
    return watched;
  }
}
