import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { leaseAction, sight } from "./lease";

const held = (holder: string | undefined, version: string) => ({ holder, durationMs: 15_000, version });

describe("lease decisions", () => {
  it("renews its own lease and takes a released one at once", () => {
    assert.equal(leaseAction(held("a", "1"), "a", { version: "1", at: 0 }, 60_000), "renew");
    assert.equal(leaseAction(held(undefined, "2"), "a", { version: "2", at: 0 }, 0), "take");
  });

  it("takes another holder's lease only after seeing no renewal for a whole lease duration, by its own clock", () => {
    let sighting = sight(undefined, held("b", "5"), 1_000);
    assert.equal(leaseAction(held("b", "5"), "a", sighting, 15_999), "wait");
    // A renewal (new version) restarts the count however old the holder's renewTime looks.
    sighting = sight(sighting, held("b", "6"), 15_000);
    assert.equal(leaseAction(held("b", "6"), "a", sighting, 16_000), "wait");
    assert.deepEqual(sight(sighting, held("b", "6"), 29_000), { version: "6", at: 15_000 });
    assert.equal(leaseAction(held("b", "6"), "a", sighting, 30_000), "take");
  });
});
