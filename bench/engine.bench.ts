/**
 * Engine benchmark: a full re-plan of many workloads, and one workload over many
 * members. Prints a markdown table of medians (and min/max) over repeated runs in one
 * process; BENCHMARKS.md records the results. Single-threaded, so "one core".
 *
 * `BENCH_BASELINE=<git revision>` also measures that revision's engine on the same inputs,
 * each case alternating between the two, and prints the ratio: a regression check that
 * does not depend on how loaded the shared machine was on another day.
 */
import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { apportion } from "../engine/apportion";
import type { Observation } from "../engine/health";
import { type MemberInput, type PlanInput, plan, recordsOf } from "../engine/plan";
import { settle } from "../engine/settle";
import { loadBaselineEngine } from "./baseline-engine";

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const MINUTE = 60_000;
const policy = { gracePeriodMs: MINUTE, maxRebalancePercentage: 50 };

/** Deterministic pseudo-random numbers, so every run plans the same fleet. */
function lcg(seed: number) {
  let state = seed >>> 0;
  return (max: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % max;
  };
}

const ready = (n: number): Observation => ({ healthy: true, readyReplicas: n, currentReplicas: n });
const down: Observation = { healthy: false, failure: "Unreachable", message: "connect ECONNREFUSED" };

/** Workloads in steady state (previous plan settled, all replicas ready), ready to be re-planned. */
function fleet(workloads: number, members: number, seed: number): PlanInput[] {
  const random = lcg(seed);
  return Array.from({ length: workloads }, (_, w) => {
    const memberInputs: MemberInput[] = Array.from({ length: members }, (_, m) => ({ name: `member-${m}`, weight: 1 + random(10), observation: ready(0) }));
    const base: PlanInput = { workload: `ns-${w % 50}/app-${w}`, totalReplicas: 1 + random(members * 20), members: memberInputs, policy, previous: {}, now: 0 };
    const settled = settle(base).plan;
    return {
      ...base,
      previous: recordsOf(settled),
      previousTotalReplicas: base.totalReplicas,
      now: 10 * MINUTE,
      members: memberInputs.map((m, i) => ({ ...m, observation: ready(settled.members[i]!.desiredReplicas) })),
    };
  });
}

/** The same fleet one grace period after member-0 stopped answering: every workload re-plans a failover. */
function afterFailure(inputs: PlanInput[]): PlanInput[] {
  return inputs.map((input) => ({
    ...input,
    previous: { ...input.previous, "member-0": { ...input.previous["member-0"]!, state: "Unreachable", since: input.now - MINUTE } },
    members: input.members.map((m) => (m.name === "member-0" ? { ...m, observation: down } : m)),
  }));
}

type Sample = { median: number; min: number; max: number };

function summary(samples: number[]): Sample {
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)]!, min: samples[0]!, max: samples.at(-1)! };
}

/** Runs each variant RUNS times, alternating, so both see the same machine load. */
function measure(variants: readonly (() => void)[]): Sample[] {
  for (const work of variants) work(); // warm-up: JIT and caches
  const samples = variants.map(() => [] as number[]);
  for (let r = 0; r < RUNS; r++) {
    variants.forEach((work, v) => {
      const start = performance.now();
      work();
      samples[v]!.push(performance.now() - start);
    });
  }
  return samples.map(summary);
}

const baselineRev = process.env.BENCH_BASELINE;
const baseline = baselineRev ? loadBaselineEngine(baselineRev) : undefined;
const planners = [plan, ...(baseline ? [baseline.plan] : [])];

const steady10k = fleet(10_000, 10, 1);
const failover10k = afterFailure(steady10k);
const wide = fleet(1, 1_000, 2);
const wideFailover = afterFailure(wide);
const apportionClaims = wide[0]!.members.map((m, rank) => ({ weight: m.weight, min: 0, max: Infinity, rank }));

const cases: { label: string; inputs?: PlanInput[]; work?: () => void }[] = [
  { label: "re-plan 10,000 workloads x 10 members (steady)", inputs: steady10k },
  { label: "re-plan 10,000 workloads x 10 members (member-0 failed over)", inputs: failover10k },
  { label: "plan 1 workload x 1,000 members (steady)", inputs: wide },
  { label: "plan 1 workload x 1,000 members (member-0 failed over)", inputs: wideFailover },
  { label: "apportion 20,000 replicas over 1,000 members", work: () => apportion(20_000, apportionClaims) },
];

const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");
const loadBefore = load();
const results = cases.map((c) => ({
  label: c.label,
  samples: c.inputs ? measure(planners.map((p) => () => c.inputs!.forEach((input) => p(input)))) : measure([c.work!]),
}));

console.log(`Node ${process.version}, ${cpus()[0]?.model ?? "unknown CPU"} x${cpus().length}, ${RUNS} runs each after one warm-up`);
console.log(`load average ${loadBefore} before, ${load()} after${baseline ? `; baseline: engine of ${baselineRev} (${baseline.commit})` : ""}\n`);
if (baseline) {
  console.log("| case | median ms | min ms | max ms | baseline median ms | ratio |");
  console.log("|---|---:|---:|---:|---:|---:|");
} else {
  console.log("| case | median ms | min ms | max ms |");
  console.log("|---|---:|---:|---:|");
}
for (const { label, samples } of results) {
  const [now, before] = samples as [Sample, Sample | undefined];
  const cells = [label, now.median.toFixed(2), now.min.toFixed(2), now.max.toFixed(2)];
  if (baseline) cells.push(before ? before.median.toFixed(2) : "-", before ? (now.median / before.median).toFixed(2) : "-");
  console.log(`| ${cells.join(" | ")} |`);
}
