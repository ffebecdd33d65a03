import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { it } from "node:test";
import { repoRoot } from "./support/fleet";

// The launcher's port record, process-exit check, bind addresses and real-node claim have Go unit tests of their own; run them with the rest.
it("the fleet launcher's Go tests pass (port record, process exit, bind addresses, one real node per machine)", () => {
  const output = execFileSync("go", ["test", "-count=1", "./cmd/fleet"], { cwd: join(repoRoot, "test", "fleet"), encoding: "utf8" });
  assert.match(output, /^ok\s+\S+\/cmd\/fleet/m);
});
