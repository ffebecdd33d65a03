/**
 * Reaction latency: spec.totalTargetReplicas changed in the hub DSO -> every member
 * Deployment's spec.replicas updated. Hub + 3 members on a local fleet, the runtime in
 * this process with its default options, 200 changes.
 *
 * Method: one watch per member Deployment from this process (the members' admin
 * credentials); latency = arrival of the last member's event carrying the new
 * spec.replicas minus the moment just before the hub PATCH was sent, both by
 * performance.now() (sub-millisecond). It therefore includes the PATCH to the hub, the
 * runtime's hub watch, planning, three scale writes and the member watch delivery.
 *
 * Modes: "settle" (default) waits, before each change, until the previous change's pods
 * are ready in every member and 100-200 ms more, so no reconcile of the DSO is in flight
 * when the change arrives; "busy" sends the next change 150-300 ms after the previous
 * one reached the specs, while pods still come up and their status changes keep the
 * runtime reconciling (a change then waits for the reconcile in flight).
 *
 * "trigger": the change is a ConfigMap patch instead, read by the DSO's kubernetes-resource
 * trigger (targetValue 1, so the value is the total; stabilization window 0, so every change
 * applies; successive values more than the HPA's 10% tolerance apart); latency = the last
 * member's event minus the moment before the ConfigMap PUT, so it adds the runtime's watch on
 * the ConfigMap, the HPA arithmetic and its write of spec.totalTargetReplicas through the
 * scale subresource. Settles between changes like "settle". With a third argument, the dist/
 * directory of another build, that build's runtime runs instead (the polling trigger of
 * before the watch: build the older commit in a directory of its own and pass its dist/).
 *
 * Run: node dist/bench/reaction.bench.js [changes] [settle|busy|trigger] [baseline dist/]
 */
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import type * as k8s from "@kubernetes/client-node";
import { clientNode } from "../members/client-node";
import type { startRuntime } from "../runtime/runtime";
import { fmt, load, machine, max, median, min, patchDso, progress, quantile, startBenchRuntime, startFleet, table, dsoManifest, deploymentList, sleep, type BenchFleet, type Running, counter, runBench } from "./live/support";
import { ReplicaWatch } from "./live/watch-replicas";

const MEMBERS = ["member-1", "member-2", "member-3"];
const CHANGES = Number(process.argv[2] ?? 200);
/** "settle": before each change, wait until the previous one's pods are ready (no reconcile in flight). "busy": 150-300 ms after the specs. "trigger": a ConfigMap patch, settled. */
const MODE = process.argv[3] === "busy" ? "busy" : process.argv[3] === "trigger" ? "trigger" : "settle";
/** Another build's dist/ whose runtime runs instead (trigger mode: the polling path it replaced). */
const BASELINE = process.argv[4];
const GOAL_P99_MS = 250;
const TRIGGER_GOAL_P99_MS = 1_000;

