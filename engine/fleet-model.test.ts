/**
 * The engine against members that behave as real clusters do (engine/fleet-model.ts):
 * partitions that leave pods serving, clusters that die and come back with their own
 * Deployments, readiness lag, pods that never become ready, flapping at every period
 * around the grace period and probation, staggered returns, several members down.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type FleetEvent, type FleetRun, type FleetScenario, type ModelMember, runFleet } from "./fleet-model";
import { forgivenAfterMs, probationMs } from "./health";
import type { MemberPlan } from "./plan";
import { settle } from "./settle";

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const STEP = 10 * SECOND;

function scenario(partial: Partial<FleetScenario> & Pick<FleetScenario, "members" | "events">): FleetScenario {
  return {
    workload: "default/web",
    policy: { gracePeriodMs: MINUTE, maxRebalancePercentage: 50 },
    total: 10,
    stepMs: STEP,
    durationMs: 20 * MINUTE,
    readyAfterMs: 0,
    ...partial,
  };
}

function weightedShares(s: FleetScenario, weights: Readonly<Record<string, number>>, total: number): Record<string, number> {
  const members = s.members.map((m) => ({ ...m, weight: weights[m.name] ?? m.weight, observation: { healthy: true as const, readyReplicas: 0, currentReplicas: 0 } }));
  const placed = settle({ workload: s.workload, totalReplicas: total, policy: s.policy, previous: {}, now: 0, members }).plan;
  return Object.fromEntries(placed.members.map((m) => [m.name, m.desiredReplicas]));
}

/** Every step's writes never take ready replicas away unless ready replicas elsewhere cover the total. */
function assertCapacityKept(run: FleetRun): void {
  for (const step of run.trace) {
    const floor = Math.min(step.input.totalReplicas, step.reachableReadyBefore);
    assert.ok(
      step.reachableReadyAfter >= floor,
      `at ${step.at / SECOND}s reachable ready capacity fell from ${step.reachableReadyBefore} to ${step.reachableReadyAfter} (total ${step.input.totalReplicas}); writes ${JSON.stringify(step.writes)}`,
    );
  }
}

/**
 * Between two changes (an event, a member changing state, or a member's probation ending)
 * no member's Deployment is asked for replicas in changing directions: each change causes at most one reversal
 * per member.
 */
function assertNoPingPong(run: FleetRun, events: readonly FleetEvent[], gracePeriodMs: number): void {
  const eventTimes = new Set(events.map((e) => Math.ceil(e.at / STEP) * STEP));
  const onProbation = (m: MemberPlan, at: number) => m.state === "Recovering" && at - m.since < probationMs(m.failures ?? 0, gracePeriodMs);
  const direction = new Map<string, number>();
  run.trace.forEach((step, k) => {
    if (k === 0) return;
    const before = run.trace[k - 1]!.plan.members;
    const changed = step.plan.members.some((m, i) => m.state !== before[i]!.state || onProbation(m, step.at) !== onProbation(before[i]!, step.at - STEP));
    if (eventTimes.has(step.at) || changed) direction.clear();
    // What each member's Deployment is asked for: the plan's record of an excluded member
    // drops to 0 and jumps back to what it runs on its return, though nothing was written.
    const specs = run.steps[k]!.members;
    const specsBefore = run.steps[k - 1]!.members;
    specs.forEach((m, i) => {
      const delta = Math.sign(m.desiredReplicas - specsBefore[i]!.desiredReplicas);
      if (delta === 0) return;
      const seen = direction.get(m.name);
      assert.ok(seen === undefined || seen === delta, `${m.name} reversed at ${step.at / SECOND}s with no change in health or input (${specsBefore[i]!.desiredReplicas} -> ${m.desiredReplicas})`);
      direction.set(m.name, delta);
    });
  });
}

function replicaMoves(run: FleetRun): number {
  return Object.values(run.summary.moves).reduce((sum, m) => sum + m.added + m.removed, 0);
}

/** The README's bound on replicas one flapping member can move per hour (see "Flapping"). */
function flappingBoundPerHour(gracePeriodMs: number, total: number): number {
  const readmissionsPerHour = 5 + Math.floor((60 * MINUTE) / forgivenAfterMs(gracePeriodMs));
  return (readmissionsPerHour + 1) * 3 * total;
}

