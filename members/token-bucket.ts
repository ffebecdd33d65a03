/**
 * Client-side rate limit per cluster, client-go's flowcontrol model: `qps` tokens a second,
 * at most `burst` saved up. A caller that finds no token reserves the next one and waits
 * for it, so waiting callers are served in order and never more than `qps` a second on
 * average. The callers are bounded (the runtime's workers), so the line of waiters is too.
 *
 * Why not a library: p-throttle and bottleneck count calls per window; this is the
 * QPS-and-burst contract users know from client-go's `--kube-api-qps/--kube-api-burst`,
 * and it is a dozen lines.
 */
export interface TokenBucketOptions {
  qps: number;
  burst: number;
  /** Epoch ms; injectable for tests. */
  now?: () => number;
}

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private readonly now: () => number;

  constructor(private readonly options: TokenBucketOptions) {
    if (!(options.qps > 0) || !(options.burst >= 1)) throw new Error(`rate limit needs qps > 0 and burst >= 1 (got qps ${options.qps}, burst ${options.burst})`);
    this.now = options.now ?? Date.now;
    this.tokens = options.burst;
    this.updatedAt = this.now();
  }

  /** Milliseconds the caller must wait for its token; the token is taken (reserved) now. */
  reserve(): number {
    const now = this.now();
    this.tokens = Math.min(this.options.burst, this.tokens + ((now - this.updatedAt) * this.options.qps) / 1000);
    this.updatedAt = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.options.qps;
  }

  async take(): Promise<void> {
    const waitMs = this.reserve();
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}
