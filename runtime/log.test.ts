import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger } from "./log";

describe("logs", () => {
  it("are JSON with the instance identity, and redact credentials should one ever be passed", () => {
    const lines: string[] = [];
    const log = createLogger({ level: "info", identity: "r1", destination: { write: (line: string) => void lines.push(line) } });
    log.info({ member: "m1", kubeconfig: "apiVersion: v1 ...", secret: { data: { kubeconfig: "YWJj" } }, request: { headers: { authorization: "Bearer abc" } } }, "hello");
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(line.identity, "r1");
    assert.equal(line.msg, "hello");
    assert.equal(line.kubeconfig, "[redacted]");
    assert.ok(!lines[0]!.includes("YWJj") && !lines[0]!.includes("Bearer abc"), lines[0]);
  });
});
