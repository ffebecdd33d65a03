import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { triggerPolicyArb } from "../../test/support/trigger-policy";
import { type Recommendation, type TotalDecision, type TotalInput, desiredTotal } from "./resource-trigger";
import { type TriggerMemory, carriedForward, compactHistory, nextTimedChange } from "./watched-trigger";

const T0 = Date.parse("2025-11-28T12:00:00Z");
const s = (seconds: number) => T0 + seconds * 1000;

type Policy = Omit<TotalInput, "value" | "currentTotal" | "now" | "history" | "lastActiveAt">;

/** One evaluation as the runtime makes it: the memory carried up to `now`, the history compacted after. */
function evaluate(policy: Policy, value: number, currentTotal: number, memory: TriggerMemory | undefined, now: number): { decision: TotalDecision; memory: TriggerMemory } {
  const decision = desiredTotal({ ...policy, value, currentTotal, now, ...carriedForward(memory, now) });
  return { decision, memory: { history: compactHistory(decision.history), lastActiveAt: decision.lastActiveAt, active: decision.active } };
}

describe("a watched trigger: examples", () => {
  const policy: Policy = { targetValue: 5, min: 1, max: 10 };

  it("wakes when the stabilization window lets a held scale-down go, and not before or after", () => {
    const up = evaluate(policy, 50, 2, undefined, T0);
    assert.equal(up.decision.total, 10);
    assert.equal(nextTimedChange(up.decision, policy, T0), undefined, "at the top: only a new value changes it");
    const held = evaluate(policy, 10, 10, up.memory, s(60));
    assert.equal(held.decision.total, 10);
    // The high recommendation was in force until the value dropped at 60 s: held until 360 s.
    assert.equal(nextTimedChange(held.decision, policy, s(60)), s(360));
    assert.equal(evaluate(policy, 10, 10, held.memory, s(359.999)).decision.total, 10);
    const down = evaluate(policy, 10, 10, held.memory, s(360));
    assert.equal(down.decision.total, 2);
    assert.equal(nextTimedChange(down.decision, policy, s(360)), undefined);
  });

  it("counts the window from the last moment the high value was in force, as a poll at every instant would", () => {
    const up = evaluate(policy, 50, 2, undefined, T0);
    // No event for 200 s, then the value drops: the HPA would have recorded 10 at every sync up to 200 s.
    const dropped = evaluate(policy, 10, 10, up.memory, s(200));
    assert.equal(dropped.decision.total, 10);
    assert.equal(nextTimedChange(dropped.decision, policy, s(200)), s(500));
    // Without carrying forward, the only 10 on record (at 0 s) would have let it go at 300 s.
    const uncarried = desiredTotal({ ...policy, value: 10, currentTotal: 10, now: s(300), history: up.decision.history });
    assert.equal(uncarried.total, 2);
    assert.equal(evaluate(policy, 10, 10, dropped.memory, s(300)).decision.total, 10);
  });

  it("wakes when cooldownPeriod ends, counted from when the value went inactive", () => {
    const zeroMin: Policy = { ...policy, min: 0, cooldownMs: 60_000 };
    const busy = evaluate(zeroMin, 20, 0, undefined, T0);
    assert.equal(busy.decision.total, 4);
    const quiet = evaluate(zeroMin, 0, 4, busy.memory, s(100));
    assert.deepEqual([quiet.decision.total, quiet.decision.active], [4, false]);
    assert.equal(nextTimedChange(quiet.decision, zeroMin, s(100)), s(160));
    const idle = evaluate(zeroMin, 0, 4, quiet.memory, s(160));
    assert.equal(idle.decision.total, 0);
    assert.equal(nextTimedChange(idle.decision, zeroMin, s(160)), undefined);
  });

  it("takes the earlier of a window's end and cooldown's end", () => {
    const zeroMin: Policy = { ...policy, min: 0, cooldownMs: 600_000, scaleDownStabilizationMs: 30_000 };
    const busy = evaluate(zeroMin, 40, 0, undefined, T0);
    const quiet = evaluate(zeroMin, 0, busy.decision.total, busy.memory, s(10));
    assert.equal(nextTimedChange(quiet.decision, zeroMin, s(10)), s(40));
  });

  it("compacts the history to the entries that can still be the window's highest", () => {
    const history: Recommendation[] = [
      { at: s(0), total: 9 },
      { at: s(10), total: 6 },
      { at: s(20), total: 7 },
      { at: s(30), total: 7 },
      { at: s(40), total: 3 },
    ];
    assert.deepEqual(compactHistory(history), [history[0], history[3], history[4]]);
    assert.deepEqual(compactHistory([]), []);
  });

  it("carries nothing forward the first time, and a recommendation made now is not doubled", () => {
    assert.deepEqual(carriedForward(undefined, T0), { history: [], lastActiveAt: undefined });
    const memory: TriggerMemory = { history: [{ at: T0, total: 3 }], lastActiveAt: T0, active: true };
    assert.deepEqual(carriedForward(memory, T0), { history: memory.history, lastActiveAt: T0 });
    assert.deepEqual(carriedForward({ ...memory, active: false }, s(5)), { history: [...memory.history, { at: s(5), total: 3 }], lastActiveAt: T0 });
  });
});

