/**
 * Side-by-side benchmark of fleetscale's apportionment against Karmada's Webster
 * dispenser (helper.AllocateWebsterSeats from github.com/karmada-io/karmada v1.16.0,
 * driven by the small Go program in bench/karmada/).
 *
 * Both sides get the same deterministic inputs, written to a temporary JSON file. The Go
 * program is built once and cached under
 * ${XDG_CACHE_HOME:-~/.cache}/fleetscale/bench/karmada-<hash of its sources>.
 * The measurement alternates between the two sides over several rounds, so that a change
 * in machine load hits both alike; each side's median is over all its timed runs.
 * Afterwards the allocations are compared case by case, and every disagreement is
 * checked to be a tie at the margin (both results valid Webster apportionments that only
 * differ in which tied members get the last seats).
 *
 * Usage: node dist/bench/apportion-compare.js
 * Environment: BENCH_ROUNDS (default 3), BENCH_RUNS runs per side per round (default 5),
 * FLEETSCALE_KARMADA_BIN to use a prebuilt binary.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cpus, homedir, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { apportion, type Claim } from "../engine/apportion";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RUNS_PER_ROUND = Number(process.env.BENCH_RUNS ?? 5);
const NODE_WARMUP = 3;
const GO_WARMUP = 3;

interface Case {
  total: number;
  weights: number[];
}
interface Benchmark {
  name: string;
  cases: Case[];
}
interface GoResult {
  name: string;
  runsMs: number[];
  allocations?: number[][];
  allocationsIndexTie?: number[][];
}
interface GoOutput {
  goVersion: string;
  gomaxprocs: number;
  results: GoResult[];
}

/** Deterministic pseudo-random numbers (the same generator as engine.bench.ts). */
function lcg(seed: number) {
  let state = seed >>> 0;
  return (max: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % max;
  };
}

/** `workloads` cases of `members` weights 1..10 each; totals 1..20 per member on average, or fixed. */
function cases(workloads: number, members: number, seed: number, fixedTotal?: number): Case[] {
  const random = lcg(seed);
  return Array.from({ length: workloads }, () => {
    const weights = Array.from({ length: members }, () => 1 + random(10));
    return { total: fixedTotal ?? 1 + random(members * 20), weights };
  });
}

const benchmarks: Benchmark[] = [
  { name: "10,000 workloads x 10 members", cases: cases(10_000, 10, 1) },
  { name: "1 workload x 1,000 members, 20,000 replicas", cases: cases(1, 1_000, 2, 20_000) },
];

// ---------------------------------------------------------------- the Go binary

const sourceDir = resolve(__dirname, "../../bench/karmada");
const sourceFiles = ["go.mod", "go.sum", "main.go"];

function karmadaBinary(): { path: string; buildSeconds?: number } {
  const override = process.env.FLEETSCALE_KARMADA_BIN;
  if (override) return { path: override };
  const hash = createHash("sha256");
  hash.update(`${process.platform}/${process.arch}\n`);
  for (const file of sourceFiles) hash.update(`${file}\n`).update(readFileSync(join(sourceDir, file)));
  const cacheRoot = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  const dir = join(cacheRoot, "fleetscale", "bench");
  const path = join(dir, `karmada-${hash.digest("hex").slice(0, 16)}`);
  if (existsSync(path)) return { path };

  mkdirSync(dir, { recursive: true });
  const partial = `${path}.${process.pid}.tmp`;
  const args = ["build", "-trimpath", "-o", partial, "."];
  // Builds at the lowest priority: the machine is usually shared with other work.
  const [command, commandArgs] = process.platform === "win32" ? ["go", args] : ["nice", ["-n", "19", "go", ...args]];
  console.error(`building Karmada benchmark binary (${command} ${commandArgs.join(" ")}) in ${sourceDir} ...`);
  const start = performance.now();
  const build = spawnSync(command, commandArgs, { cwd: sourceDir, stdio: ["ignore", "inherit", "inherit"] });
  const buildSeconds = (performance.now() - start) / 1000;
  if (build.error || build.status !== 0) {
    rmSync(partial, { force: true });
    throw new Error(`go build failed (${build.error?.message ?? `exit ${build.status}`}); see the output above`);
  }
  chmodSync(partial, 0o755);
  renameSync(partial, path);
  console.error(`built ${path} in ${buildSeconds.toFixed(1)} s`);
  return { path, buildSeconds };
}