describe("fleet model: what a member does while the hub cannot see it", () => {
  const ab: ModelMember[] = [{ name: "a", weight: 1 }, { name: "b", weight: 1 }];

  it("a partitioned member keeps its pods through its return: nothing is deleted and recreated", () => {
    const run = runFleet(scenario({ members: ab, events: [{ at: MINUTE, down: "b", pods: "keep" }, { at: 3 * MINUTE, up: "b" }] }));
    const b = run.steps.map((s) => s.members.find((m) => m.name === "b")!);
    assert.ok(b.every((m) => m.desiredReplicas === 5 && m.readyReplicas === 5), `b: ${b.map((m) => `${m.desiredReplicas}/${m.readyReplicas}`).join(" ")}`);
    assert.deepEqual(run.summary.moves.b, { writes: 0, added: 0, removed: 0 });
    // a took over b's share while b was excluded and gave it back once b was trusted again.
    assert.deepEqual(run.summary.moves.a, { writes: 2, added: 5, removed: 5 });
    const onProbation = run.steps.find((s) => s.at === 3 * MINUTE + STEP)!.members.find((m) => m.name === "b")!;
    assert.equal(onProbation.state, "Recovering");
    assert.match(onProbation.description, /keeps the 5 replicas it runs; replicas return once it has stayed healthy for 1m/);
    assertCapacityKept(run);
  });

  it("a returns with its pods while b is down: the only reachable capacity is never scaled away", () => {
    // a fails, b fails, a answers again with its pods ready: before, a was held at 0 for its whole probation.
    const run = runFleet(
      scenario({ members: ab, events: [{ at: MINUTE, down: "a", pods: "keep" }, { at: 3 * MINUTE, down: "b", pods: "keep" }, { at: 5 * MINUTE, up: "a" }] }),
    );
    const afterReturn = run.steps.filter((s) => s.at >= 5 * MINUTE);
    for (const step of afterReturn) {
      const reachableReady = step.members.filter((m) => m.reachable).reduce((sum, m) => sum + m.readyReplicas, 0);
      assert.ok(reachableReady >= 5, `at ${step.at / SECOND}s only ${reachableReady} reachable ready`);
    }
    const last = run.steps.at(-1)!.members;
    assert.deepEqual(last.map((m) => [m.name, m.desiredReplicas, m.state]), [["a", 10, "Ready"], ["b", 10, "Excluded"]]);
    assertCapacityKept(run);
  });

  it("a cluster that died returns with its own Deployment; its pods come back by its own controller and nothing is lowered before they are ready", () => {
    const run = runFleet(
      scenario({ members: ab, readyAfterMs: 30 * SECOND, events: [{ at: MINUTE, down: "b", pods: "lose" }, { at: 4 * MINUTE, up: "b" }] }),
    );
    assertCapacityKept(run);
    assert.ok(run.summary.lowestReachableReadyCapacity >= 5);
    // b's spec stayed 5 in its own etcd; the hub never wrote it.
    assert.equal(run.summary.moves.b.writes, 0);
    const last = run.steps.at(-1)!.members;
    assert.deepEqual(last.map((m) => [m.desiredReplicas, m.readyReplicas]), [[5, 5], [5, 5]]);
  });

  it("one pod that never becomes ready does not stall a rebalance, and the plan says what moves wait for", () => {
    const members: ModelMember[] = [{ name: "a", weight: 1 }, { name: "b", weight: 1 }];
    const run = runFleet(
      scenario({
        members,
        total: 20,
        policy: { gracePeriodMs: MINUTE, maxRebalancePercentage: 5 },
        durationMs: 60 * MINUTE,
        events: [{ at: 0, unready: { b: 1 } }, { at: STEP, weight: { a: 1, b: 3 } }, { at: 40 * MINUTE, unready: { b: 0 } }],
      }),
    );
    const at = (t: number) => run.steps.find((s) => s.at === t)!.members.map((m) => [m.desiredReplicas, m.readyReplicas]);
    // b's first new pod never becomes ready; the rebalance goes on without it. a keeps one
    // replica more than its share, because without it ready capacity would be 19 of 20.
    assert.deepEqual(at(30 * MINUTE), [[6, 6], [15, 14]]);
    assert.ok(run.trace.find((s) => s.at === 30 * MINUTE)!.plan.notes.includes("scale-down of 1 replicas deferred until replacements are ready"));
    assert.deepEqual(at(60 * MINUTE), [[5, 5], [15, 15]], "the last move completes once b's pod is healed");
    assert.ok(run.trace.some((s) => s.plan.notes.some((n) => /moves wait for 1 on b to become ready/.test(n))), "a waiting move names what it waits for");
    assert.ok(run.trace.some((s) => s.plan.notes.some((n) => /replicas on b not ready after 1m: moves no longer wait for them/.test(n))));
    assertCapacityKept(run);
  });

  it("weight 0 drains a member make-before-break and keeps it in the fleet", () => {
    const run = runFleet(scenario({ members: ab, readyAfterMs: 20 * SECOND, events: [{ at: MINUTE, weight: { b: 0 } }, { at: 10 * MINUTE, weight: { b: 1 } }] }));
    assertCapacityKept(run);
    assert.ok(run.summary.lowestReadyCapacity >= 10, `ready capacity fell to ${run.summary.lowestReadyCapacity}`);
    const drained = run.steps.find((s) => s.at === 9 * MINUTE)!.members;
    assert.deepEqual(drained.map((m) => [m.name, m.desiredReplicas, m.state]), [["a", 10, "Ready"], ["b", 0, "Drained"]]);
    assert.match(drained[1]!.description, /Weight 0: drained; holds no replicas/);
    assert.ok(run.steps.some((s) => s.members[1]!.state === "Draining"));
    // Time alone changes nothing a status shows: a drained member keeps the moment it was drained.
    const drainedSince = new Set(run.trace.map((t) => t.plan.members[1]!).filter((m) => m.state === "Drained").map((m) => m.since));
    assert.equal(drainedSince.size, 1, `Drained since ${[...drainedSince].join(", ")}`);
    const back = run.steps.at(-1)!.members;
    assert.deepEqual(back.map((m) => [m.desiredReplicas, m.state]), [[5, "Ready"], [5, "Ready"]]);
  });

  it("members returning a few steps apart never overshoot: nobody is raised only to be lowered again", () => {
    const abc: ModelMember[] = [{ name: "a", weight: 1 }, { name: "b", weight: 1 }, { name: "c", weight: 2 }];
    // The total doubles while a and b are away: each returns with half its new share and is
    // raised in budgeted steps; b returns 30 s after a.
    const run = runFleet(
      scenario({
        members: abc,
        total: 20,
        policy: { gracePeriodMs: MINUTE, maxRebalancePercentage: 10 },
        durationMs: 30 * MINUTE,
        events: [{ at: MINUTE, down: "a", pods: "keep" }, { at: MINUTE, down: "b", pods: "keep" }, { at: 3 * MINUTE, total: 40 }, { at: 5 * MINUTE, up: "a" }, { at: 5 * MINUTE + 30 * SECOND, up: "b" }],
      }),
    );
    for (const name of ["a", "b", "c"]) {
      const specs = run.steps.filter((s) => s.at >= 5 * MINUTE).map((s) => s.members.find((m) => m.name === name)!.desiredReplicas);
      const directions = specs.slice(1).map((v, k) => Math.sign(v - specs[k]!)).filter((d) => d !== 0);
      assert.ok(directions.every((d) => d === directions[0]), `${name} went ${specs.join(" ")}`);
    }
    assert.deepEqual(run.steps.at(-1)!.members.map((m) => m.desiredReplicas), [10, 10, 20]);
    assertCapacityKept(run);
  });

  it("notes say what is true when every member is down", () => {
    const run = runFleet(scenario({ members: ab, events: [{ at: MINUTE, down: "a", pods: "keep" }, { at: MINUTE, down: "b", pods: "keep" }] }));
    const last = run.trace.at(-1)!.plan;
    assert.deepEqual(last.notes, ["no healthy member can take replicas: every member keeps its replicas"]);
    assert.ok(last.members.every((m) => m.state === "Excluded" && /keeps its 5$/.test(m.description)), last.members.map((m) => m.description).join("; "));
  });
});

