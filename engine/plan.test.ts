import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { apportion } from "./apportion";
import type { Observation } from "./health";
import { type MemberInput, type Plan, type PlanInput, plan, recordsOf } from "./plan";
import { settle } from "./settle";
import { type Scenario, type SimulatedMember, simulate } from "./simulation";
import { tieRanks } from "./tiebreak";

const MINUTE = 60_000;
const policy = { gracePeriodMs: MINUTE, maxRebalancePercentage: 50 };
const healthy = (ready: number): Observation => ({ healthy: true, readyReplicas: ready, currentReplicas: ready });
const down: Observation = { healthy: false, failure: "Unreachable", message: "connect ECONNREFUSED 127.0.0.1:6443" };

function member(name: string, weight: number, observation: Observation = healthy(0), bounds: Partial<MemberInput> = {}): MemberInput {
  return { name, weight, observation, ...bounds };
}

function desiredOf(result: Plan): Record<string, number> {
  return Object.fromEntries(result.members.map((m) => [m.name, m.desiredReplicas]));
}

/** A settled plan with every member healthy and ready: the starting point of most cases. */
function steady(total: number, members: MemberInput[], workload = "default/web"): PlanInput {
  const settled = settle({ workload, totalReplicas: total, members, policy, previous: {}, now: 0 }).plan;
  return {
    workload,
    totalReplicas: total,
    previousTotalReplicas: total,
    policy,
    previous: recordsOf(settled),
    now: 10 * MINUTE,
    members: members.map((m) => ({ ...m, observation: healthy(settled.members.find((p) => p.name === m.name)!.desiredReplicas) })),
  };
}

describe("plan: placement", () => {
  it("places 10 replicas 4/6 at weights 4:6 and says why", () => {
    const result = plan({ workload: "default/web", totalReplicas: 10, members: [member("a", 4), member("b", 6)], policy, previous: {}, now: 0 });
    assert.deepEqual(desiredOf(result), { a: 4, b: 6 });
    assert.match(result.members[0]!.reason!, /^0 -> 4: initial placement by weight/);
    assert.equal(result.members[0]!.state, "Ready");
  });

  it("reports minimums that exceed the total, and lets them win", () => {
    const result = settle({ workload: "w", totalReplicas: 6, members: [member("a", 1, healthy(0), { minReplicas: 4 }), member("b", 1, healthy(0), { minReplicas: 4 })], policy, previous: {}, now: 0 }).plan;
    assert.deepEqual(desiredOf(result), { a: 4, b: 4 });
    assert.ok(result.notes.some((n) => n.includes("minReplicas of the healthy members add up to 8, more than the 6 to distribute")), result.notes.join("; "));
  });

  it("reports maximums that cannot hold the total, and never exceeds them", () => {
    const result = settle({ workload: "w", totalReplicas: 10, members: [member("a", 1, healthy(0), { maxReplicas: 3 }), member("b", 1, healthy(0), { maxReplicas: 2 })], policy, previous: {}, now: 0 }).plan;
    assert.deepEqual(desiredOf(result), { a: 3, b: 2 });
    assert.ok(result.notes.some((n) => n.includes("5 replicas cannot be placed")), result.notes.join("; "));
  });

  it("rejects engine input that no schema should have let through, naming the field", () => {
    assert.throws(
      () => plan({ workload: "w", totalReplicas: 3, members: [member("a", 1.5)], policy, previous: {}, now: 0 }),
      /members\[0\]\.weight: must be a whole number >= 0/,
    );
    assert.throws(() => plan({ workload: "w", totalReplicas: -1, members: [], policy, previous: {}, now: 0 }), /totalReplicas/);
  });
});