function runKarmada(binary: string, inputFile: string): GoOutput {
  const run = spawnSync(binary, [inputFile], { encoding: "utf8", maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "inherit"] });
  if (run.error || run.status !== 0) throw new Error(`${binary} failed (${run.error?.message ?? `exit ${run.status}`})`);
  return JSON.parse(run.stdout) as GoOutput;
}

// ---------------------------------------------------------------- fleetscale side

/** A full collection before each timed run, as the Go side does with runtime.GC(). */
const collect: () => void = (() => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as (() => void) | undefined;
  return typeof gc === "function" ? gc : () => {};
})();

/** Inputs as fleetscale takes them, built outside the timed region (as the Go side builds its maps). */
const prepared = benchmarks.map((b) => b.cases.map((c) => ({ total: c.total, claims: c.weights.map((weight, rank): Claim => ({ weight, min: 0, max: Infinity, rank })) })));

let sink = 0;
function runFleetscale(index: number): void {
  for (const c of prepared[index]!) sink += apportion(c.total, c.claims).length;
}

function timeFleetscale(index: number, warmup: number, runs: number): number[] {
  for (let i = 0; i < warmup; i++) runFleetscale(index);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    collect();
    const start = performance.now();
    runFleetscale(index);
    samples.push(performance.now() - start);
  }
  return samples;
}

// ---------------------------------------------------------------- comparison

/** Exact comparison of the fractions a/b and c/d (positive denominators). */
const cmp = (a: number, b: number, c: number, d: number) => Math.sign(a * d - c * b);

/**
 * Checks that `alloc` is a Webster apportionment of `total`: every member's last seat
 * has priority weight/(2a-1) at least the best next-seat priority weight/(2a+1). Returns
 * the margin when it is a tie (the two priorities equal), as a fraction.
 */
function webster(weights: number[], alloc: number[], total: number): { valid: boolean; tie?: [number, number] } {
  let sum = 0;
  let last: [number, number] | undefined; // lowest last-seat priority
  let next: [number, number] | undefined; // highest next-seat priority
  weights.forEach((w, i) => {
    const a = alloc[i]!;
    sum += a;
    if (a > 0 && (!last || cmp(w, 2 * a - 1, last[0], last[1]) < 0)) last = [w, 2 * a - 1];
    if (!next || cmp(w, 2 * a + 1, next[0], next[1]) > 0) next = [w, 2 * a + 1];
  });
  if (sum !== total || alloc.some((a) => a < 0 || !Number.isInteger(a))) return { valid: false };
  if (!last || !next) return { valid: true };
  const order = cmp(last[0], last[1], next[0], next[1]);
  return order > 0 ? { valid: true } : order === 0 ? { valid: true, tie: last } : { valid: false };
}

/**
 * True when `ours` and `theirs` are both Webster apportionments of the case and differ
 * only in which members tied at the margin got the last seats: every member differs by
 * at most one seat, and a member's extra seat on either side has exactly the tied priority.
 */
function differsOnlyByTie(c: Case, ours: number[], theirs: number[]): boolean {
  const a = webster(c.weights, ours, c.total);
  const b = webster(c.weights, theirs, c.total);
  if (!a.valid || !b.valid || !a.tie || !b.tie || cmp(a.tie[0], a.tie[1], b.tie[0], b.tie[1]) !== 0) return false;
  const [tn, td] = a.tie;
  return c.weights.every((w, i) => {
    const x = ours[i]!;
    const y = theirs[i]!;
    if (x === y) return true;
    if (Math.abs(x - y) !== 1) return false;
    const extra = Math.max(x, y); // the seat one side has and the other does not
    return cmp(w, 2 * extra - 1, tn, td) === 0;
  });
}

const equal = (x: readonly number[], y: readonly number[]) => x.length === y.length && x.every((v, i) => v === y[i]);