describe("fleet model: flapping", () => {
  it("probation grows with each failure in a row, is capped, and is forgiven after a long healthy stretch", () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 9].map((n) => probationMs(n, MINUTE) / MINUTE), [1, 2, 4, 8, 16, 16, 16]);
    assert.equal(probationMs(1, 0), 0, "a first return after grace 0 is trusted at once, as before");
    assert.equal(probationMs(2, 0), 20 * SECOND, "a grace of 0 still doubles from 10 s");
    assert.equal(forgivenAfterMs(MINUTE), 16 * MINUTE);
  });

  it("a member down 70 s and up 80 s with a 60 s grace moves a bounded number of replicas per hour", () => {
    const members: ModelMember[] = [{ name: "a", weight: 1 }, { name: "b", weight: 1 }, { name: "c", weight: 1 }];
    const events: FleetEvent[] = [];
    for (let at = MINUTE; at < 61 * MINUTE; at += 150 * SECOND) events.push({ at, down: "c", pods: "keep" }, { at: at + 70 * SECOND, up: "c" });
    const run = runFleet(scenario({ members, total: 12, durationMs: 61 * MINUTE, events }));
    const moves = replicaMoves(run);
    assert.ok(moves <= flappingBoundPerHour(MINUTE, 12), `${moves} replicas moved in an hour`);
    // Before damping every cycle moved c's share out and back: 384 replicas in 144 writes. Now 12 in 6.
    assert.ok(moves <= 24, `${moves} replicas moved, ${run.summary.memberWrites} writes`);
    const described = run.steps.flatMap((s) => s.members).find((m) => /probation lengthened: excluded \d times in a row/.test(m.description));
    assert.ok(described, "the description says why probation is longer");
    assertCapacityKept(run);
  });

  it("property: whatever its period, one flapping member moves at most the stated bound per hour", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 10 * SECOND, 30 * SECOND, MINUTE, 2 * MINUTE),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 60 }),
        fc.constantFrom<"keep" | "lose">("keep", "lose"),
        (grace, total, pct, downSteps, upSteps, pods) => {
          const members: ModelMember[] = [{ name: "a", weight: 2 }, { name: "b", weight: 1 }, { name: "c", weight: 1 }];
          const events: FleetEvent[] = [];
          for (let at = MINUTE; at < 61 * MINUTE; at += (downSteps + upSteps) * STEP) events.push({ at, down: "c", pods }, { at: at + downSteps * STEP, up: "c" });
          const run = runFleet(scenario({ members, total, policy: { gracePeriodMs: grace, maxRebalancePercentage: pct }, durationMs: 61 * MINUTE, readyAfterMs: STEP, events }));
          const moves = replicaMoves(run);
          assert.ok(moves <= flappingBoundPerHour(grace, total), `grace ${grace}, down ${downSteps} up ${upSteps} steps: ${moves} replicas moved, bound ${flappingBoundPerHour(grace, total)}`);
          assertCapacityKept(run);
        },
      ),
      { numRuns: 150 },
    );
  });
});