async function main(): Promise<void> {
  let bench: BenchFleet | undefined;
  let runtime: Running | undefined;
  let watch: ReplicaWatch | undefined;
  try {
    bench = await startFleet(MEMBERS);
    const { fleet, custom } = bench;
    for (const m of MEMBERS) await bench.kubectlInput(m, deploymentList(["web"], 1), "apply", "-f", "-");
    runtime = await startBenchRuntime(fleet, "reaction-bench");
    fleet.apply("hub", dsoManifest("web", { members: MEMBERS.map((name) => ({ name, weight: 1 })), total: 30, maxRebalancePercentage: 25 }));
    watch = new ReplicaWatch(fleet, MEMBERS, "web");
    await watch.start();
    await watch.until((seen) => MEMBERS.every((m) => seen.get(m)?.desired === 10), 60_000);
    progress("placed 10/10/10; measuring");

    // Totals are multiples of 3 with weights 1:1:1, so every change moves every member.
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    let total = 30;
    const latencies: number[] = [];
    const patchRtts: number[] = [];
    const firstMember: number[] = [];
    const runtimeDone: number[] = [];
    const perfOf = (epochMs: number) => epochMs - (Date.now() - performance.now());
    let extraWrites = 0;
    const extraExamples: string[] = [];
    const loadStart = load();
    for (let i = 0; i < CHANGES; i++) {
      let next = total;
      while (next === total) next = 3 * (4 + Math.floor(random() * 17)); // 12..60
      const share = next / 3;
      const linesBefore = runtime.lines.length;
      const t0 = performance.now();
      await patchDso(custom, "web", [{ op: "replace", path: "/spec/totalTargetReplicas", value: next }]);
      patchRtts.push(performance.now() - t0);
      await watch.until((seen) => MEMBERS.every((m) => seen.get(m)?.desired === share), 30_000);
      const at = MEMBERS.map((m) => watch!.seen.get(m)!.desiredAt - t0);
      latencies.push(Math.max(...at));
      firstMember.push(Math.min(...at));
      total = next;
      if (MODE === "settle") {
        await watch.until((seen) => MEMBERS.every((m) => seen.get(m)?.ready === share), 30_000);
        await sleep(100 + random() * 100);
      } else await sleep(150 + random() * 150);
      // "scaled" is logged after the step's writes return, so read it once the window is over.
      const windowWrites = runtime.lines.slice(linesBefore).filter((l) => l.msg === "scaled");
      const toShare = windowWrites.filter((l) => l.to === share);
      if (toShare.length > 0) runtimeDone.push(Math.max(...toShare.map((l) => perfOf(l.time))) - t0);
      if (windowWrites.length > MEMBERS.length) {
        extraWrites += windowWrites.length - MEMBERS.length;
        if (extraExamples.length < 3) extraExamples.push(`[${windowWrites.map((l) => `${l.member} ${l.from}->${l.to}`).join(", ")}] for target ${share}`);
      }
      if ((i + 1) % 50 === 0) progress(`${i + 1}/${CHANGES} changes, p50 so far ${median(latencies).toFixed(1)} ms`);
    }
    const loadEnd = load();
    const writes = await counter(runtime, "fleetscale_member_scale_writes_total");

    const row = (what: string, values: number[]) => [what, fmt(quantile(values, 0.5), 1), fmt(quantile(values, 0.99), 1), fmt(min(values), 1), fmt(max(values), 1)];
    console.log(`Reaction latency (${MODE} mode), ${CHANGES} total changes, hub + ${MEMBERS.length} members (${machine()}); ${loadStart} at start, ${loadEnd} at end\n`);
    console.log(
      table(
        ["measure", "p50 ms", "p99 ms", "min ms", "max ms"],
        [
          row("change -> every member's spec.replicas updated", latencies),
          row("change -> first member's spec.replicas updated", firstMember),
          row("change -> runtime logs its last write (pino time, 1 ms resolution)", runtimeDone),
          row("hub PATCH round trip (part of the above)", patchRtts),
        ],
      ),
    );
    const reconcile = (await runtime.handle.metrics.reconcileSeconds.get()).values;
    const sum = reconcile.find((v) => v.metricName === "fleetscale_reconcile_duration_seconds_sum")?.value ?? 0;
    const count = reconcile.find((v) => v.metricName === "fleetscale_reconcile_duration_seconds_count")?.value ?? 0;
    console.log(`\nReconciles: ${count}, mean ${fmt((sum / count) * 1000, 1)} ms (fleetscale_reconcile_duration_seconds). Writes beyond one per member per change: ${extraWrites}${extraExamples.length > 0 ? `, e.g. ${extraExamples.join("; ")}` : ""}.`);
    console.log(`\nMember scale writes: ${writes} for ${CHANGES * MEMBERS.length} member changes (plus 3 initial). Goal p99 < ${GOAL_P99_MS} ms: ${quantile(latencies, 0.99) < GOAL_P99_MS ? "met" : "missed"}.`);
  } finally {
    watch?.stop();
    await runtime?.handle.stop();
    bench?.fleet.down();
  }
}

/** Totals (= values) that move every member and differ from `total` by more than the HPA's 10% tolerance. */
function nextTriggerValue(total: number, random: () => number): number {
  for (;;) {
    const next = 3 * (4 + Math.floor(random() * 17)); // 12..60
    if (Math.abs(next / total - 1) > 0.1) return next;
  }
}

