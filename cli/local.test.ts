// `fleetscale local down`, run from a copy of the built package: localDown finds .fleet next to
// its own code, and the developer's own fleet and state must not be touched.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";

const repo = path.resolve(__dirname, "../..");

describe("fleetscale local down", () => {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), "fleetscale-local-down-"));
  after(() => fs.rmSync(copy, { recursive: true, force: true }));

  it("removes the local stack's state in .fleet/state, as well as the fleet in .fleet/local", () => {
    fs.cpSync(path.join(repo, "dist"), path.join(copy, "dist"), { recursive: true });
    // The toolchain scripts and their caches are shared; they build nothing when warm.
    for (const shared of ["node_modules", "test"]) fs.symlinkSync(path.join(repo, shared), path.join(copy, shared), "dir");
    const checkpoint = path.join(copy, ".fleet", "state", ".pulumi", "stacks", "fleetscale", "local.json");
    fs.mkdirSync(path.dirname(checkpoint), { recursive: true });
    fs.writeFileSync(checkpoint, "{}");
    fs.mkdirSync(path.join(copy, ".fleet", "local"));

    execFileSync(process.execPath, ["-e", `require(${JSON.stringify(path.join(copy, "dist", "cli", "local.js"))}).localDown()`], { stdio: ["ignore", "ignore", "pipe"] });

    assert.deepEqual(fs.readdirSync(path.join(copy, ".fleet")), []);
  });
});