describe("plan: outages", () => {
  const members = [member("a", 1), member("b", 2), member("c", 3)];

  it("keeps everything in place while a member fails within its grace period", () => {
    const before = steady(12, members);
    const input = { ...before, members: before.members.map((m) => (m.name === "c" ? { ...m, observation: down } : m)) };
    const result = plan(input);
    assert.deepEqual(desiredOf(result), { a: 2, b: 4, c: 6 });
    const c = result.members.find((m) => m.name === "c")!;
    assert.equal(c.state, "Unreachable");
    assert.match(c.description, /ECONNREFUSED.*keeps its 6 replicas, excluded in 1m if this persists/);
    assert.ok(result.notes.some((n) => n.includes("rebalancing paused while c is failing")));
  });

  it("excludes a member failing past the grace period and spreads its share by weight", () => {
    const before = steady(12, members);
    const failed = plan({ ...before, members: before.members.map((m) => (m.name === "c" ? { ...m, observation: down } : m)) });
    const later = plan({ ...before, now: before.now + MINUTE, previous: recordsOf(failed), members: before.members.map((m) => (m.name === "c" ? { ...m, observation: down } : m)) });
    assert.deepEqual(desiredOf(later), { a: 4, b: 8, c: 0 });
    const c = later.members.find((m) => m.name === "c")!;
    assert.equal(c.state, "Excluded");
    assert.equal(c.excluded, true);
    assert.match(later.members.find((m) => m.name === "a")!.reason!, /2 -> 4: takes over the share of c/);
  });

  it("never scales a workload to zero because every member failed: the first one back keeps its replicas", () => {
    const before = steady(10, [member("a", 4), member("b", 6)]);
    const allDown = before.members.map((m) => ({ ...m, observation: down }));
    const failing = plan({ ...before, members: allDown });
    const later = plan({ ...before, now: before.now + MINUTE, previous: recordsOf(failing), members: allDown });
    assert.deepEqual(later.members.map((m) => m.state), ["Excluded", "Excluded"]);
    assert.deepEqual(desiredOf(later), { a: 4, b: 6 }, "with nowhere to move replicas, nobody loses them");
    assert.match(later.members[0]!.description, /no healthy member can take its replicas, so it keeps its 4/);
    assert.ok(later.notes.some((n) => n.startsWith("no healthy member can take replicas")));
    // a comes back while b is still down: it keeps its 4, b keeps its 6.
    const back = plan({ ...before, now: before.now + 2 * MINUTE, previous: recordsOf(later), members: [member("a", 4, healthy(4)), { ...member("b", 6), observation: down }] });
    assert.deepEqual(desiredOf(back), { a: 4, b: 6 });
  });

  it("a new leadership term planning from a lost status never lowers the replicas that run", () => {
    // c failed and was excluded; a and b took over its share and run 4 and 8. The status that
    // recorded it was lost, so the new leader's records still say 2/4/6, all Ready.
    const lost = steady(12, members);
    const spec = (replicas: number): Observation => ({ healthy: true, readyReplicas: replicas, currentReplicas: replicas, specReplicas: replicas });
    const result = plan({ ...lost, now: lost.now + 5 * MINUTE, members: [member("a", 1, spec(4)), member("b", 2, spec(8)), { ...member("c", 3), observation: down }] });
    // c looks newly failed (within its grace period) to the new term: nothing is rebalanced, and
    // a and b keep the 4 and 8 they run; the stale records would have lowered them to 2 and 4.
    assert.deepEqual(desiredOf(result), { a: 4, b: 8, c: 6 });
    assert.equal(result.members.find((m) => m.name === "c")!.state, "Unreachable");
  });

  it("a new term reading a status from before a failover takes nothing back from a survivor whose new replicas are still starting", () => {
    // Scale bench, 1,000 DSOs: after a lease loss, 97 survivors were lowered 2 -> 1 during a fresh
    // grace period and raised again after it. Here: c failed, a was raised 1 -> 2 (its new pod not
    // ready yet), and the status saying so was never written: the records still say 1/1/1.
    const before = steady(3, [member("a", 1), member("b", 1), member("c", 1)]);
    const result = plan({
      ...before,
      now: before.now + 5 * MINUTE,
      members: [
        member("a", 1, { healthy: true, readyReplicas: 1, currentReplicas: 2, specReplicas: 2 }),
        member("b", 1, { healthy: true, readyReplicas: 1, currentReplicas: 1, specReplicas: 1 }),
        { ...member("c", 1), observation: down },
      ],
    });
    assert.deepEqual(desiredOf(result), { a: 2, b: 1, c: 1 });
  });

  it("while a member is within its grace period, a lower total still lowers the others by what they hold beyond it", () => {
    const before = steady(9, [member("a", 1), member("b", 1), member("c", 1)]);
    const result = plan({ ...before, totalReplicas: 4, members: before.members.map((m) => (m.name === "c" ? { ...m, observation: down } : m)) });
    // a and b hold 6 against a total of 4: 2 go; c's 3 are pinned, unknown, and not made room for.
    assert.equal(desiredOf(result).a! + desiredOf(result).b!, 4);
  });

  it("places a raised total on the healthy members while another is within its grace period", () => {
    const before = steady(10, [member("a", 4), member("b", 6)]);
    const result = plan({ ...before, totalReplicas: 14, members: before.members.map((m) => (m.name === "a" ? { ...m, observation: down } : m)) });
    assert.deepEqual(desiredOf(result), { a: 4, b: 10 });
    assert.match(result.members.find((m) => m.name === "b")!.reason!, /total raised from 10 to 14/);
  });

  it("moves replicas make-before-break when weights change: the giver is lowered once the receiver is ready", () => {
    const before = steady(10, [member("a", 4), member("b", 6)]);
    const first = plan({ ...before, members: [member("a", 5, healthy(4)), member("b", 5, healthy(6))] });
    assert.deepEqual(desiredOf(first), { a: 5, b: 6 });
    assert.ok(first.notes.some((n) => n.includes("scale-down of 1 replicas deferred")));
    const second = plan({ ...before, previous: recordsOf(first), members: [member("a", 5, healthy(5)), member("b", 5, healthy(6))] });
    assert.deepEqual(desiredOf(second), { a: 5, b: 5 });
    assert.equal(second.converged, true);
  });
});

