import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { tieRanks } from "./tiebreak";

describe("tie ranks", () => {
  it("are a permutation, the same for the same input", () => {
    const names = ["a", "b", "c", "d"];
    const ranks = tieRanks("default/web", names);
    assert.deepEqual([...ranks].sort(), [0, 1, 2, 3]);
    assert.deepEqual(tieRanks("default/web", names), ranks);
  });

  it("spread evenly over workloads, also for member names that differ only in their last character", () => {
    const members = ["member-1", "member-2", "member-3", "member-4", "member-5"];
    const workloads = 12_000;
    const orders = new Map<string, number>();
    const firsts = new Map<string, number>();
    for (let i = 0; i < workloads; i++) {
      const ranks = tieRanks(`default/w-${String(i).padStart(5, "0")}`, members);
      orders.set(ranks.join(), (orders.get(ranks.join()) ?? 0) + 1);
      const first = members[ranks.indexOf(0)]!;
      firsts.set(first, (firsts.get(first) ?? 0) + 1);
    }
    // 120 orders, 100 expected each; 5 first places, 2,400 expected each.
    assert.equal(orders.size, 120);
    assert.ok(Math.max(...orders.values()) < 160, `most frequent order seen ${Math.max(...orders.values())} times`);
    for (const member of members) assert.ok(Math.abs((firsts.get(member) ?? 0) - 2_400) < 240, `${member} first ${firsts.get(member)} times`);
  });
});
