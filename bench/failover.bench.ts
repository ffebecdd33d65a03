/**
 * Failover and failback: hub + 3 members, DSO "web" with weights 2:3:5 and a total of 20
 * (4/6/10), gracePeriod 5s, maxRebalancePercentage 25; the runtime in this process with
 * its default options (probe every 2 s, 5 s member timeout). Each round stops member-3's
 * control plane, waits for the failover (8/12/-), starts it again and waits until the
 * shares are back to 4/6/10 with status Ready.
 *
 * Method: member Deployments watched from this process (event arrival times, sub-ms);
 * the DSO status polled every 100 ms; detection taken from the runtime's own record
 * (the member's lastStatusChangeTime, in ms) and from when the poll first saw it.
 * Ready capacity = sum of readyReplicas over the member watches, a disconnected member
 * counting 0, evaluated at every watch event during failback (its exact minimum).
 *
 * Run: node dist/bench/failover.bench.js [rounds]
 */
import { performance } from "node:perf_hooks";
import {
  type BenchFleet,
  type DsoStatusView,
  type Running,
  deploymentList,
  dsoManifest,
  dsoStatus,
  fmt,
  load,
  machine,
  max,
  median,
  min,
  progress,
  sleep,
  startBenchRuntime,
  startCluster,
  startFleet,
  table,
  runBench,
} from "./live/support";
import { ReplicaWatch } from "./live/watch-replicas";

const MEMBERS = ["member-1", "member-2", "member-3"];
const WEIGHTS = [2, 3, 5];
const TOTAL = 20;
const SHARES = [4, 6, 10];
const FAILED_SHARES = [8, 12];
const GRACE_MS = 5_000;
const ROUNDS = Number(process.argv[2] ?? 3);

/** performance.now() of a wall-clock time. */
const perfOf = (epochMs: number) => epochMs - (Date.now() - performance.now());

interface Round {
  detection: number;
  detectionSeen: number;
  failover: number;
  afterGrace: number;
  excludedSeen: number;
  stopCommand: number;
  startCommand: number;
  failback: number;
  failbackReady: number;
  steps: number;
  writes: number;
  lowest: number;
  writeLog: string;
}

