/**
 * `pulumi preview` and `pulumi up` of the real fleetscale project (Pulumi.yaml, index.ts)
 * with the real Pulumi CLI and engine, for fleets of 2, 5 and 10 members: one local fleet
 * of hub + max(sizes) member clusters, one throwaway stack per size (destroyed before the
 * next), all against real API servers. Every member is its own cluster.
 *
 * Per size: preview of the first deployment, the first up, three previews with nothing to
 * do (median), then a weight change previewed and applied (one up), then destroy. Times
 * are wall-clock of the CLI process (ProjectStack's RunResult.ms).
 *
 * Run: node dist/bench/pulumi.bench.js [sizes, e.g. 2,5,10]
 */
import { LocalFleet } from "../test/support/fleet";
import { ProjectStack, changeSummary } from "../test/support/project-stack";
import { deployment } from "../test/support/workloads";
import { HUB_NAMESPACE, fmt, load, machine, median, progress, table, runBench } from "./live/support";

const SIZES = (process.argv[2] ?? "2,5,10").split(",").map(Number);
const LARGEST = Math.max(...SIZES);

async function main(): Promise<void> {
  const members = Array.from({ length: LARGEST }, (_, i) => `member-${i + 1}`);
  const started = Date.now();
  const fleet = LocalFleet.start({ clusters: ["hub", ...members] });
  const rows: string[][] = [];
  const fleetUp = (Date.now() - started) / 1000;
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
      try {
        const loadAtStart = load();
        const firstPreview = await stack.preview();
        const created = changeSummary(firstPreview.stdout);
        const firstUp = await stack.up();
        progress(`${size} members: first up ${fmt(firstUp.ms / 1000, 1)} s`);
        const noop: number[] = [];
        for (let i = 0; i < 3; i++) {
          const p = await stack.preview();
          const summary = changeSummary(p.stdout);
          if (Object.keys(summary).some((k) => k !== "unchanged")) throw new Error(`preview after up not empty: ${JSON.stringify(summary)}`);
          noop.push(p.ms);
        }
        stack.writeConfig(config({ "member-1": 3 }));
        const changePreview = await stack.preview();
        const changed = changeSummary(changePreview.stdout);
        const changeUp = await stack.up();
        const destroy = await stack.destroy();
        rows.push([
          String(size),
          `${fmt(firstPreview.ms / 1000, 1)} (${created.create ?? 0} to create)`,
          fmt(firstUp.ms / 1000, 1),
          `${fmt(median(noop) / 1000, 1)} (${fmt(Math.min(...noop) / 1000, 1)}-${fmt(Math.max(...noop) / 1000, 1)}; ${created.create ?? "?"} resources)`,
          `${fmt(changePreview.ms / 1000, 1)} (${changed.update ?? 0} to update)`,
          fmt(changeUp.ms / 1000, 1),
          fmt(destroy.ms / 1000, 1),
          `${loadAtStart} -> ${load()}`,
        ]);
        progress(`${size} members done`);
      } finally {
        stack.cleanup();
      }
    }
  } finally {
    fleet.down();
  }
  console.log(`pulumi preview / up of the fleetscale stack, real CLI and engine, hub + ${LARGEST} member clusters started once (${fmt(fleetUp, 1)} s), one stack per fleet size (${machine()})\n`);
  console.log(
    table(
      ["members", "first preview s", "first up s", "preview, no changes s (median, min-max of 3)", "preview of a weight change s", "up of the weight change s", "destroy s", "load (1/5/15 min)"],
      rows,
    ),
  );
}

runBench(main);
