import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { runFleet } from "../engine/fleet-model";
import { readDsoManifests } from "../schema/manifest";
import { fleetScenarioOf, readScenario } from "../schema/scenario";

const root = resolve(__dirname, "../..");
const dsoFile = join(root, "examples/nginx.dso.yaml");
const scenarios = join(root, "examples/scenarios");
const MEMBERS = ["member-cluster-1", "member-cluster-2"];

/** Runs the real `fleetscale` entry point, as `npx fleetscale` does. */
function fleetscale(...args: string[]) {
  const run = spawnSync(process.execPath, [join(root, "bin/fleetscale.js"), ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

function scenarioFile(text: string, name = "scenario.yaml"): string {
  const file = join(mkdtempSync(join(tmpdir(), "fleetscale-simulate-")), name);
  writeFileSync(file, text);
  return file;
}

function simulateJson(scenario: string) {
  const run = fleetscale("simulate", "-f", dsoFile, "--scenario", scenarioFile(scenario), "-o", "json");
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as {
    steps: { at: number; totalReplicas: number; members: { name: string; desiredReplicas: number; readyReplicas: number; reachable: boolean; state: string; description: string }[] }[];
    summary: { memberWrites: number; lowestReadyCapacity: number; lowestReachableReadyCapacity: number; moves: Record<string, { writes: number; added: number; removed: number }> };
  };
}

const QUIET = "total: 10\nstep: 30s\nduration: 2m\n";
const PARTITION = "total: 10\nduration: 5m\nevents:\n  - {at: 1m, down: member-cluster-2}\n  - {at: 3m, up: member-cluster-2}\n";

/** Tags balance and the document is one <svg> element: enough to catch broken markup without an XML parser. */
function assertWellFormed(svg: string): void {
  const stack: string[] = [];
  let roots = 0;
  for (const [, closing, name, selfClosing] of svg.matchAll(/<(\/?)([a-zA-Z]+)(?:\s[^<>]*?)?(\/?)>/g)) {
    if (closing) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else if (!selfClosing) {
      if (stack.length === 0) roots++;
      stack.push(name!);
    }
  }
  assert.deepEqual(stack, [], "unclosed elements");
  assert.equal(roots, 1);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.doesNotMatch(svg.replace(/&(amp|lt|gt|quot|#39);/g, ""), /&/, "unescaped &");
}

describe("fleetscale simulate", () => {
  it("prints every step as JSON, times in seconds, with each member's desired and ready replicas", () => {
    const report = simulateJson(QUIET);
    assert.deepEqual(Object.keys(report), ["steps", "summary"]);
    assert.deepEqual(report.steps.map((s) => s.at), [0, 30, 60, 90, 120]);
    for (const step of report.steps) {
      assert.deepEqual(Object.keys(step), ["at", "totalReplicas", "members"]);
      assert.deepEqual(step.members.map((m) => m.name), MEMBERS);
      for (const member of step.members) assert.deepEqual(Object.keys(member), ["name", "desiredReplicas", "readyReplicas", "reachable", "state", "description"]);
    }
    assert.deepEqual(Object.keys(report.summary).sort(), ["lowestReachableReadyCapacity", "lowestReadyCapacity", "memberWrites", "moves"]);
    assert.deepEqual(Object.keys(report.summary.moves), MEMBERS);
  });

  it("prints the engine's own steps: the fleet model run on the same DSO and scenario", () => {
    const report = simulateJson(PARTITION);
    const dso = readDsoManifests(readFileSync(dsoFile, "utf8"), dsoFile)[0]!;
    const run = runFleet(fleetScenarioOf(readScenario(PARTITION, "partition"), dso, [], "partition"));
    assert.deepEqual(report.steps, run.steps.map((s) => ({ ...s, at: s.at / 1000 })));
    assert.deepEqual(report.summary, run.summary);
  });

  it("prints a long run whole through a pipe", () => {
    const report = simulateJson("total: 10\nstep: 1s\nduration: 2h\n");
    assert.equal(report.steps.length, 7201);
    assert.equal(report.steps.at(-1)!.at, 7200);
  });

  it("runs on the registered members, equally weighted, when memberClusters is empty", () => {
    const dso = scenarioFile("apiVersion: fleetscale.io/v1alpha1\nkind: DistributedScaledObject\nmetadata: {name: api}\nspec:\n  scaledObjectSpec: {scaleTargetRef: {name: api}}\n", "dso.yaml");
    const run = fleetscale("simulate", "-f", dso, "--members", "x,y", "--scenario", scenarioFile("total: 4\nduration: 1m\nevents: [{at: 30s, down: y, pods: lose}]\n"), "-o", "json");
    assert.equal(run.code, 0, run.stderr);
    const first = JSON.parse(run.stdout).steps[0];
    assert.deepEqual(first.members.map((m: { name: string; desiredReplicas: number }) => [m.name, m.desiredReplicas]), [["x", 2], ["y", 2]]);
  });

  it("never writes a member when nothing happens", () => {
    const report = simulateJson(QUIET);
    assert.equal(report.summary.memberWrites, 0);
    const withoutTime = report.steps.map(({ at: _, ...rest }) => rest);
    for (const step of withoutTime) assert.deepEqual(step, withoutTime[0]);
    assert.equal(report.summary.lowestReadyCapacity, 10);
  });

  it("follows a total event in totalReplicas from its time on", () => {
    const report = simulateJson("total: 10\nstep: 30s\nduration: 3m\nevents: [{at: 1m, total: 4}]\n");
    assert.deepEqual(report.steps.map((s) => [s.at, s.totalReplicas]), [[0, 10], [30, 10], [60, 4], [90, 4], [120, 4], [150, 4], [180, 4]]);
  });

  it("shows a member down from its event until it is up again as unreachable", () => {
    const report = simulateJson(PARTITION);
    const reachable = report.steps.map((s) => [s.at, s.members[1]!.reachable]);
    assert.deepEqual(reachable.filter(([, r]) => !r).map(([at]) => at), [60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170]);
  });

  it("prints a table row for the first, the last and every step that changed, then the summary", () => {
    const quiet = fleetscale("simulate", "-f", dsoFile, "--scenario", scenarioFile(QUIET));
    assert.equal(quiet.code, 0, quiet.stderr);
    const rows = quiet.stdout.split("\n").filter((line) => /^\d/.test(line));
    assert.deepEqual(rows.map((row) => row.split(/\s+/)[0]), ["0s", "2m"]);
    assert.match(quiet.stdout, /^TIME\s+TOTAL\s+member-cluster-1\s+member-cluster-2$/m);
    assert.match(quiet.stdout, /^0s\s+10\s+4\/4 Ready\s+6\/6 Ready$/m);
    assert.match(quiet.stdout, /^member writes: 0$/m);
    assert.match(quiet.stdout, /^lowest ready capacity: 10$/m);
    assert.match(quiet.stdout, /^lowest reachable ready capacity: 10$/m);

    const partition = fleetscale("simulate", "-f", dsoFile, "--scenario", scenarioFile(PARTITION));
    assert.equal(partition.code, 0, partition.stderr);
    assert.match(partition.stdout, /^1m\s+10\s.*\s\d+\/\d+\* \S+$/m, "the unreachable member is marked");
    assert.match(partition.stdout, /\* the hub cannot reach the member/);
  });

  it("writes a well-formed chart with a legend entry per member and an outage for a down member", () => {
    const dir = mkdtempSync(join(tmpdir(), "fleetscale-svg-"));
    const scenario = scenarioFile(PARTITION, "a&b<c>.yaml");
    const first = fleetscale("simulate", "-f", dsoFile, "--scenario", scenario, "--svg", join(dir, "1.svg"));
    assert.equal(first.code, 0, first.stderr);
    assert.equal(fleetscale("simulate", "-f", dsoFile, "--scenario", scenario, "--svg", join(dir, "2.svg")).code, 0);
    const svg = readFileSync(join(dir, "1.svg"), "utf8");
    assertWellFormed(svg);
    assert.equal(svg, readFileSync(join(dir, "2.svg"), "utf8"), "the same run gives the same bytes");
    assert.ok(svg.includes("a&amp;b&lt;c&gt;.yaml"), "the title is escaped");
    assert.equal(svg.match(/class="legend-member"/g)?.length, MEMBERS.length);
    assert.equal(svg.match(/class="ready"/g)?.length, MEMBERS.length);
    assert.equal(svg.match(/class="total"/g)?.length, 1);
    assert.equal(svg.match(/<rect class="outage" data-member="member-cluster-2"/g)?.length, 1);
    assert.equal(svg.match(/class="outage" data-member="member-cluster-1"/g), null);
    for (const member of MEMBERS) assert.ok(svg.includes(`class="state" data-member="${member}"`), `no state band for ${member}`);
  });

  it("writes a chart with no outage when every member stays reachable", () => {
    const file = join(mkdtempSync(join(tmpdir(), "fleetscale-svg-")), "quiet.svg");
    assert.equal(fleetscale("simulate", "-f", dsoFile, "--scenario", scenarioFile(QUIET), "--svg", file).code, 0);
    const svg = readFileSync(file, "utf8");
    assertWellFormed(svg);
    assert.equal(svg.match(/class="outage"/g), null);
  });

  for (const example of readdirSync(scenarios).filter((f) => f.endsWith(".yaml"))) {
    it(`runs the example ${example}`, () => {
      const run = fleetscale("simulate", "-f", dsoFile, "--scenario", join(scenarios, example), "-o", "json");
      assert.equal(run.code, 0, run.stderr);
      assert.ok(JSON.parse(run.stdout).steps.length > 1);
    });
  }

  /** Billion laughs: each level refers to the one before nine times, 9^6 strings from a few lines. */
  const levels = ["a", "b", "c", "d", "e", "f"];
  const bomb = `total: 1\nduration: 1m\nx0: &x0 ["lol"]\n${levels.map((_, i) => `x${i + 1}: &x${i + 1} [${Array(9).fill(`*x${i}`).join(", ")}]`).join("\n")}\n`;
  const bad: [string, string, RegExp][] = [
    ["an unknown member in an event", "total: 1\nduration: 1m\nevents: [{at: 0s, down: eu-9}]\n", /events\[0\]\.down: unknown member "eu-9" \(members: member-cluster-1, member-cluster-2\)/],
    ["an unknown member in a weight event", "total: 1\nduration: 1m\nevents: [{at: 0s, weight: {eu-9: 2}}]\n", /events\[0\]\.weight\.eu-9: unknown member "eu-9"/],
    ["two actions in one event", "total: 1\nduration: 1m\nevents: [{at: 0s}, {at: 0s, down: member-cluster-1, up: member-cluster-2}]\n", /events\[1\]: needs exactly one of down, up, total, weight, unready \(found: down, up\)/],
    ["an event without an action", "total: 1\nduration: 1m\nevents: [{at: 0s}]\n", /events\[0\]: needs exactly one of .* \(found: none\)/],
    ["pods without down", "total: 1\nduration: 1m\nevents: [{at: 0s, up: member-cluster-1, pods: lose}]\n", /events\[0\]\.pods: only goes with down/],
    ["a bad duration", "total: 1\nduration: 5 minutes\n", /duration: must be a duration/],
    ["a bad event time", "total: 1\nduration: 1m\nevents: [{at: soon, up: member-cluster-1}]\n", /events\[0\]\.at: must be a duration/],
    ["an event after the end", "total: 1\nduration: 1m\nevents: [{at: 2m, up: member-cluster-1}]\n", /events\[0\]\.at: 2m is after the end of the run \(duration 1m\)/],
    ["a negative total", "total: -1\nduration: 1m\n", /total: Too small/],
    ["a negative total in an event", "total: 1\nduration: 1m\nevents: [{at: 0s, total: -3}]\n", /events\[0\]\.total: Too small/],
    ["a total beyond int32", "total: 3000000000\nduration: 1m\n", /total: /],
    ["a missing total", "duration: 1m\n", /total: /],
    ["a step of zero", "total: 1\nstep: 0s\nduration: 1m\n", /step: must be longer than 0s/],
    ["too many steps", "total: 1\nstep: 1ms\nduration: 1h\n", /duration: 1h in steps of 1ms is more than 100000 steps/],
    ["an unknown field", "total: 1\nduration: 1m\nevents: [{at: 0s, up: member-cluster-1, why: test}]\n", /events\[0\]: Unrecognized key: "why"/],
    ["pods that are neither keep nor lose", "total: 1\nduration: 1m\nevents: [{at: 0s, down: member-cluster-1, pods: maybe}]\n", /events\[0\]\.pods: /],
    ["a YAML alias bomb", bomb, /Excessive alias count/],
    ["malformed YAML", "total: [1\n", /invalid YAML in /],
  ];
  for (const [what, text, expected] of bad) {
    it(`rejects ${what} with exit code 2, naming the field`, () => {
      const run = fleetscale("simulate", "-f", dsoFile, "--scenario", scenarioFile(text));
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, expected);
      assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
    });
  }

  it("rejects every weight at 0 at once, naming the event", () => {
    const run = fleetscale("simulate", "-f", dsoFile, "--scenario", scenarioFile("total: 1\nduration: 1m\nevents:\n  - {at: 0s, weight: {member-cluster-1: 0}}\n  - {at: 30s, weight: {member-cluster-2: 0}}\n"));
    assert.equal(run.code, 2);
    assert.match(run.stderr, /events\[1\]\.weight: leaves every member at weight 0/);
  });

  const badFlags: [string, string[], RegExp][] = [
    ["a missing scenario file", ["-f", dsoFile, "--scenario", "/nonexistent/scenario.yaml"], /--scenario: cannot read \/nonexistent\/scenario.yaml/],
    ["an alias bomb in the DSO file", ["-f", scenarioFile(bomb, "dso.yaml"), "--scenario", join(scenarios, "partition.yaml")], /invalid YAML in .*dso\.yaml:\n.*Excessive alias count/],
    ["a missing DSO file", ["-f", "/nonexistent/dso.yaml", "--scenario", join(scenarios, "partition.yaml")], /--file: cannot read \/nonexistent\/dso.yaml/],
    ["no --scenario", ["-f", dsoFile], /required option '--scenario <scenario.yaml>'/],
    ["an unknown output format", ["-f", dsoFile, "--scenario", join(scenarios, "partition.yaml"), "-o", "yaml"], /Allowed choices are table, json/],
    ["a chart that cannot be written", ["-f", dsoFile, "--scenario", join(scenarios, "partition.yaml"), "--svg", "/nonexistent/chart.svg"], /--svg: cannot write \/nonexistent\/chart.svg/],
    ["an unknown --name", ["-f", dsoFile, "--scenario", join(scenarios, "partition.yaml"), "--name", "other"], /--file: .* has no DistributedScaledObject named "other"/],
  ];
  for (const [what, args, expected] of badFlags) {
    it(`rejects ${what} with exit code 2, naming the flag`, () => {
      const run = fleetscale("simulate", ...args);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, expected);
      assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
    });
  }

  it("writes no chart when the input is bad", () => {
    const file = join(mkdtempSync(join(tmpdir(), "fleetscale-svg-")), "chart.svg");
    const run = fleetscale("simulate", "-f", dsoFile, "--scenario", scenarioFile("total: -1\nduration: 1m\n"), "--svg", file);
    assert.equal(run.code, 2);
    assert.equal(existsSync(file), false);
  });
});
