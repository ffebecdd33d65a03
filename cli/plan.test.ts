import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";

const root = resolve(__dirname, "../..");
const example = join(root, "examples/nginx.dso.yaml");

/** Runs the real `fleetscale` entry point, as `npx fleetscale` does. */
function fleetscale(...args: string[]) {
  const run = spawnSync(process.execPath, [join(root, "bin/fleetscale.js"), ...args], { encoding: "utf8" });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

function manifest(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "fleetscale-plan-"));
  const file = join(dir, "dso.yaml");
  writeFileSync(file, text);
  return file;
}

describe("fleetscale plan", () => {
  it("prints the weighted plan as JSON", () => {
    const run = fleetscale("plan", "--file", example, "--total", "10", "--output", "json");
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), {
      totalReplicas: 10,
      members: [
        { name: "member-cluster-1", desiredReplicas: 4, state: "Ready", description: "Cluster is healthy" },
        { name: "member-cluster-2", desiredReplicas: 6, state: "Ready", description: "Cluster is healthy" },
      ],
    });
  });

  it("moves a member's share to the others when it is down past its grace period", () => {
    const run = fleetscale("plan", "-f", example, "-t", "10", "--down", "member-cluster-2", "-o", "json");
    assert.equal(run.code, 0, run.stderr);
    const members = JSON.parse(run.stdout).members;
    assert.deepEqual(members.map((m: { desiredReplicas: number; state: string }) => [m.desiredReplicas, m.state]), [[10, "Ready"], [0, "Excluded"]]);
  });

  it("keeps the plan while a member is down for less than its grace period, and says so", () => {
    const run = fleetscale("plan", "-f", example, "-t", "10", "--down", "member-cluster-2=20s");
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /member-cluster-2\s+6\s+6\s+Unreachable\s+down for 20s \(what-if\); keeps its 6 replicas, excluded in 40s/);
    assert.match(run.stderr, /rebalancing paused while member-cluster-2 is failing/);
  });

  it("uses registered members, equally weighted, when memberClusters is empty", () => {
    const file = manifest(`apiVersion: fleetscale.io/v1alpha1
kind: DistributedScaledObject
metadata: {name: api}
spec:
  scaledObjectSpec: {scaleTargetRef: {name: api}}
  totalTargetReplicas: 7
`);
    const run = fleetscale("plan", "-f", file, "--members", "x,y", "-o", "json");
    assert.equal(run.code, 0, run.stderr);
    const counts = JSON.parse(run.stdout).members.map((m: { desiredReplicas: number }) => m.desiredReplicas).sort();
    assert.deepEqual(counts, [3, 4]);
  });

  const bad: [string, string[], RegExp][] = [
    ["a negative total", ["-t", "-3"], /--total: Too small/],
    ["a fractional total", ["-t", "2.5"], /--total: .*expected int/],
    ["an unknown --down member", ["-t", "3", "--down", "nope"], /--down\[0\]: unknown member "nope"/],
    ["a --down duration that is not one", ["-t", "3", "--down", "member-cluster-1=soon"], /--down\[0\]: must be a duration/],
    ["an unknown output format", ["-t", "3", "-o", "yaml"], /Allowed choices are table, json/],
  ];
  for (const [what, args, expected] of bad) {
    it(`rejects ${what} with exit code 2 and prints no plan`, () => {
      const run = fleetscale("plan", "-f", example, ...args);
      assert.equal(run.code, 2);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, expected);
    });
  }

  it("rejects an invalid manifest naming each bad field, with exit code 2 and no plan", () => {
    const file = manifest(`apiVersion: keda.kedify.io/v1alpha1
kind: DistributedScaledObject
metadata: {name: web}
spec:
  memberClusters: [{name: a, weight: -1}, {name: a}]
  rebalancingPolicy: {gracePeriod: later, maxRebalancePercentage: 101}
  scaledObjectSpec: {scaleTargetRef: {name: web}}
`);
    const run = fleetscale("plan", "-f", file, "-t", "4");
    assert.equal(run.code, 2);
    assert.equal(run.stdout, "");
    for (const path of ["spec.memberClusters[0].weight", "spec.memberClusters[1].name", "spec.rebalancingPolicy.gracePeriod", "spec.rebalancingPolicy.maxRebalancePercentage"]) {
      assert.ok(run.stderr.includes(`${path}: `), `${path} missing from:\n${run.stderr}`);
    }
  });

  it("reports malformed YAML and a missing file as input errors", () => {
    assert.match(fleetscale("plan", "-f", manifest("spec: [unclosed"), "-t", "1").stderr, /invalid YAML in .*dso\.yaml/);
    const missing = fleetscale("plan", "-f", "/nonexistent/dso.yaml", "-t", "1");
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--file: cannot read \/nonexistent\/dso.yaml/);
  });
});