// ---- properties over simulated time ----

const membersArb = fc
  .uniqueArray(fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/), { minLength: 2, maxLength: 6 })
  .chain((names) =>
    fc.tuple(...names.map((name) => fc.record({ name: fc.constant(name), weight: fc.integer({ min: 1, max: 10 }) }))),
  );
const policyArb = fc.record({
  gracePeriodMs: fc.constantFrom(30_000, MINUTE, 2 * MINUTE),
  maxRebalancePercentage: fc.integer({ min: 1, max: 100 }),
});

function budgetOf(total: number, pct: number): number {
  return Math.max(1, Math.floor((total * pct) / 100));
}

/** Ready replicas on healthy members, counting only those the plan keeps. */
function plannedReadyCapacity(step: { input: PlanInput; result: Plan }): number {
  return step.result.members.reduce((sum, m, i) => {
    const obs = step.input.members[i]!.observation;
    return sum + (obs.healthy ? Math.min(obs.readyReplicas, m.desiredReplicas) : 0);
  }, 0);
}

function expectedShares(total: number, members: readonly SimulatedMember[], workload: string): Record<string, number> {
  const ranks = tieRanks(workload, members.map((m) => m.name));
  const shares = apportion(total, members.map((m, i) => ({ weight: m.weight, min: 0, max: Infinity, rank: ranks[i]! })));
  return Object.fromEntries(members.map((m, i) => [m.name, shares[i]!]));
}

