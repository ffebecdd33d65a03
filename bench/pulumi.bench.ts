/**
 * `pulumi preview` and `pulumi up` of the real fleetscale project (Pulumi.yaml, program.js)
 * with the real Pulumi CLI and engine, for fleets of 2, 5 and 10 members: one local fleet
 * of hub + max(sizes) member clusters, one throwaway stack per size (destroyed before the
 * next), all against real API servers. Every member is its own cluster.
 *
 * Per size: preview of the first deployment, the first up, BENCH_RUNS previews with nothing
 * to do (median), then a weight change previewed and applied (one up), then destroy. Times
 * are wall-clock of the CLI process; CPU is user + system of every process the command runs
 * (bench/live/process-tree-cpu.ts), which the machine's load sways less.
 *
 * With BENCH_BASELINE=<git revision>, the project as it was at that revision (extracted and
 * built, bench/baseline-project.ts) previews the same stack, alternating run by run with this
 * one, plus once with ts-node's cache off (what an edited program costs it). One preview of
 * each also runs with the engine's log on, for where the time goes (bench/live/preview-phases.ts).
 *
 * Run: BENCH_BASELINE=<rev> BENCH_RUNS=3 node dist/bench/pulumi.bench.js [sizes, e.g. 2,10]
 */
import { execFileSync } from "node:child_process";
import { loadavg } from "node:os";
import { LocalFleet } from "../test/support/fleet";
import { ProjectStack, changeSummary } from "../test/support/project-stack";
import { check, repoRoot } from "../test/support/pulumi";
import { deployment } from "../test/support/workloads";
import { type BaselineProject, checkoutBaselineProject } from "./baseline-project";
import { PROCESS_KINDS, type ProcessKind, sampleProcessTreeCpu, totalCpu } from "./live/process-tree-cpu";
import { PHASE_LOG_FLAGS, type Phase, previewPhases } from "./live/preview-phases";
import { HUB_NAMESPACE, fmt, load, machine, median, progress, table, runBench } from "./live/support";

const SIZES = (process.argv[2] ?? "2,5,10").split(",").map(Number);
const LARGEST = Math.max(...SIZES);
const RUNS = Number(process.env["BENCH_RUNS"] ?? 3);
const BASELINE = process.env["BENCH_BASELINE"];

interface Measured {
  ms: number;
  cpu: Record<ProcessKind, number>;
  load1: number;
}

/** A preview that must find nothing to do, with its wall time, its processes' CPU and the load when it started. */
async function noopPreview(stack: ProjectStack, options: { env?: NodeJS.ProcessEnv; engineLog?: boolean } = {}): Promise<Measured & { stderr: string; startedAt: number }> {
  const load1 = loadavg()[0]!;
  const sampler = sampleProcessTreeCpu();
  const startedAt = Date.now();
  const run = await stack.run(["preview", "--diff", ...(options.engineLog ? PHASE_LOG_FLAGS : [])], undefined, options.env);
  const cpu = sampler.stop();
  check(run);
  const summary = changeSummary(run.stdout);
  if (Object.keys(summary).some((k) => k !== "unchanged")) throw new Error(`preview after up not empty (${stack.projectDir}): ${JSON.stringify(summary)}`);
  return { ms: run.ms, cpu, load1, stderr: run.stderr, startedAt };
}

const seconds = (runs: readonly Measured[]) => `${fmt(median(runs.map((r) => r.ms)) / 1000, 1)} (${fmt(Math.min(...runs.map((r) => r.ms)) / 1000, 1)}-${fmt(Math.max(...runs.map((r) => r.ms)) / 1000, 1)})`;
const cpuSeconds = (runs: readonly Measured[]) => fmt(median(runs.map((r) => totalCpu(r.cpu))), 1);
const loads = (runs: readonly Measured[]) => `${fmt(Math.min(...runs.map((r) => r.load1)), 1)}-${fmt(Math.max(...runs.map((r) => r.load1)), 1)}`;