async function triggerMain(): Promise<void> {
  let bench: BenchFleet | undefined;
  let runtime: Running | undefined;
  let watch: ReplicaWatch | undefined;
  try {
    bench = await startFleet(MEMBERS);
    const { fleet } = bench;
    for (const m of MEMBERS) await bench.kubectlInput(m, deploymentList(["web"], 1), "apply", "-f", "-");
    const start = BASELINE === undefined ? undefined : (require(join(resolve(BASELINE), "runtime/runtime.js")) as { startRuntime: typeof startRuntime }).startRuntime;
    // Records when the runtime wrote each total (its log line "total replicas changed by trigger").
    const totalWrittenAt = new Map<number, number>();
    runtime = await startBenchRuntime(fleet, "reaction-bench", {}, start);
    runtime.onLine = (line) => {
      if (line.msg === "total replicas changed by trigger" && typeof line.to === "number") totalWrittenAt.set(line.to, line.time);
    };
    const lib = clientNode();
    const hubConfig = new lib.KubeConfig();
    hubConfig.loadFromString(fleet.kubeconfig("hub"));
    const core: k8s.CoreV1Api = hubConfig.makeApiClient(lib.CoreV1Api);
    const configMap = (value: number): k8s.V1ConfigMap => ({ metadata: { name: "web-load", namespace: "default" }, data: { value: String(value) } });
    await core.createNamespacedConfigMap({ namespace: "default", body: configMap(30) });
    const manifest = dsoManifest("web", { members: MEMBERS.map((name) => ({ name, weight: 1 })), total: 30, maxRebalancePercentage: 25 });
    fleet.apply("hub", {
      ...manifest,
      spec: {
        ...manifest.spec,
        scaledObjectSpec: {
          ...manifest.spec.scaledObjectSpec,
          minReplicaCount: 1,
          maxReplicaCount: 100,
          // Every change applies at once: no scale-down is held back by the HPA's window.
          advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } } },
          triggers: [{ type: "kubernetes-resource", metadata: { resourceKind: "ConfigMap", resourceName: "web-load", key: "value", targetValue: "1" } }],
        },
      },
    });
    watch = new ReplicaWatch(fleet, MEMBERS, "web");
    await watch.start();
    await watch.until((seen) => MEMBERS.every((m) => seen.get(m)?.desired === 10), 60_000);
    progress(`placed 10/10/10 from the ConfigMap; measuring ${BASELINE === undefined ? "this build" : `the build in ${BASELINE}`}`);

    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    let total = 30;
    const latencies: number[] = [];
    const firstMember: number[] = [];
    const totalWritten: number[] = [];
    const putRtts: number[] = [];
    const perfOf = (epochMs: number) => epochMs - (Date.now() - performance.now());
    const loadStart = load();
    for (let i = 0; i < CHANGES; i++) {
      const next = nextTriggerValue(total, random);
      const share = next / 3;
      totalWrittenAt.delete(next);
      const t0 = performance.now();
      await core.replaceNamespacedConfigMap({ name: "web-load", namespace: "default", body: configMap(next) });
      putRtts.push(performance.now() - t0);
      // The polling path waits for a pollingInterval (30 s) after a reconcile, which comes at a resync (30 s) or an event.
      await watch.until((seen) => MEMBERS.every((m) => seen.get(m)?.desired === share), BASELINE === undefined ? 30_000 : 180_000);
      const at = MEMBERS.map((m) => watch!.seen.get(m)!.desiredAt - t0);
      latencies.push(Math.max(...at));
      firstMember.push(Math.min(...at));
      const written = totalWrittenAt.get(next);
      if (written !== undefined) totalWritten.push(perfOf(written) - t0);
      total = next;
      await watch.until((seen) => MEMBERS.every((m) => seen.get(m)?.ready === share), 30_000);
      await sleep(100 + random() * 100);
      progress(`${i + 1}/${CHANGES} changes, p50 so far ${median(latencies).toFixed(1)} ms`);
    }
    const loadEnd = load();
    const row = (what: string, values: number[]) => [what, fmt(quantile(values, 0.5), 1), fmt(quantile(values, 0.99), 1), fmt(min(values), 1), fmt(max(values), 1)];
    console.log(`Reaction latency (trigger mode${BASELINE === undefined ? "" : `, runtime of ${BASELINE}`}), ${CHANGES} ConfigMap changes, hub + ${MEMBERS.length} members (${machine()}); ${loadStart} at start, ${loadEnd} at end\n`);
    console.log(
      table(
        ["measure", "p50 ms", "p99 ms", "min ms", "max ms"],
        [
          row("ConfigMap patched -> every member's spec.replicas updated", latencies),
          row("ConfigMap patched -> first member's spec.replicas updated", firstMember),
          row("ConfigMap patched -> runtime logs the new total (pino time, 1 ms resolution)", totalWritten),
          row("hub PUT of the ConfigMap, round trip (part of the above)", putRtts),
        ],
      ),
    );
    console.log(`\nGoal p99 < ${TRIGGER_GOAL_P99_MS} ms: ${quantile(latencies, 0.99) < TRIGGER_GOAL_P99_MS ? "met" : "missed"}.`);
  } finally {
    watch?.stop();
    await runtime?.handle.stop();
    bench?.fleet.down();
  }
}

runBench(MODE === "trigger" ? triggerMain : main);
