/**
 * A keyed work queue, the client-go/controller-runtime model, for DSO reconciles and the
 * status and Event writes behind them:
 * - a key is queued at most once (adding it again while it waits changes nothing) and is
 *   processed by at most one worker at a time; added while in process, it runs once more after;
 * - at most `workers` keys are in process at once, so a burst (a member failing under a
 *   thousand DSOs) is worked through at a bounded rate instead of all at once;
 * - a failed key is retried after a per-key exponential backoff with jitter, reset by its
 *   next success; a key may also ask to run again at a time (a health deadline, a resync);
 *   one timer per key, the earliest wins;
 * - memory is bounded by the number of keys: nothing else grows with retries or time.
 *
 * Why not a library: p-queue and p-limit bound concurrency of promises but have no keys,
 * no "at most one in process per key" and no per-key backoff, which is most of this.
 * Time comes from the global timers, so tests drive it with node:test's mock timers.
 */
export interface WorkResult {
  /** The attempt failed: retry after the key's backoff (or at `runAt` if that is sooner). */
  failed?: boolean;
  /** Run the key again at this epoch ms (a health deadline, the next resync). */
  runAt?: number;
}

export interface WorkQueueOptions {
  workers: number;
  process: (key: string) => Promise<WorkResult>;
  /** First retry delay after a failure; doubles per failure in a row up to maxBackoffMs. */
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** [0, 1); jitter spreads retries of keys that failed together. */
  random?: () => number;
  /** Called when process throws: the key is retried like a failure. */
  onError?: (key: string, error: unknown) => void;
}

/** setTimeout fires at once beyond this (about 24.8 days); a longer wait wakes early, which is harmless. */
const MAX_TIMER_MS = 2_147_483_647;

export class WorkQueue {
  private running = false;
  /** Waiting keys, in the order they were added (a Set is insertion-ordered). */
  private readonly waiting = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added while in process: queued again when their current run ends. */
  private readonly again = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private idle: (() => void)[] = [];

  constructor(private readonly options: WorkQueueOptions) {
    if (!Number.isInteger(options.workers) || options.workers < 1) throw new Error(`workers must be a positive integer (got ${options.workers})`);
  }

  /** Accept keys again (after stop). */
  start(): void {
    this.running = true;
    this.pump();
  }

  /** Drops waiting keys, timers and backoff memory; keys in process finish (see drain). */
  stop(): void {
    this.running = false;
    this.waiting.clear();
    this.again.clear();
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.failures.clear();
  }

  add(key: string): void {
    if (!this.running) return;
    if (this.processing.has(key)) this.again.add(key);
    else this.waiting.add(key);
    this.pump();
  }

  /** Run `key` at epoch ms `at` (now if past), unless a timer for it already fires earlier. */
  addAt(key: string, at: number): void {
    if (!this.running) return;
    const existing = this.timers.get(key);
    if (existing !== undefined && existing.at <= at) return;
    if (existing !== undefined) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())));
    // A pending run (a resync, an Event's expiry ten minutes out) must not keep a stopped
    // runtime's process alive; a running one stays up through its servers and watches.
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** The key is gone (its object deleted): no timer, no retry, no backoff memory. */
  forget(key: string): void {
    this.waiting.delete(key);
    this.again.delete(key);
    this.failures.delete(key);
    const existing = this.timers.get(key);
    if (existing !== undefined) clearTimeout(existing.timer);
    this.timers.delete(key);
  }

  /** Keys waiting or in process (not those only on a timer). */
  get depth(): number {
    return this.waiting.size + this.processing.size;
  }

  /** Resolves once nothing waits and nothing is in process. */
  drain(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** The delay before retry number `n` (1-based): base·2^(n−1), capped, then jittered into [½d, d]. */
  backoffMs(failures: number): number {
    const d = Math.min(this.options.maxBackoffMs, this.options.baseBackoffMs * 2 ** Math.min(failures - 1, 30));
    return d / 2 + (d / 2) * (this.options.random ?? Math.random)();
  }

  private pump(): void {
    while (this.running && this.processing.size < this.options.workers && this.waiting.size > 0) {
      const key = this.waiting.values().next().value as string;
      this.waiting.delete(key);
      this.processing.add(key);
      void this.run(key);
    }
    if (this.depth === 0 && this.idle.length > 0) {
      const idle = this.idle;
      this.idle = [];
      for (const resolve of idle) resolve();
    }
  }

  private async run(key: string): Promise<void> {
    let result: WorkResult;
    try {
      result = await this.options.process(key);
    } catch (error) {
      this.options.onError?.(key, error);
      result = { failed: true };
    }
    this.processing.delete(key);
    if (this.running) this.schedule(key, result);
    if (this.again.delete(key) && this.running) this.waiting.add(key);
    this.pump();
  }

  private schedule(key: string, result: WorkResult): void {
    let at = result.runAt;
    if (result.failed) {
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      const retryAt = Date.now() + this.backoffMs(failures);
      at = at === undefined ? retryAt : Math.min(at, retryAt);
    } else {
      this.failures.delete(key);
    }
    if (at !== undefined) this.addAt(key, at);
  }
}
