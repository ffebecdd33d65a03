import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DsoStatus } from "../schema/dso";
import { StatusWriter } from "./status-writer";

const status = (totalCurrentReplicas: number): DsoStatus => ({ totalCurrentReplicas });

/** A hub whose status writes stay open until the test releases them. */
function harness(options: { leader?: () => boolean; failOn?: number; workers?: number } = {}) {
  const writes: Array<{ key: string; status: DsoStatus; release: () => void }> = [];
  const failures: string[] = [];
  let written = 0;
  const writer = new StatusWriter({
    write: (namespace, name, s) =>
      new Promise<void>((resolve, reject) => {
        const release = () => (s.totalCurrentReplicas === options.failOn ? reject(new Error("hub said 500")) : resolve());
        writes.push({ key: `${namespace}/${name}`, status: s, release });
      }),
    isLeader: options.leader ?? (() => true),
    failed: (key, error) => failures.push(`${key}: ${(error as Error).message}`),
    written: () => written++,
    workers: options.workers ?? 4,
    retryMs: 20,
  });
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { writer, writes, failures, settle, written: () => written };
}

describe("status writer", () => {
  it("writes nothing when the hub already has the status", async () => {
    const { writer, writes, settle } = harness();
    writer.submit("ns/web", status(3), () => status(3));
    await settle();
    assert.equal(writes.length, 0);
  });

  it("keeps one write in flight per DSO and only the newest status behind it", async () => {
    const { writer, writes, settle, written } = harness();
    writer.submit("ns/web", status(1), () => undefined);
    writer.submit("ns/web", status(2), () => undefined);
    writer.submit("ns/web", status(3), () => undefined);
    writer.submit("ns/other", status(9), () => undefined);
    await settle();
    assert.deepEqual(writes.map((w) => [w.key, w.status.totalCurrentReplicas]), [["ns/web", 1], ["ns/other", 9]]);
    writes[0]!.release();
    writes[1]!.release();
    await settle();
    assert.deepEqual(writes.map((w) => [w.key, w.status.totalCurrentReplicas]), [["ns/web", 1], ["ns/other", 9], ["ns/web", 3]]);
    writes[2]!.release();
    await writer.drain();
    assert.equal(written(), 3);
    // What was written is the reference from now on, not the status found when it started.
    writer.submit("ns/web", status(3), () => status(1));
    await settle();
    assert.equal(writes.length, 3);
  });

  it("skips a queued status equal to the one just written", async () => {
    const { writer, writes, settle } = harness();
    writer.submit("ns/web", status(1), () => undefined);
    writer.submit("ns/web", status(2), () => undefined);
    writer.submit("ns/web", status(1), () => undefined);
    await settle();
    writes[0]!.release();
    await writer.drain();
    assert.equal(writes.length, 1);
  });

  it("reports a failed write and writes the same status again when it is submitted again", async () => {
    const { writer, writes, failures, settle, written } = harness({ failOn: 4 });
    writer.submit("ns/web", status(4), () => status(2));
    await settle();
    writes[0]!.release();
    await writer.drain();
    assert.deepEqual(failures, ["ns/web: hub said 500"]);
    assert.equal(written(), 0);
    writer.submit("ns/web", status(4), () => status(2));
    await settle();
    assert.equal(writes.length, 2, "the hub still has the old status, so the retry writes");
  });

  it("retries a failed write by itself after a backoff, unless a newer status replaced it", async () => {
    const { writer, writes, failures, settle, written } = harness({ failOn: 4 });
    writer.submit("ns/web", status(4), () => status(2));
    await settle();
    writes[0]!.release();
    await settle();
    assert.equal(failures.length, 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(writes.length, 2, "written again after the backoff");
    writer.submit("ns/web", status(5), () => status(2));
    writes[1]!.release();
    await settle();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(writes.map((w) => w.status.totalCurrentReplicas), [4, 4, 5], "the retry of 4 gave way to 5");
    writes[2]!.release();
    await writer.drain();
    assert.equal(written(), 1);
  });

  it("has at most `workers` writes in flight across DSOs", async () => {
    const { writer, writes, settle } = harness({ workers: 2 });
    for (let i = 0; i < 5; i++) writer.submit(`ns/dso-${i}`, status(i + 1), () => undefined);
    await settle();
    assert.equal(writes.length, 2);
    writes[0]!.release();
    await settle();
    assert.equal(writes.length, 3);
    for (const w of writes) w.release();
    await settle();
    for (const w of writes) w.release();
    await writer.drain();
    assert.equal(writes.length, 5);
  });

  it("writes nothing without the lease, and a new term compares against the hub again", async () => {
    let leader = false;
    const { writer, writes, settle } = harness({ leader: () => leader });
    writer.submit("ns/web", status(5), () => undefined);
    await writer.drain();
    assert.equal(writes.length, 0);
    leader = true;
    writer.reset();
    writer.submit("ns/web", status(5), () => status(5));
    await settle();
    assert.equal(writes.length, 0, "the hub holds 5 already");
  });

  it("drops what is queued for a deleted DSO", async () => {
    const { writer, writes, settle } = harness();
    writer.submit("ns/web", status(1), () => undefined);
    writer.submit("ns/web", status(2), () => undefined);
    await settle();
    writer.forget("ns/web");
    writes[0]!.release();
    await writer.drain();
    assert.equal(writes.length, 1);
  });
});
