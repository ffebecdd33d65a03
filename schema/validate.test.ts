import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { closestName } from "./validate";

describe("closestName", () => {
  const keys = ["hub", "members", "workloads"];

  it("suggests the key one edit away, whatever the case", () => {
    assert.equal(closestName("workload", keys), "workloads");
    assert.equal(closestName("Members", keys), "members");
    assert.equal(closestName("hubs", keys), "hub");
    assert.equal(closestName("worklaods", keys), "workloads");
  });

  it("suggests nothing when no key is close", () => {
    assert.equal(closestName("colour", keys), undefined);
    assert.equal(closestName("x", keys), undefined);
    assert.equal(closestName("hubble", keys), undefined);
  });

  it("prefers the nearest of several close keys", () => {
    assert.equal(closestName("membr", ["member", "members"]), "member");
  });
});