describe("plan: properties", () => {
  it("settles on the weighted shares, summing to the total, identically whatever the member order", () => {
    fc.assert(
      fc.property(membersArb, fc.integer({ min: 0, max: 500 }), fc.string(), (members, total, workload) => {
        const inputOf = (list: typeof members) => ({ workload, totalReplicas: total, members: list.map((m) => member(m.name, m.weight)), policy, previous: {}, now: 0 });
        const result = settle(inputOf(members)).plan;
        const reversed = settle(inputOf([...members].reverse())).plan;
        assert.deepEqual(desiredOf(result), expectedShares(total, members, workload));
        assert.deepEqual(desiredOf(reversed), desiredOf(result));
        assert.equal(result.plannedReplicas, total);
      }),
      { numRuns: 300 },
    );
  });

  it("respects per-member bounds and sums to the total whenever the bounds allow it", () => {
    const boundedArb = membersArb.chain((members) =>
      fc.tuple(...members.map((m) => fc.record({ name: fc.constant(m.name), weight: fc.constant(m.weight), min: fc.integer({ min: 0, max: 5 }), extra: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }) }))),
    );
    fc.assert(
      fc.property(boundedArb, fc.integer({ min: 0, max: 200 }), (members, total) => {
        const inputs = members.map((m) => member(m.name, m.weight, healthy(0), { minReplicas: m.min, maxReplicas: m.extra === undefined ? undefined : m.min + m.extra }));
        const result = settle({ workload: "w", totalReplicas: total, members: inputs, policy, previous: {}, now: 0 }).plan;
        result.members.forEach((m, i) => {
          assert.ok(m.desiredReplicas >= inputs[i]!.minReplicas! && m.desiredReplicas <= (inputs[i]!.maxReplicas ?? Infinity));
        });
        const lo = inputs.reduce((s, m) => s + m.minReplicas!, 0);
        const hi = inputs.reduce((s, m) => s + (m.maxReplicas ?? Infinity), 0);
        if (lo <= total && total <= hi) assert.equal(result.plannedReplicas, total);
        else assert.ok(result.notes.length > 0, "an infeasible bound must be reported");
      }),
      { numRuns: 300 },
    );
  });

  it("is house-monotone at steady state: a larger total never lowers a member", () => {
    fc.assert(
      fc.property(membersArb, fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 50 }), (members, total, extra) => {
        const at = (t: number) => desiredOf(settle({ workload: "w", totalReplicas: t, members: members.map((m) => member(m.name, m.weight)), policy, previous: {}, now: 0 }).plan);
        const small = at(total);
        const large = at(total + extra);
        for (const name of Object.keys(small)) assert.ok(large[name]! >= small[name]!, `${name}: ${small[name]} -> ${large[name]}`);
      }),
      { numRuns: 300 },
    );
  });

  it("is deterministic: the same input always gives the same plan", () => {
    fc.assert(
      fc.property(membersArb, fc.integer({ min: 0, max: 100 }), (members, total) => {
        const input = { workload: "ns/w", totalReplicas: total, members: members.map((m) => member(m.name, m.weight)), policy, previous: {}, now: 5 };
        assert.deepEqual(plan(structuredClone(input)), plan(structuredClone(input)));
      }),
      { numRuns: 200 },
    );
  });

  it("through an outage and a recovery: nothing moves within grace, shares follow weights after it, recovery is gradual and make-before-break", () => {
    fc.assert(
      fc.property(membersArb, policyArb, fc.integer({ min: 1, max: 300 }), fc.nat(), (members, pol, total, pick) => {
        const victim = members[pick % members.length]!.name;
        const stepMs = 10_000;
        const downFrom = 5 * stepMs;
        const upAt = downFrom + pol.gracePeriodMs + 6 * stepMs;
        const scenario: Scenario = {
          workload: "ns/app",
          members,
          policy: pol,
          steps: Math.ceil((upAt + pol.gracePeriodMs) / stepMs) + 2 * total + 20,
          stepMs,
          totalAt: () => total,
          healthyAt: (name, now) => name !== victim || now < downFrom || now >= upAt,
        };
        const history = simulate(scenario);
        const shares = expectedShares(total, members, scenario.workload);
        const budget = budgetOf(total, pol.maxRebalancePercentage);
        const survivors = members.filter((m) => m.name !== victim);
        const failoverShares = expectedShares(total, survivors, scenario.workload);
        const directions = new Map<string, number>();
        history.forEach((step, k) => {
          const previous = k === 0 ? undefined : history[k - 1]!.result;
          const { now, result } = step;
          if (now >= downFrom && now < downFrom + pol.gracePeriodMs && previous) {
            assert.deepEqual(desiredOf(result), desiredOf(previous), `moved within grace at ${now}`);
          }
          if (now >= downFrom + pol.gracePeriodMs && now < upAt + pol.gracePeriodMs) {
            assert.deepEqual(desiredOf(result), { ...failoverShares, [victim]: 0 }, `failover shares at ${now}`);
          }
          if (now >= upAt && previous) {
            const raised = result.members.reduce((s, m, i) => s + Math.max(0, m.desiredReplicas - previous.members[i]!.desiredReplicas), 0);
            assert.ok(raised <= budget, `step at ${now} started ${raised} replicas, budget ${budget}`);
            assert.ok(result.plannedReplicas <= total + budget, `step at ${now} planned ${result.plannedReplicas}, more than ${total} + ${budget} in motion`);
            const capacityBefore = plannedReadyCapacity({ input: step.input, result: previous });
            assert.ok(plannedReadyCapacity(step) >= Math.min(total, capacityBefore), `ready capacity fell below ${total} at ${now}`);
            // No oscillation: after the last health change each member moves in one direction only.
            result.members.forEach((m, i) => {
              const delta = Math.sign(m.desiredReplicas - previous.members[i]!.desiredReplicas);
              if (delta === 0) return;
              const seen = directions.get(m.name);
              assert.ok(seen === undefined || seen === delta, `${m.name} changed direction at ${now}`);
              directions.set(m.name, delta);
            });
          }
        });
        const last = history.at(-1)!.result;
        assert.deepEqual(desiredOf(last), shares, "back to the weighted shares");
        assert.ok(last.members.every((m) => m.state === "Ready"), "every member Ready again");
      }),
      { numRuns: 150 },
    );
  });

  it("bounds replicas in motion when steps run faster than replicas become ready", () => {
    // The runtime steps on every event, not once per readiness: a step may see nothing ready yet.
    const before = steady(20, [member("a", 1), member("b", 1)]);
    const budget = budgetOf(20, 25);
    let previous = before.previous;
    let ready = { a: 10, b: 10 };
    // 1:1 -> 1:9 moves 8 replicas to b, more than the budget of 5 allows in one step.
    const weights = [member("a", 1), member("b", 9)];
    for (let step = 0; step < 6; step++) {
      const result = plan({ ...before, policy: { ...policy, maxRebalancePercentage: 25 }, previous, members: weights.map((m) => ({ ...m, observation: healthy(ready[m.name as "a" | "b"]) })) });
      assert.ok(result.plannedReplicas <= 20 + budget, `step ${step}: ${result.plannedReplicas} planned`);
      previous = recordsOf(result);
      // Nothing becomes ready for three steps, then everything asked for is.
      if (step >= 3) ready = { a: result.members[0]!.desiredReplicas, b: result.members[1]!.desiredReplicas };
    }
    assert.deepEqual(desiredOf(plan({ ...before, policy: { ...policy, maxRebalancePercentage: 25 }, previous, members: weights.map((m) => ({ ...m, observation: healthy(ready[m.name as "a" | "b"]) })) })), { a: 2, b: 18 }, "still converges");
  });

  it("a member flapping faster than the grace period never moves a replica", () => {
    fc.assert(
      fc.property(membersArb, fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 5 }), fc.nat(), (members, total, downSteps, pick) => {
        const victim = members[pick % members.length]!.name;
        const stepMs = 10_000; // grace is 60 s = 6 steps; outages last at most 5
        const history = simulate({
          workload: "ns/flappy",
          members,
          policy,
          steps: 120,
          stepMs,
          totalAt: () => total,
          healthyAt: (name, now) => name !== victim || Math.floor(now / stepMs) % (downSteps + 1) === 0,
        });
        const settled = desiredOf(history[1]!.result);
        for (const step of history.slice(1)) assert.deepEqual(desiredOf(step.result), settled);
      }),
      { numRuns: 100 },
    );
  });

  it("a member flapping slower than the grace period is excluded once and not brought back until it stays up", () => {
    fc.assert(
      fc.property(membersArb, fc.integer({ min: 1, max: 100 }), fc.nat(), (members, total, pick) => {
        const victim = members[pick % members.length]!.name;
        const stepMs = 10_000;
        // Down for 8 steps (past the 6-step grace), up for 4 (short of the 6-step probation), repeatedly.
        const history = simulate({
          workload: "ns/flappy",
          members,
          policy,
          steps: 200,
          stepMs,
          totalAt: () => total,
          healthyAt: (name, now) => name !== victim || now < 5 * stepMs || (Math.floor(now / stepMs) - 5) % 12 >= 8,
        });
        let changes = 0;
        history.slice(2).forEach((step, k) => {
          const before = desiredOf(history[k + 1]!.result);
          if (JSON.stringify(desiredOf(step.result)) !== JSON.stringify(before)) changes++;
        });
        assert.ok(changes <= 1, `${changes} steps moved replicas`);
      }),
      { numRuns: 100 },
    );
  });
});
