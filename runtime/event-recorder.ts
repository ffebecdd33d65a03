/**
 * Kubernetes Events on DSOs, aggregated like client-go's EventCorrelator: the same reason
 * on the same object within the window updates one Event (count, lastTimestamp, message)
 * instead of creating another, so a flapping member or a thousand DSOs failing over leave
 * one Event per DSO and reason, not one per step. Writes go through a keyed work queue:
 * per Event at most one request in flight, occurrences in between coalesced into its
 * count, a bounded number of requests at once, failures retried with backoff. Events are
 * best effort: one that cannot be written within its window is dropped.
 */
import type { DsoObject, EventWrite } from "../members/hub";
import { WorkQueue } from "./work-queue";

export interface EventApi {
  /** Creates an Event on `dso`; returns its name. */
  create(dso: DsoObject, event: EventWrite): Promise<string>;
  /** Updates the Event `name` in the DSO's namespace; rejects with a 404 when it is gone. */
  update(dso: DsoObject, name: string, event: EventWrite): Promise<void>;
  isNotFound(error: unknown): boolean;
}

export interface EventRecorderOptions {
  api: EventApi;
  workers: number;
  /** Occurrences this close together count into one Event (client-go: 10 minutes). */
  windowMs: number;
  /** Events are written while leading only; a term that ended takes its unwritten counts with it. */
  isLeader(): boolean;
  failed(key: string, error: unknown): void;
}

interface Series {
  dsoKey: string;
  dso: DsoObject;
  write: EventWrite;
  /** The Event in the hub and the count it shows. */
  stored?: { name: string; count: number };
}

export class EventRecorder {
  private readonly series = new Map<string, Series>();
  private readonly queue: WorkQueue;

  constructor(private readonly options: EventRecorderOptions) {
    this.queue = new WorkQueue({
      workers: options.workers,
      baseBackoffMs: 1_000,
      maxBackoffMs: 60_000,
      process: (key) => this.flush(key),
    });
    this.queue.start();
  }

  record(dsoKey: string, dso: DsoObject, reason: string, message: string): void {
    const key = `${dsoKey}|${dso.metadata?.uid ?? ""}|${reason}`;
    const now = new Date();
    let series = this.series.get(key);
    if (series === undefined || now.getTime() - series.write.lastTimestamp.getTime() > this.options.windowMs) {
      series = { dsoKey, dso, write: { reason, message, count: 0, firstTimestamp: now, lastTimestamp: now } };
      this.series.set(key, series);
    }
    series.dso = dso;
    series.write = { ...series.write, message: truncate(message), count: series.write.count + 1, lastTimestamp: now };
    this.queue.add(key);
  }

  /** The DSO was deleted: its Events go with it. */
  forget(dsoKey: string): void {
    for (const [key, series] of this.series) {
      if (series.dsoKey !== dsoKey) continue;
      this.series.delete(key);
      this.queue.forget(key);
    }
  }

  drain(): Promise<void> {
    return this.queue.drain();
  }

  /** Series kept (bounded: each expires one window after its last occurrence). */
  get size(): number {
    return this.series.size;
  }

  private async flush(key: string): Promise<{ failed?: boolean; runAt?: number }> {
    const series = this.series.get(key);
    if (series === undefined) return {};
    const expiresAt = series.write.lastTimestamp.getTime() + this.options.windowMs;
    if (Date.now() >= expiresAt || !this.options.isLeader()) {
      this.series.delete(key);
      return {};
    }
    if (series.stored?.count === series.write.count) return { runAt: expiresAt };
    const write = series.write;
    try {
      if (series.stored !== undefined) {
        try {
          await this.options.api.update(series.dso, series.stored.name, write);
          series.stored = { name: series.stored.name, count: write.count };
          return { runAt: expiresAt };
        } catch (error) {
          if (!this.options.api.isNotFound(error)) throw error;
        }
      }
      series.stored = { name: await this.options.api.create(series.dso, write), count: write.count };
      return { runAt: expiresAt };
    } catch (error) {
      this.options.failed(key, error);
      return { failed: true, runAt: expiresAt };
    }
  }
}

/** The API server caps Event messages at 1 KiB. */
function truncate(message: string): string {
  return message.length > 1024 ? `${message.slice(0, 1021)}...` : message;
}
