import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import { WorkQueue, type WorkResult } from "./work-queue";

/** Lets every settled promise run its continuations. */
const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

/** A process function whose calls stay open until the test finishes them. */
function harness(workers: number, options: { random?: () => number } = {}) {
  const calls: Array<{ key: string; finish: (result?: WorkResult) => void; fail: () => void }> = [];
  const open = new Set<string>();
  let maxOpen = 0;
  const queue = new WorkQueue({
    workers,
    baseBackoffMs: 1_000,
    maxBackoffMs: 16_000,
    random: options.random ?? (() => 1),
    process: (key) =>
      new Promise<WorkResult>((resolve, reject) => {
        assert.ok(!open.has(key), `${key} processed twice at once`);
        open.add(key);
        maxOpen = Math.max(maxOpen, open.size);
        const done = () => open.delete(key);
        calls.push({ key, finish: (result = {}) => (done(), resolve(result)), fail: () => (done(), reject(new Error("member said 500"))) });
      }),
  });
  queue.start();
  const keys = () => calls.map((c) => c.key);
  const finishAll = async (result?: WorkResult) => {
    for (const call of calls.splice(0)) call.finish(result);
    await settle();
  };
  return { queue, calls, keys, finishAll, maxOpen: () => maxOpen };
}

describe("work queue", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it("runs at most `workers` keys at once and the rest in the order they came", async () => {
    const { queue, keys, calls, finishAll, maxOpen } = harness(3);
    for (let i = 0; i < 10; i++) queue.add(`k${i}`);
    await settle();
    assert.deepEqual(keys(), ["k0", "k1", "k2"]);
    assert.equal(queue.depth, 10);
    calls[1]!.finish();
    calls.splice(1, 1);
    await settle();
    assert.deepEqual(keys(), ["k0", "k2", "k3"]);
    while (calls.length > 0) await finishAll();
    assert.equal(maxOpen(), 3);
    assert.equal(queue.depth, 0);
  });

  it("queues a key once however often it is added, and once more if added while in process", async () => {
    const { queue, keys, finishAll } = harness(1);
    queue.add("a");
    queue.add("b");
    queue.add("b");
    queue.add("a"); // a is in process: runs again after
    queue.add("a");
    await settle();
    assert.deepEqual(keys(), ["a"]);
    await finishAll();
    assert.deepEqual(keys(), ["b"]);
    await finishAll();
    assert.deepEqual(keys(), ["a"]);
    await finishAll();
    assert.equal(queue.depth, 0);
  });

  it("retries a failed key after an exponential backoff, and a success resets it", async () => {
    const { queue, calls, keys } = harness(1);
    queue.add("web");
    await settle();
    const failNext = async () => {
      calls.shift()!.fail();
      await settle();
    };
    const ranAfter = async (ms: number) => {
      mock.timers.tick(ms - 1);
      await settle();
      const before = calls.length;
      mock.timers.tick(1);
      await settle();
      return before === 0 && calls.length === 1;
    };
    await failNext();
    assert.ok(await ranAfter(1_000), "first retry after 1 s");
    await failNext();
    assert.ok(await ranAfter(2_000), "second after 2 s");
    await failNext();
    assert.ok(await ranAfter(4_000), "third after 4 s");
    for (const wait of [8_000, 16_000, 16_000]) {
      await failNext();
      assert.ok(await ranAfter(wait), `then ${wait} ms (capped at 16 s)`);
    }
    calls.shift()!.finish();
    await settle();
    queue.add("web");
    await settle();
    await failNext();
    assert.ok(await ranAfter(1_000), "after a success the backoff starts again at 1 s");
    assert.deepEqual(keys(), ["web"]);
  });

  it("jitters retries into [d/2, d] so keys that failed together spread out", () => {
    const low = new WorkQueue({ workers: 1, baseBackoffMs: 1_000, maxBackoffMs: 60_000, random: () => 0, process: async () => ({}) });
    const high = new WorkQueue({ workers: 1, baseBackoffMs: 1_000, maxBackoffMs: 60_000, random: () => 0.999, process: async () => ({}) });
    assert.equal(low.backoffMs(3), 2_000);
    assert.ok(high.backoffMs(3) > 3_990 && high.backoffMs(3) <= 4_000);
    assert.equal(low.backoffMs(40), 30_000);
  });

  it("runs a key at the time it asked for; the earliest of two times wins", async () => {
    const { queue, keys, finishAll } = harness(2);
    queue.add("web");
    await settle();
    await finishAll({ runAt: Date.now() + 30_000 });
    queue.addAt("web", Date.now() + 5_000);
    queue.addAt("web", Date.now() + 60_000);
    mock.timers.tick(4_999);
    await settle();
    assert.deepEqual(keys(), []);
    mock.timers.tick(1);
    await settle();
    assert.deepEqual(keys(), ["web"], "at the 5 s deadline");
    await finishAll();
    mock.timers.tick(60_000);
    await settle();
    assert.deepEqual(keys(), [], "one timer per key: each run asks for its next time itself");
  });

  it("a failure with a sooner deadline runs at the deadline", async () => {
    const { queue, calls, keys } = harness(1);
    queue.add("web");
    await settle();
    calls.shift()!.finish({ failed: true, runAt: Date.now() + 100 });
    await settle();
    mock.timers.tick(100);
    await settle();
    assert.deepEqual(keys(), ["web"]);
  });

  it("stop drops waiting keys and timers; forget drops one key's timer and backoff", async () => {
    const { queue, keys, calls, finishAll } = harness(1);
    queue.add("a");
    queue.add("b");
    queue.addAt("c", Date.now() + 1_000);
    await settle();
    queue.forget("c");
    mock.timers.tick(1_000);
    await settle();
    assert.deepEqual(keys(), ["a"]);
    queue.stop();
    queue.add("d");
    calls.shift()!.finish({ runAt: Date.now() + 10 });
    await settle();
    mock.timers.tick(1_000);
    await settle();
    assert.deepEqual(keys(), [], "neither b nor a's timer nor d ran after stop");
    await queue.drain();
    queue.start();
    queue.add("e");
    await settle();
    assert.deepEqual(keys(), ["e"]);
    await finishAll();
  });

  it("drain waits for keys in process, including one added again meanwhile", async () => {
    const { queue, calls, finishAll } = harness(2);
    queue.add("a");
    await settle();
    let drained = false;
    void queue.drain().then(() => (drained = true));
    queue.add("a");
    calls.shift()!.finish();
    await settle();
    assert.equal(drained, false);
    await finishAll();
    assert.equal(drained, true);
  });

  it("a thousand keys failing together retry spread over the backoff window, with one timer and one count each", async () => {
    let n = 0;
    const { queue, calls } = harness(1_000, { random: () => (n++ % 100) / 100 });
    for (let i = 0; i < 1_000; i++) queue.add(`k${i}`);
    await settle();
    for (const call of calls.splice(0)) call.fail();
    await settle();
    const internals = queue as unknown as { timers: Map<string, unknown>; failures: Map<string, number> };
    assert.equal(internals.timers.size, 1_000);
    assert.equal(internals.failures.size, 1_000);
    mock.timers.tick(499);
    await settle();
    assert.equal(calls.length, 0, "none before d/2");
    mock.timers.tick(251);
    await settle();
    assert.equal(calls.length, 510, "about half by 3d/4 (r <= 0.5)");
    mock.timers.tick(250);
    await settle();
    assert.equal(calls.length, 1_000);
    assert.equal(internals.timers.size, 0);
  });
});