/** CPU seconds of `node -e "require('@pulumi/pulumi')"`, the SDK every Pulumi Node.js process loads first, and its wall time. */
function sdkLoad(): { ms: number; cpuMs: number } {
  const started = Date.now();
  const out = execFileSync(process.execPath, ["-e", "require('@pulumi/pulumi'); const u = process.cpuUsage(); console.log((u.user + u.system) / 1000)"], { cwd: repoRoot(), encoding: "utf8" });
  return { ms: Date.now() - started, cpuMs: Number(out.trim()) };
}

interface SizeResult {
  size: number;
  resources: number;
  current: Measured[];
  baseline: Measured[];
  baselineUncached?: Measured;
  phases: { current: Phase[]; baseline: Phase[] };
  firstPreviewMs: number;
  firstUpMs: number;
  changePreviewMs: number;
  changed: number;
  changeUpMs: number;
  destroyMs: number;
  load: string;
}

async function main(): Promise<void> {
  const baselineProject: BaselineProject | undefined = BASELINE ? checkoutBaselineProject(BASELINE) : undefined;
  if (baselineProject) progress(`baseline ${baselineProject.commit} built in ${baselineProject.dir}`);
  const members = Array.from({ length: LARGEST }, (_, i) => `member-${i + 1}`);
  const started = Date.now();
  const fleet = LocalFleet.start({ clusters: ["hub", ...members] });
  const fleetUp = (Date.now() - started) / 1000;
  const results: SizeResult[] = [];
  const sdk = Array.from({ length: 3 }, sdkLoad);
  try {
    progress(`fleet of ${LARGEST + 1} clusters up in ${fleetUp.toFixed(1)} s`);
    for (const m of members) fleet.apply(m, deployment("web", 1));
    for (const size of SIZES) {
      const names = members.slice(0, size);
      const config = (weights: Record<string, number>) => ({
        hub: { kubeconfigPath: fleet.cluster("hub").kubeconfig, namespace: HUB_NAMESPACE, replicas: 1 },
        members: Object.fromEntries(names.map((n) => [n, { kubeconfigPath: fleet.cluster(n).kubeconfig, weight: weights[n] ?? 1 }])),
        workloads: { web: { totalTargetReplicas: 2 * size, scaledObjectSpec: { scaleTargetRef: { name: "web" } } } },
      });
      const stack = await ProjectStack.create(config({}));
      const before = baselineProject ? stack.sameStackIn(baselineProject.dir) : undefined;
      try {
        const loadAtStart = load();
        const firstPreview = check(await stack.run(["preview", "--diff"]));
        const created = changeSummary(firstPreview.stdout);
        const firstUp = await stack.up();
        progress(`${size} members: first up ${fmt(firstUp.ms / 1000, 1)} s`);
        const variants = before ? [stack, before] : [stack];
        // One unmeasured preview each: ts-node's cache, the OS's file cache.
        for (const variant of variants) await noopPreview(variant);
        const current: Measured[] = [];
        const baseline: Measured[] = [];
        for (let i = 0; i < RUNS; i++) {
          current.push(await noopPreview(stack));
          if (before) baseline.push(await noopPreview(before));
          progress(`${size} members: round ${i + 1}/${RUNS}`);
        }
        const baselineUncached = before ? await noopPreview(before, { env: { TS_NODE_CACHE: "false" } }) : undefined;
        const phaseRun = async (variant: ProjectStack) => {
          const run = await noopPreview(variant, { engineLog: true });
          return previewPhases(run.stderr, run.startedAt);
        };
        const phases = { current: await phaseRun(stack), baseline: before ? await phaseRun(before) : [] };
        stack.writeConfig(config({ "member-1": 3 }));
        const changePreview = check(await stack.run(["preview", "--diff"]));
        const changeUp = await stack.up();
        const destroy = await stack.destroy();
        results.push({
          size,
          resources: created["create"] ?? NaN,
          current,
          baseline,
          ...(baselineUncached ? { baselineUncached } : {}),
          phases,
          firstPreviewMs: firstPreview.ms,
          firstUpMs: firstUp.ms,
          changePreviewMs: changePreview.ms,
          changed: changeSummary(changePreview.stdout)["update"] ?? 0,
          changeUpMs: changeUp.ms,
          destroyMs: destroy.ms,
          load: `${loadAtStart} -> ${load()}`,
        });
        progress(`${size} members done`);
      } finally {
        before?.cleanup();
        stack.cleanup();
      }
    }
  } finally {
    fleet.down();
    baselineProject?.remove();
  }
  print(results, baselineProject?.commit, fleetUp, sdk);
}

