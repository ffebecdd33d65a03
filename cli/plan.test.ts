import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ValidationError } from "../schema/validate";
import { runPlan } from "./plan";

const root = resolve(__dirname, "../..");
const example = join(root, "examples/nginx.dso.yaml");
const INT32_MAX = 2_147_483_647;

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

/** Bad input: exit code 2, no plan, the flag or field named, and no stack trace. */
function assertRejected(run: ReturnType<typeof fleetscale>, expected: RegExp): void {
  assert.equal(run.code, 2, run.stderr);
  assert.equal(run.stdout, "");
  assert.match(run.stderr, expected);
  assert.doesNotMatch(run.stderr, /^\s+at /m, "no stack trace");
}

/** A manifest without its own member list: the members come from --members. */
const registeredOnly = () =>
  manifest(`apiVersion: fleetscale.io/v1alpha1
kind: DistributedScaledObject
metadata: {name: api}
spec:
  scaledObjectSpec: {scaleTargetRef: {name: api}}
  totalTargetReplicas: 7
`);

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
    const run = fleetscale("plan", "-f", registeredOnly(), "--members", "x,y", "-o", "json");
    assert.equal(run.code, 0, run.stderr);
    const counts = JSON.parse(run.stdout).members.map((m: { desiredReplicas: number }) => m.desiredReplicas).sort();
    assert.deepEqual(counts, [3, 4]);
  });

  const bad: [string, string[], RegExp][] = [
    ["an empty total", ["-t", ""], /--total: must be a whole number in decimal digits, not ""/],
    ["a hexadecimal total", ["-t", "0x10"], /--total: must be a whole number in decimal digits, not "0x10"/],
    ["a total in exponent notation", ["-t", "1e3"], /--total: must be a whole number in decimal digits, not "1e3"/],
    ["a negative total", ["-t", "-1"], /--total: must be a whole number in decimal digits, not "-1"/],
    ["a total padded with spaces", ["-t", " 5 "], /--total: must be a whole number in decimal digits, not " 5 "/],
    ["a fractional total", ["-t", "2.5"], /--total: must be a whole number in decimal digits, not "2.5"/],
    ["a total above int32", ["-t", String(INT32_MAX + 1)], /--total: must be at most 2147483647/],
    ["a total far above int32", ["-t", "99999999999999999999"], /--total: must be at most 2147483647/],
    ["an unknown --down member", ["-t", "3", "--down", "nope"], /--down\[0\]: unknown member "nope"/],
    ["a --down duration that is not one", ["-t", "3", "--down", "member-cluster-1=soon"], /--down\[0\]: must be a duration/],
    ["a --down duration too long to count", ["-t", "3", "--down", "member-cluster-1=99999999999999999999h"], /--down\[0\]: is too long/],
    ["an unknown output format", ["-t", "3", "-o", "yaml"], /Allowed choices are table, json/],
  ];
  for (const [what, args, expected] of bad) {
    it(`rejects ${what} with exit code 2 and prints no plan`, () => {
      assertRejected(fleetscale("plan", "-f", example, ...args), expected);
    });
  }

  const badMembers: [string, string, RegExp][] = [
    ["a repeated name", "a,a", /--members\[1\]: duplicate member name "a"/],
    ["a name that is not a DNS-1123 label", "ok,Bad_Name", /--members\[1\]: must be a DNS-1123 label/],
    ["a name longer than a member name may be", `m${"x".repeat(40)}`, /--members\[0\]: Too big: expected string to have <=40 characters/],
    ["more than 256 names", Array.from({ length: 257 }, (_, i) => `m-${i}`).join(","), /--members: names more than 256 members/],
  ];
  for (const [what, members, expected] of badMembers) {
    it(`rejects --members with ${what}, naming it`, () => {
      assertRejected(fleetscale("plan", "-f", registeredOnly(), "--members", members), expected);
    });
  }

  it("accepts 256 --members, the most a fleet holds", () => {
    const run = fleetscale("plan", "-f", registeredOnly(), "--members", Array.from({ length: 256 }, (_, i) => `m-${i}`).join(","), "-o", "json");
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).members.length, 256);
  });

  it("clamps --total into [minReplicaCount, maxReplicaCount] as KEDA would, and says so", () => {
    const above = fleetscale("plan", "-f", example, "-t", "100", "-o", "json");
    assert.equal(above.code, 0, above.stderr);
    assert.equal(JSON.parse(above.stdout).totalReplicas, 10);
    assert.match(above.stderr, /^note: --total 100 is above scaledObjectSpec\.maxReplicaCount 10: planning 10, as KEDA would$/m);
    const below = fleetscale("plan", "-f", example, "-t", "0", "-o", "json");
    assert.equal(below.code, 0, below.stderr);
    assert.equal(JSON.parse(below.stdout).totalReplicas, 1);
    assert.match(below.stderr, /^note: --total 0 is below scaledObjectSpec\.minReplicaCount 1: planning 1, as KEDA would$/m);
    const within = fleetscale("plan", "-f", example, "-t", "10");
    assert.doesNotMatch(within.stderr, /as KEDA would/);
  });

  it("plans idleReplicaCount below minReplicaCount as it is: KEDA idles there", () => {
    const file = manifest(`apiVersion: fleetscale.io/v1alpha1
kind: DistributedScaledObject
metadata: {name: api}
spec:
  memberClusters: [{name: a}, {name: b}]
  scaledObjectSpec: {scaleTargetRef: {name: api}, idleReplicaCount: 0, minReplicaCount: 2, maxReplicaCount: 8}
`);
    const run = fleetscale("plan", "-f", file, "-t", "0", "-o", "json");
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).totalReplicas, 0);
    assert.doesNotMatch(run.stderr, /as KEDA would/);
  });

  it("plans a manifest with a member at weight 0 (drained: no replicas), and rejects one with every weight 0", () => {
    const spec = (weights: [number, number]) =>
      manifest(`apiVersion: fleetscale.io/v1alpha1
kind: DistributedScaledObject
metadata: {name: api}
spec:
  memberClusters: [{name: a, weight: ${weights[0]}}, {name: b, weight: ${weights[1]}}]
  scaledObjectSpec: {scaleTargetRef: {name: api}}
  totalTargetReplicas: 7
`);
    const drained = fleetscale("plan", "-f", spec([0, 2]), "-o", "json");
    assert.equal(drained.code, 0, drained.stderr);
    assert.deepEqual(JSON.parse(drained.stdout).members.map((m: { desiredReplicas: number }) => m.desiredReplicas), [0, 7]);
    assertRejected(fleetscale("plan", "-f", spec([0, 0])), /spec\.memberClusters: at least one member needs a weight above 0/);
  });

  it("refuses a YAML alias bomb quickly, naming the file, without a stack trace", () => {
    const levels = "abcdefghi".split("");
    const bomb = levels.map((name, i) => `${name}: &${name} [${Array(9).fill(i === 0 ? '"lol"' : `*${levels[i - 1]}`).join(", ")}]`).join("\n");
    const started = Date.now();
    const run = fleetscale("plan", "-f", manifest(bomb), "-t", "1");
    assertRejected(run, /invalid YAML in .*dso\.yaml:\n {2}- aliases: Excessive alias count/);
    assert.ok(Date.now() - started < 10_000, "refused before expanding");
  });

  it("turns every input the schema accepts into a plan or a ValidationError, never another error", () => {
    const file = join(mkdtempSync(join(tmpdir(), "fleetscale-plan-")), "dso.yaml");
    // Well below int32 (the bounds have tests of their own): with billions and binding
    // bounds, the engine's apportionment can take seconds per plan.
    const count = fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 100_000 }));
    const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
    // Mostly min <= max, so that most runs get as far as the engine.
    const bounds = fc.tuple(maybe(count), maybe(count)).map(([a, b]) => (a !== undefined && b !== undefined && a > b ? [b, a] : [a, b]));
    const duration = fc.constantFrom("0s", "1ms", "30s", "1m", "1h", "1000000h");
    const member = (name: string) =>
      fc.record({ name: fc.constant(name), weight: fc.oneof(fc.constantFrom(0, 1, 1_000_000), fc.integer({ min: 0, max: 1_000_000 })), bounds }).map(({ bounds: [minReplicas, maxReplicas], ...m }) => ({ ...m, minReplicas, maxReplicas }));
    const input = fc.tuple(fc.subarray(["a", "b", "c", "d"]), fc.subarray(["m-1", "m-2", "m-3"], { minLength: 1 })).chain(([listed, registered]) =>
      fc.record({
        spec: fc.record({
          memberClusters: fc.tuple(...listed.map(member)),
          rebalancingPolicy: fc.record({ gracePeriod: duration, maxRebalancePercentage: fc.integer({ min: 1, max: 100 }) }),
          scaledObjectSpec: fc.record({ scaleTargetRef: fc.constant({ name: "web" }), bounds, idleReplicaCount: maybe(count) }).map(({ bounds: [minReplicaCount, maxReplicaCount], ...s }) => ({ ...s, minReplicaCount, maxReplicaCount })),
          totalTargetReplicas: maybe(count),
        }),
        options: fc.record({
          total: maybe(fc.oneof({ weight: 9, arbitrary: count.map(String) }, { weight: 1, arbitrary: fc.string() })),
          down: fc.subarray(listed.length > 0 ? listed : registered).chain((down) => fc.tuple(...down.map((name) => fc.oneof(fc.constant(name), duration.map((d) => `${name}=${d}`))))),
          members: fc.constant(registered.join(",")),
        }),
      }),
    );
    fc.assert(
      fc.property(input, ({ spec, options }) => {
        writeFileSync(file, JSON.stringify({ apiVersion: "fleetscale.io/v1alpha1", kind: "DistributedScaledObject", metadata: { name: "web" }, spec }));
        try {
          runPlan({ file, ...options, output: "json" }, Date.UTC(2026, 0, 1));
        } catch (error) {
          assert.ok(error instanceof ValidationError, (error as Error).stack);
        }
      }),
      { numRuns: 500 },
    );
  });

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