// ---- properties over random outages, returns, total and weight changes ----

interface Generated {
  s: FleetScenario;
  /** Weights and total once every event has happened. */
  finalWeights: Record<string, number>;
  finalTotal: number;
}

const generatedArb: fc.Arbitrary<Generated> = fc
  .record({
    names: fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/), { minLength: 2, maxLength: 5 }),
    grace: fc.constantFrom(0, 10 * SECOND, 30 * SECOND, MINUTE),
    pct: fc.integer({ min: 1, max: 100 }),
    total: fc.integer({ min: 1, max: 60 }),
    readyAfter: fc.constantFrom(0, STEP, 30 * SECOND),
  })
  .chain(({ names, grace, pct, total, readyAfter }) =>
    fc.record({
      weights: fc.tuple(...names.map(() => fc.integer({ min: 0, max: 10 }))).filter((ws) => ws.some((w) => w > 0)),
      outages: fc.tuple(
        ...names.map(() =>
          fc.array(fc.record({ gap: fc.integer({ min: 1, max: 40 }), length: fc.integer({ min: 1, max: 40 }), pods: fc.constantFrom<"keep" | "lose">("keep", "lose") }), { maxLength: 3 }),
        ),
      ),
      totalChange: fc.option(fc.record({ at: fc.integer({ min: 1, max: 100 }), total: fc.integer({ min: 0, max: 60 }) }), { nil: undefined }),
      weightChange: fc.option(fc.record({ at: fc.integer({ min: 1, max: 100 }), member: fc.nat(), weight: fc.integer({ min: 0, max: 10 }) }), { nil: undefined }),
      unready: fc.option(fc.record({ at: fc.integer({ min: 0, max: 100 }), member: fc.nat(), count: fc.integer({ min: 1, max: 3 }), clearAfter: fc.integer({ min: 1, max: 60 }) }), { nil: undefined }),
    }).map(({ weights, outages, totalChange, weightChange, unready }): Generated => {
      const events: FleetEvent[] = [];
      names.forEach((name, i) => {
        let at = 0;
        for (const o of outages[i]!) {
          at += o.gap * STEP;
          events.push({ at, down: name, pods: o.pods });
          at += o.length * STEP;
          events.push({ at, up: name });
        }
      });
      if (totalChange) events.push({ at: totalChange.at * STEP, total: totalChange.total });
      const finalWeights = Object.fromEntries(names.map((n, i) => [n, weights[i]!]));
      if (weightChange) {
        const name = names[weightChange.member % names.length]!;
        // Draining the last weighted member is an input the schema refuses.
        if (Object.entries(finalWeights).some(([n, w]) => n !== name && w > 0) || weightChange.weight > 0) {
          events.push({ at: weightChange.at * STEP, weight: { [name]: weightChange.weight } });
          finalWeights[name] = weightChange.weight;
        }
      }
      if (unready) {
        const name = names[unready.member % names.length]!;
        events.push({ at: unready.at * STEP, unready: { [name]: unready.count } });
        // Healed in the end: a pod that never becomes ready is pinned by its own test above.
        events.push({ at: (unready.at + unready.clearAfter) * STEP, unready: { [name]: 0 } });
      }
      const lastEventAt = Math.max(0, ...events.map((e) => e.at));
      const finalTotal = totalChange?.total ?? total;
      const budget = Math.max(1, Math.floor((finalTotal * pct) / 100));
      const unit = Math.max(grace, 10 * SECOND);
      // Long enough after the last event for the longest probation and every budgeted step.
      const tail = 16 * unit + 2 * grace + (Math.ceil(Math.max(finalTotal, total) / budget) + 6) * (STEP + readyAfter) + 2 * forgivenAfterMs(grace);
      const s = scenario({
        members: names.map((name, i) => ({ name, weight: weights[i]! })),
        policy: { gracePeriodMs: grace, maxRebalancePercentage: pct },
        total,
        readyAfterMs: readyAfter,
        durationMs: Math.ceil((lastEventAt + tail) / STEP) * STEP,
        events,
      });
      return { s, finalWeights, finalTotal };
    }),
  );

