import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import type { DsoObject, EventWrite } from "../members/hub";
import { EventRecorder } from "./event-recorder";

const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

const dso = (uid: string): DsoObject => ({ metadata: { namespace: "ns", name: "web", uid } });

/** An Event API whose calls stay open until released, with a hub that may refuse them. */
function harness(workers = 4) {
  const calls: Array<{ op: "create" | "update"; name?: string; event: EventWrite; release: () => void; fail: (code?: number) => void }> = [];
  let created = 0;
  let leading = true;
  const failures: string[] = [];
  const recorder = new EventRecorder({
    workers,
    windowMs: 600_000,
    isLeader: () => leading,
    failed: (key) => failures.push(key),
    api: {
      create: (_dso, event) =>
        new Promise<string>((resolve, reject) => {
          calls.push({ op: "create", event: { ...event }, release: () => resolve(`web.${++created}`), fail: (code = 500) => reject(Object.assign(new Error("hub"), { code })) });
        }),
      update: (_dso, name, event) =>
        new Promise<void>((resolve, reject) => {
          calls.push({ op: "update", name, event: { ...event }, release: () => resolve(), fail: (code = 500) => reject(Object.assign(new Error("hub"), { code })) });
        }),
      isNotFound: (error) => (error as { code?: number }).code === 404,
    },
  });
  const ops = () => calls.map((c) => `${c.op}${c.name ? ` ${c.name}` : ""} ${c.event.reason} x${c.event.count}`);
  return { recorder, calls, ops, failures, lose: () => (leading = false) };
}

describe("event recorder", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it("counts the same reason on the same DSO into one Event, occurrences in flight coalesced", async () => {
    const { recorder, calls, ops } = harness();
    recorder.record("ns/web", dso("u1"), "MemberExcluded", "member-2 excluded");
    await settle();
    recorder.record("ns/web", dso("u1"), "MemberExcluded", "again");
    recorder.record("ns/web", dso("u1"), "MemberExcluded", "and again");
    calls[0]!.release();
    await settle();
    assert.deepEqual(ops(), ["create MemberExcluded x1", "update web.1 MemberExcluded x3"]);
    assert.equal(calls[1]!.event.message, "and again");
    calls[1]!.release();
    await settle();
    mock.timers.tick(60_000);
    recorder.record("ns/web", dso("u1"), "MemberExcluded", "a minute later");
    await settle();
    assert.deepEqual(ops().slice(2), ["update web.1 MemberExcluded x4"]);
  });

  it("starts a new Event for another reason, another object, or after the window", async () => {
    const { recorder, calls, ops } = harness();
    recorder.record("ns/web", dso("u1"), "MemberExcluded", "m");
    recorder.record("ns/web", dso("u1"), "MemberRecovering", "m");
    recorder.record("ns/web", dso("u2"), "MemberExcluded", "m (recreated DSO)");
    await settle();
    for (const c of calls) c.release();
    await settle();
    mock.timers.tick(600_001);
    await settle();
    recorder.record("ns/web", dso("u1"), "MemberExcluded", "m");
    await settle();
    assert.deepEqual(ops(), ["create MemberExcluded x1", "create MemberRecovering x1", "create MemberExcluded x1", "create MemberExcluded x1"]);
  });

  it("creates the Event again when it was deleted (404 on update)", async () => {
    const { recorder, calls, ops } = harness();
    recorder.record("ns/web", dso("u1"), "Rebalanced", "m");
    await settle();
    calls[0]!.release();
    await settle();
    recorder.record("ns/web", dso("u1"), "Rebalanced", "m");
    await settle();
    calls[1]!.fail(404);
    await settle();
    assert.deepEqual(ops(), ["create Rebalanced x1", "update web.1 Rebalanced x2", "create Rebalanced x2"]);
  });

  it("retries a failed write with backoff and drops the series when its window ends", async () => {
    const { recorder, calls, failures } = harness();
    recorder.record("ns/web", dso("u1"), "MemberExcluded", "m");
    await settle();
    calls[0]!.fail();
    await settle();
    assert.equal(failures.length, 1);
    mock.timers.tick(1_000);
    await settle();
    assert.equal(calls.length, 2, "retried after the first backoff");
    calls[1]!.release();
    await settle();
    assert.equal(recorder.size, 1);
    mock.timers.tick(600_000);
    await settle();
    assert.equal(recorder.size, 0, "expired one window after its last occurrence");
  });

  it("writes nothing once leadership is lost", async () => {
    const { recorder, calls, lose } = harness();
    lose();
    recorder.record("ns/web", dso("u1"), "MemberExcluded", "m");
    await settle();
    assert.equal(calls.length, 0);
    assert.equal(recorder.size, 0);
  });

  it("keeps at most `workers` writes in flight for a thousand DSOs failing over together", async () => {
    const { recorder, calls } = harness(8);
    for (let i = 0; i < 1_000; i++) recorder.record(`ns/dso-${i}`, { metadata: { namespace: "ns", name: `dso-${i}`, uid: `u${i}` } }, "MemberExcluded", "m");
    await settle();
    assert.equal(calls.length, 8);
    recorder.forget("ns/dso-999");
    let open = calls.length;
    while (open > 0) {
      for (const c of calls.slice(-open)) c.release();
      const before = calls.length;
      await settle();
      open = calls.length - before;
      assert.ok(open <= 8);
    }
    assert.equal(calls.length, 999, "the forgotten DSO's Event is never written");
  });
});