function median(samples: number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

// ---------------------------------------------------------------- main

function main(): void {
  const { path: binary, buildSeconds } = karmadaBinary();
  const dir = mkdtempSync(join(tmpdir(), "fleetscale-apportion-"));
  try {
    const inputFile = join(dir, "input.json");
    const allocFile = join(dir, "input-allocations.json");
    const payload = { benchmarks: benchmarks.map((b) => ({ name: b.name, cases: b.cases })) };
    writeFileSync(inputFile, JSON.stringify({ runs: RUNS_PER_ROUND, warmup: GO_WARMUP, emitAllocations: false, ...payload }));
    writeFileSync(allocFile, JSON.stringify({ runs: 1, warmup: 0, emitAllocations: true, ...payload }));

    const ours: number[][] = benchmarks.map(() => []);
    const theirs: number[][] = benchmarks.map(() => []);
    const loads: string[] = [fmtLoad()];
    let goInfo = "";
    for (let round = 0; round < ROUNDS; round++) {
      const sides = [
        () => benchmarks.forEach((_, i) => ours[i]!.push(...timeFleetscale(i, round === 0 ? NODE_WARMUP : 1, RUNS_PER_ROUND))),
        () => {
          const out = runKarmada(binary, inputFile);
          goInfo = `${out.goVersion}, GOMAXPROCS=${out.gomaxprocs}`;
          out.results.forEach((r, i) => theirs[i]!.push(...r.runsMs));
        },
      ];
      if (round % 2) sides.reverse(); // alternate which side goes first
      for (const side of sides) side();
      loads.push(fmtLoad());
    }

    // Allocations for the correctness comparison (untimed).
    const allocations = runKarmada(binary, allocFile).results;

    console.log(`fleetscale: Node ${process.version}; karmada v1.16.0 helper.AllocateWebsterSeats: ${goInfo}`);
    console.log(`${cpus()[0]?.model ?? "unknown CPU"} x${cpus().length}; ${ROUNDS} alternating rounds x ${RUNS_PER_ROUND} timed runs per side (${ROUNDS * RUNS_PER_ROUND} in all)`);
    console.log(`Go binary: ${binary}${buildSeconds === undefined ? " (cached)" : ` (built in ${buildSeconds.toFixed(1)} s)`}`);
    console.log(`load average (1m, 5m, 15m) at start and after each round: ${loads.join(" | ")}\n`);
    console.log("| case | fleetscale median ms | karmada median ms | ratio (karmada / fleetscale) | fleetscale min–max ms | karmada min–max ms |");
    console.log("|---|---:|---:|---:|---:|---:|");
    benchmarks.forEach((b, i) => {
      const f = ours[i]!;
      const k = theirs[i]!;
      const ratio = median(k) / median(f);
      console.log(`| ${b.name} | ${median(f).toFixed(2)} | ${median(k).toFixed(2)} | ${ratio.toFixed(2)} | ${Math.min(...f).toFixed(2)}–${Math.max(...f).toFixed(2)} | ${Math.min(...k).toFixed(2)}–${Math.max(...k).toFixed(2)} |`);
    });

    console.log("\n| case | cases | agree with karmada (default tie-break) | disagreements that are ties at the margin | agree with karmada (index tie-break) | cases with a tie at the margin |");
    console.log("|---|---:|---:|---:|---:|---:|");
    let unexplained = 0;
    benchmarks.forEach((b, i) => {
      const k = allocations[i]!;
      let agree = 0;
      let agreeIndex = 0;
      let tiesExplained = 0;
      let marginTies = 0;
      b.cases.forEach((c, j) => {
        const mine = apportion(c.total, prepared[i]![j]!.claims);
        const check = webster(c.weights, mine, c.total);
        if (!check.valid) unexplained++;
        if (check.tie) marginTies++;
        if (equal(mine, k.allocationsIndexTie![j]!)) agreeIndex++;
        else unexplained++;
        if (equal(mine, k.allocations![j]!)) agree++;
        else if (differsOnlyByTie(c, mine, k.allocations![j]!)) tiesExplained++;
        else unexplained++;
      });
      const n = b.cases.length;
      console.log(`| ${b.name} | ${n} | ${agree} (${pct(agree, n)}) | ${tiesExplained} of ${n - agree} | ${agreeIndex} (${pct(agreeIndex, n)}) | ${marginTies} |`);
    });
    if (unexplained > 0) {
      console.log(`\n${unexplained} disagreement(s) NOT explained by tie-breaking`);
      process.exitCode = 1;
    }
    if (sink < 0) console.log(sink); // keeps the timed calls observable
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmtLoad = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(", ");
const pct = (k: number, n: number) => `${((100 * k) / n).toFixed(2)}%`;

main();