async function main(): Promise<void> {
  let bench: BenchFleet | undefined;
  let runtime: Running | undefined;
  let watch: ReplicaWatch | undefined;
  try {
    bench = await startFleet(MEMBERS);
    const { fleet, custom } = bench;
    for (const m of MEMBERS) await bench.kubectlInput(m, deploymentList(["web"], 1), "apply", "-f", "-");
    runtime = await startBenchRuntime(fleet, "failover-bench");
    fleet.apply("hub", dsoManifest("web", { members: MEMBERS.map((name, i) => ({ name, weight: WEIGHTS[i]! })), total: TOTAL, grace: "5s", maxRebalancePercentage: 25 }));
    watch = new ReplicaWatch(fleet, MEMBERS, "web");
    await watch.start();
    const status = () => dsoStatus(custom, "web");
    const pollStatus = async (done: (s: DsoStatusView) => boolean, timeoutMs: number) => {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const s = await status().catch(() => ({}) as DsoStatusView);
        if (done(s)) return { status: s, at: performance.now() };
        if (performance.now() > deadline) throw new Error(`status still ${JSON.stringify(s)}`);
        await sleep(100);
      }
    };
    const settled = (s: DsoStatusView) =>
      s.conditions?.find((c) => c.type === "Ready")?.status === "True" && MEMBERS.every((m, i) => s.memberClusterStatuses?.[m]?.desiredReplicas === SHARES[i] && s.memberClusterStatuses?.[m]?.state === "Ready");
    const atShares = (shares: number[]) => watch!.until((seen) => shares.every((r, i) => seen.get(MEMBERS[i]!)?.desired === r), 120_000);

    await atShares(SHARES);
    await pollStatus(settled, 60_000);
    await watch.until((seen) => MEMBERS.every((m, i) => seen.get(m)?.ready === SHARES[i]), 60_000);
    const loadStart = load();
    const rounds: Round[] = [];
    const discarded: string[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      progress(`round ${r + 1}/${ROUNDS}: stopping member-3`);
      const t0 = performance.now();
      const stopping = bench.fleetCommand("stop", "member-3").then(() => performance.now() - t0);
      const unreachable = await pollStatus((s) => s.memberClusterStatuses?.["member-3"]?.state === "Unreachable", 30_000);
      const failedAt = perfOf(Date.parse(unreachable.status.memberClusterStatuses!["member-3"]!.lastStatusChangeTime));
      await atShares(FAILED_SHARES);
      const raisedAt = Math.max(watch.seen.get("member-1")!.desiredAt, watch.seen.get("member-2")!.desiredAt);
      const excluded = await pollStatus((s) => s.memberClusterStatuses?.["member-3"]?.state === "Excluded", 30_000);
      const stopCommand = await stopping;
      // Let the others' new pods become ready before the member returns.
      await watch.until((seen) => seen.get("member-1")?.ready === 8 && seen.get("member-2")?.ready === 12, 60_000);

      progress(`round ${r + 1}/${ROUNDS}: starting member-3`);
      const writesBefore = runtime.lines.length;
      const m3Before = watch.history.get("member-3")?.length ?? 0;
      let lowest = Infinity;
      let sampling = false;
      watch.onEvent = () => {
        if (sampling) lowest = Math.min(lowest, watch!.readyTotal());
      };
      const s0 = performance.now();
      sampling = true;
      lowest = watch.readyTotal();
      const restarted = await startCluster(bench, "member-3");
      const answering = performance.now();
      if (restarted.length > 0) {
        // The launcher's restart failed (not the runtime's doing): wait until settled and redo the round.
        discarded.push(`round ${r + 1}: ${restarted.join(", ")} did not come up after \`fleet start\``);
        sampling = false;
        await atShares(SHARES);
        await watch.until((seen) => MEMBERS.every((m, i) => seen.get(m)?.ready === SHARES[i]), 120_000);
        await pollStatus(settled, 60_000);
        if (discarded.length > 3) throw new Error(discarded.join("; "));
        r--;
        continue;
      }
      await atShares(SHARES);
      const backAt = performance.now();
      await watch.until((seen) => MEMBERS.every((m, i) => seen.get(m)?.ready === SHARES[i]), 60_000);
      const back = await pollStatus(settled, 60_000);
      sampling = false;
      watch.onEvent = undefined;
      const writes = runtime.lines.slice(writesBefore).filter((l) => l.msg === "scaled");
      const m3Values = (watch.history.get("member-3") ?? []).slice(m3Before).map((h) => h.desired);
      rounds.push({
        detection: failedAt - t0,
        detectionSeen: unreachable.at - t0,
        failover: raisedAt - t0 - GRACE_MS,
        afterGrace: raisedAt - (failedAt + GRACE_MS),
        excludedSeen: excluded.at - t0,
        stopCommand,
        startCommand: answering - s0,
        failback: backAt - answering,
        failbackReady: back.at - answering,
        steps: m3Values.length,
        writes: writes.length,
        lowest,
        writeLog: writes.map((w) => `${w.member} ${w.from}->${w.to}`).join(", "),
      });
      progress(`round ${r + 1}: ${JSON.stringify(rounds.at(-1))}`);
      await sleep(2_000);
    }
    const loadEnd = load();

    const col = (f: (r: Round) => number, digits = 0) => {
      const v = rounds.map(f);
      return [fmt(median(v), digits), fmt(min(v), digits), fmt(max(v), digits)];
    };
    console.log(`Failover / failback, ${ROUNDS} rounds, hub + 3 members, weights 2:3:5, total 20, grace 5 s, maxRebalancePercentage 25 (${machine()}); ${loadStart} at start, ${loadEnd} at end\n`);
    console.log(
      table(
        ["measure (member-3's control plane stopped, then started)", "median", "min", "max"],
        [
          ["detection: stop -> runtime records Unreachable (ms)", ...col((r) => r.detection)],
          ["detection visible: stop -> status poll sees Unreachable (ms)", ...col((r) => r.detectionSeen)],
          ["failover overhead: stop -> others raised to 8/12, minus grace (ms)", ...col((r) => r.failover)],
          ["  of which after the grace ended (from the recorded failure + 5 s) (ms)", ...col((r) => r.afterGrace)],
          ["stop -> status shows Excluded (ms)", ...col((r) => r.excludedSeen)],
          ["`fleet stop member-3` command duration (ms)", ...col((r) => r.stopCommand)],
          ["`fleet start member-3` until its API server answers (ms)", ...col((r) => r.startCommand)],
          ["failback: API server answers -> specs back at 4/6/10 (ms, includes 5 s probation)", ...col((r) => r.failback)],
          ["failback: API server answers -> status Ready at 4/6/10, pods ready (ms)", ...col((r) => r.failbackReady)],
          ["failback: spec.replicas values member-3 went through", ...col((r) => r.steps)],
          ["failback: member scale writes", ...col((r) => r.writes)],
          ["failback: lowest ready capacity sampled (total 20)", ...col((r) => r.lowest)],
        ],
      ),
    );
    if (discarded.length > 0) console.log(`\nRounds redone because the fleet launcher's restart failed: ${discarded.join("; ")}`);
    console.log(`\nFailback writes per round:\n${rounds.map((r, i) => `- round ${i + 1}: ${r.writeLog}`).join("\n")}`);
    const overhead = median(rounds.map((r) => r.failover));
    console.log(`\nGoal failover overhead < 5 s: ${overhead < 5_000 ? "met" : "missed"} (median ${fmt(overhead)} ms). Goal ready capacity never below 20: ${Math.min(...rounds.map((r) => r.lowest)) >= TOTAL ? "met" : "missed"}.`);
  } finally {
    watch?.stop();
    await runtime?.handle.stop();
    bench?.fleet.down();
  }
}

runBench(main);
