import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TokenBucket } from "./token-bucket";

describe("token bucket", () => {
  it("lets a burst through at once, then one request per 1/qps, waiters in order", () => {
    let now = 0;
    const bucket = new TokenBucket({ qps: 10, burst: 3, now: () => now });
    assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0]);
    assert.deepEqual([bucket.reserve(), bucket.reserve()], [100, 200]);
    now = 1_000;
    // 10 tokens earned, 2 owed, capped at the burst: 3 free again.
    assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0, 100]);
  });

  it("never serves more than burst + qps·t in t, however many wait", () => {
    const bucket = new TokenBucket({ qps: 50, burst: 100, now: () => 0 });
    const servedAt = Array.from({ length: 2_000 }, () => bucket.reserve());
    assert.equal(servedAt.filter((at) => at <= 10_000).length, 100 + 50 * 10);
    assert.deepEqual(servedAt.slice(99, 102), [0, 20, 40]);
  });

  it("refuses a rate that is no rate", () => {
    assert.throws(() => new TokenBucket({ qps: 0, burst: 1 }), /qps > 0/);
    assert.throws(() => new TokenBucket({ qps: 1, burst: 0 }), /burst >= 1/);
  });
});
