/**
 * Writes DSO status behind the reconciles. A reconcile hands over the status it computed
 * and finishes, so the next change of the same DSO (a new total, a member event) does not
 * wait for a hub round trip before its replicas move. Writes go through a keyed work
 * queue: per DSO at most one write in flight and only the newest status waiting behind
 * it (statuses computed meanwhile replace each other, the hub sees the last one), a
 * bounded number of writes at once, and a failed write retried with backoff by itself.
 */
import type { DsoStatus } from "../schema/dso";
import { sameStatus } from "./status";
import { WorkQueue, type WorkResult } from "./work-queue";

export interface StatusWriterDeps {
  write(namespace: string, name: string, status: DsoStatus): Promise<void>;
  isLeader(): boolean;
  /** A write failed; it is retried after a backoff unless a newer status replaces it. */
  failed(key: string, error: unknown): void;
  written(): void;
  workers: number;
  /** First retry delay (doubling per failure in a row, up to a minute). */
  retryMs: number;
}

export class StatusWriter {
  /** What the hub holds, as far as this leader knows: the last status written or found. */
  private readonly stored = new Map<string, DsoStatus | undefined>();
  private readonly pending = new Map<string, DsoStatus>();
  private readonly queue: WorkQueue;

  constructor(private readonly deps: StatusWriterDeps) {
    this.queue = new WorkQueue({ workers: deps.workers, baseBackoffMs: deps.retryMs, maxBackoffMs: 60_000, process: (key) => this.flush(key) });
    this.queue.start();
  }

  /**
   * Queues `status` for the DSO `key` ("namespace/name"). `found` gives the status in the
   * object the reconcile read, the reference until this leader has written one itself; it
   * is asked for only then (it parses the object).
   */
  submit(key: string, status: DsoStatus, found: () => DsoStatus | undefined): void {
    if (!this.stored.has(key)) this.stored.set(key, found());
    this.pending.set(key, status);
    this.queue.add(key);
  }

  /** The DSO was deleted: nothing more to write for it. */
  forget(key: string): void {
    this.pending.delete(key);
    this.stored.delete(key);
    this.queue.forget(key);
  }

  /** A new leadership term starts from the statuses in the hub, not from this process's memory. */
  reset(): void {
    this.pending.clear();
    this.stored.clear();
    this.queue.stop();
    this.queue.start();
  }

  drain(): Promise<void> {
    return this.queue.drain();
  }

  private async flush(key: string): Promise<WorkResult> {
    const status = this.pending.get(key);
    this.pending.delete(key);
    // Nothing new, a status the hub already has, or a lost lease (the next term computes it again): no write.
    if (status === undefined || sameStatus(status, this.stored.get(key)) || !this.deps.isLeader()) return {};
    const [namespace, name] = key.split("/") as [string, string];
    try {
      await this.deps.write(namespace, name, status);
    } catch (error) {
      this.deps.failed(key, error);
      // Forgotten or a new term meanwhile: nothing to retry.
      if (!this.stored.has(key)) return {};
      if (!this.pending.has(key)) this.pending.set(key, status);
      return { failed: true };
    }
    // Unless the DSO was forgotten or the term reset meanwhile: then the hub's copy is the reference.
    if (this.stored.has(key)) this.stored.set(key, status);
    this.deps.written();
    return {};
  }
}