// ---------------------------------------------------------------------------------------
// Properties.

const policyArb = triggerPolicyArb("whole");

/** Values changing at random moments, as a watch delivers them. */
const runArb = fc.array(fc.record({ dt: fc.integer({ min: 1, max: 400_000 }), value: fc.integer({ min: 0, max: 20_000 }) }), { minLength: 1, maxLength: 12 });

describe("a watched trigger: properties", () => {
  it("compacting the history changes no decision", () => {
    const historyArb = fc.array(fc.record({ dt: fc.integer({ min: 0, max: 200_000 }), total: fc.integer({ min: 0, max: 150 }) }), { maxLength: 12 });
    fc.assert(
      fc.property(policyArb, historyArb, fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 150 }), fc.integer({ min: 0, max: 900_000 }), (policy, steps, value, currentTotal, after) => {
        let at = T0;
        const history = steps.map((step) => ({ at: (at += step.dt), total: step.total }));
        const now = at + after;
        const full = desiredTotal({ ...policy, value, currentTotal, now, history });
        const compacted = desiredTotal({ ...policy, value, currentTotal, now, history: compactHistory(history) });
        assert.equal(compacted.total, full.total);
      }),
      { numRuns: 2000 },
    );
  });

  it("between events, the total changes no earlier than nextTimedChange says", () => {
    fc.assert(
      fc.property(policyArb, runArb, fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { minLength: 1, maxLength: 5 }), (policy, run, fractions) => {
        let now = T0;
        let total = 0;
        let memory: TriggerMemory | undefined;
        for (const step of run) {
          now += step.dt;
          // The event, then the re-evaluations our own write of the total triggers, until it settles.
          let settled = false;
          let decision: TotalDecision | undefined;
          for (let round = 0; round < 5 && !settled; round++) {
            const next = evaluate(policy, step.value, total, memory, now);
            settled = next.decision.total === total && round > 0;
            ({ decision, memory } = next);
            total = next.decision.total;
          }
          fc.pre(settled);
          const wake = nextTimedChange(decision!, policy, now);
          // Nothing may change strictly before the wake-up (or ever, when there is none).
          const until = wake ?? now + 2 * 600_000;
          for (const f of fractions) {
            const t = now + 1 + Math.floor(f * (until - now - 1));
            if (t >= until) continue;
            const quiet = evaluate(policy, step.value, total, memory, t);
            assert.equal(quiet.decision.total, total, `value ${step.value} at ${now - T0}: total ${total}, but ${quiet.decision.total} at ${t - T0} before the wake-up at ${wake === undefined ? "never" : wake - T0}`);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it("following the timers with no event, the total settles and the timers stop", () => {
    fc.assert(
      fc.property(policyArb, runArb, (policy, run) => {
        let now = T0;
        let total = 0;
        let memory: TriggerMemory | undefined;
        for (const step of run) {
          now += step.dt;
          let decision: TotalDecision | undefined;
          for (let round = 0; round < 3; round++) {
            ({ decision, memory } = evaluate(policy, step.value, total, memory, now));
            total = decision.total;
          }
          // Follow the timers without events: each one either changes the total or sets a later timer.
          let wake = nextTimedChange(decision!, policy, now);
          let wakes = 0;
          while (wake !== undefined && wakes < 50) {
            assert.ok(wake > now);
            now = wake;
            ({ decision, memory } = evaluate(policy, step.value, total, memory, now));
            total = decision.total;
            wake = nextTimedChange(decision, policy, now);
            wakes++;
          }
          assert.ok(wakes < 50, "the timers stop once the total has settled");
        }
      }),
      { numRuns: 300 },
    );
  });
});