describe("fleet model: properties", () => {
  it("never lowers reachable ready capacity below min(total, what it was), through any outage, return, drain or change", () => {
    fc.assert(
      fc.property(generatedArb, ({ s }) => assertCapacityKept(runFleet(s))),
      { numRuns: 200 },
    );
  });

  it("a member's desired replicas change direction at most once per change of health or input", () => {
    fc.assert(
      fc.property(generatedArb, ({ s }) => assertNoPingPong(runFleet(s), s.events, s.policy.gracePeriodMs)),
      { numRuns: 200 },
    );
  });

  it("converges to the exact weighted split once health and inputs hold still", () => {
    fc.assert(
      fc.property(generatedArb, ({ s, finalWeights, finalTotal }) => {
        const run = runFleet(s);
        const last = run.steps.at(-1)!;
        const expected = weightedShares(s, finalWeights, finalTotal);
        assert.deepEqual(Object.fromEntries(last.members.map((m) => [m.name, m.desiredReplicas])), expected, `at ${last.at / SECOND}s`);
        for (const m of last.members) {
          assert.ok(m.reachable);
          assert.ok(["Ready", "Drained"].includes(m.state), `${m.name} is ${m.state}: ${m.description}`);
        }
        assert.equal(run.trace.at(-1)!.plan.converged, true);
      }),
      { numRuns: 200 },
    );
  });
});
