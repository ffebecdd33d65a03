/**
 * Writes DSO status behind the reconciles. A reconcile hands over the status it computed
 * and finishes, so the next change of the same DSO (a new total, a member event) does not
 * wait for a hub round trip before its replicas move. Per DSO at most one write is in
 * flight and only the newest status waits behind it: statuses computed while a write is
 * on its way replace each other, and the hub sees the last one.
 */
import type { DsoStatus } from "../schema/dso";
import { sameStatus } from "./status";

export interface StatusWriterDeps {
  write(namespace: string, name: string, status: DsoStatus): Promise<void>;
  isLeader(): boolean;
  /** A write failed; the DSO's next reconcile computes its status again and retries. */
  failed(key: string, error: unknown): void;
  written(): void;
}

export class StatusWriter {
  /** What the hub holds, as far as this leader knows: the last status written or found. */
  private readonly stored = new Map<string, DsoStatus | undefined>();
  private readonly pending = new Map<string, DsoStatus>();
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(private readonly deps: StatusWriterDeps) {}

  /**
   * Queues `status` for the DSO `key` ("namespace/name") unless the hub already has it.
   * `found` gives the status in the object the reconcile read, the reference until this
   * leader has written one itself; it is asked for only then (it parses the object).
   */
  submit(key: string, status: DsoStatus, found: () => DsoStatus | undefined): void {
    if (!this.stored.has(key)) this.stored.set(key, found());
    if (!this.inFlight.has(key) && sameStatus(status, this.stored.get(key))) {
      this.pending.delete(key);
      return;
    }
    this.pending.set(key, status);
    // Removed in a later tick: a flush with nothing to write settles before set() would run.
    if (!this.inFlight.has(key)) this.inFlight.set(key, this.flush(key).finally(() => this.inFlight.delete(key)));
  }

  /** The DSO was deleted: nothing more to write for it. */
  forget(key: string): void {
    this.pending.delete(key);
    this.stored.delete(key);
  }

  /** A new leadership term starts from the statuses in the hub, not from this process's memory. */
  reset(): void {
    this.pending.clear();
    this.stored.clear();
  }

  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight.values());
  }

  private async flush(key: string): Promise<void> {
    const [namespace, name] = key.split("/") as [string, string];
    for (let status = this.pending.get(key); status !== undefined; status = this.pending.get(key)) {
      this.pending.delete(key);
      // A status the hub already has (the newest equals what was just written) or a lost lease: no write.
      if (sameStatus(status, this.stored.get(key)) || !this.deps.isLeader()) continue;
      try {
        await this.deps.write(namespace, name, status);
        // Unless the DSO was forgotten or the term reset meanwhile: then the hub's copy is the reference.
        if (this.stored.has(key)) this.stored.set(key, status);
        this.deps.written();
      } catch (error) {
        this.deps.failed(key, error);
      }
    }
  }
}