function print(results: SizeResult[], baseline: string | undefined, fleetUp: number, sdk: { ms: number; cpuMs: number }[]): void {
  const versus = baseline ? ` side by side with the project at ${baseline} (alternating run by run, same stack)` : "";
  console.log(`pulumi preview / up of the fleetscale stack, real CLI and engine, hub + ${LARGEST} member clusters started once (${fmt(fleetUp, 1)} s), one stack per fleet size${versus} (${machine()})\n`);
  console.log(
    table(
      ["members", "resources", "preview, nothing to do: s (median, min-max of " + RUNS + ")", "CPU s", ...(baseline ? [`${baseline}: s`, `${baseline}: CPU s`, `${baseline}, ts-node cache off: s / CPU s`] : []), "load (1 min) during those", "first preview s", "first up s", "weight change: preview s / up s", "destroy s", "load start -> end"],
      results.map((r) => [
        String(r.size),
        String(r.resources),
        seconds(r.current),
        cpuSeconds(r.current),
        ...(baseline ? [seconds(r.baseline), cpuSeconds(r.baseline), r.baselineUncached ? `${fmt(r.baselineUncached.ms / 1000, 1)} / ${fmt(totalCpu(r.baselineUncached.cpu), 1)}` : "-"] : []),
        loads([...r.current, ...r.baseline]),
        fmt(r.firstPreviewMs / 1000, 1),
        fmt(r.firstUpMs / 1000, 1),
        `${fmt(r.changePreviewMs / 1000, 1)} (${r.changed} to update) / ${fmt(r.changeUpMs / 1000, 1)}`,
        fmt(r.destroyMs / 1000, 1),
        r.load,
      ]),
    ),
  );
  console.log("\nCPU s by process, median of the previews with nothing to do:\n");
  const variants = (r: SizeResult) => [["now", r.current] as const, ...(baseline ? [[baseline, r.baseline] as const] : [])];
  console.log(
    table(
      ["members", "project", ...PROCESS_KINDS.filter((k) => k !== "other"), "all"],
      results.flatMap((r) => variants(r).map(([name, runs]) => [String(r.size), name, ...PROCESS_KINDS.filter((k) => k !== "other").map((k) => fmt(median(runs.map((m) => m.cpu[k])), 2)), fmt(median(runs.map((m) => totalCpu(m.cpu))), 2)])),
      2,
    ),
  );
  console.log("\nWhere a preview with nothing to do spends its time: seconds since the command started, one preview with the engine's log on (-v=7, which slows it):\n");
  const sizes = results.flatMap((r) => variants(r).map(([name]) => ({ r, name })));
  const names = results[0]?.phases.current.map((p) => p.name) ?? [];
  console.log(
    table(
      ["landmark", ...sizes.map(({ r, name }) => `${r.size} members, ${name}`)],
      names.map((landmark) => [landmark, ...sizes.map(({ r, name }) => fmt((name === "now" ? r.phases.current : r.phases.baseline).find((p) => p.name === landmark)?.at ?? NaN, 2))]),
    ),
  );
  console.log(`\nnode -e "require('@pulumi/pulumi')" (every Node.js process of a preview loads it first; the program and the dynamic provider): ${sdk.map((s) => `${fmt(s.ms / 1000, 2)} s wall / ${fmt(s.cpuMs / 1000, 2)} s CPU`).join(", ")}`);
}

runBench(main);
