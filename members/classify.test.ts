import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classify } from "./client";

describe("classify", () => {
  it("reports a timed-out request as no answer, not as an HTTP status (its DOMException code is 23)", () => {
    const timeout = new DOMException("The operation was aborted due to timeout", "TimeoutError");
    assert.equal(timeout.code, 23);
    const error = classify("m", "get deployment default/web", timeout, 5_000);
    assert.deepEqual([error.failure, error.detail], ["Unreachable", "get deployment default/web: no answer within 5000 ms"]);
  });

  it("maps HTTP statuses and socket errors to the engine's failure states", () => {
    const api = (code: number) => Object.assign(new Error(`HTTP ${code}`), { code, body: JSON.stringify({ message: "why" }) });
    assert.deepEqual([classify("m", "x", api(401), 1).failure, classify("m", "x", api(403), 1).failure, classify("m", "x", api(404), 1).failure, classify("m", "x", api(503), 1).failure], ["Unauthorized", "Unauthorized", "WorkloadMissing", "Unreachable"]);
    assert.equal(classify("m", "x", api(403), 1).detail, "x: forbidden (403): why");
    const refused = Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED", address: "127.0.0.1", port: 1 } });
    assert.equal(classify("m", "x", refused, 1).detail, "x: ECONNREFUSED 127.0.0.1:1");
  });
});
