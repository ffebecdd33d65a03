/**
 * Scale: one runtime (in this process, default options) with 100 and then 1,000 DSOs over
 * hub + 5 member clusters, each DSO on its own Deployment (weight 1 each, total 5: one
 * replica per member). Measures time to place, RSS and heap, idle CPU and idle API
 * requests per minute at 100 and at 1,000 DSOs in the same run, and the time to re-plan
 * everything after one member fails (grace 5 s). Each cluster gets enough kwok nodes
 * (110 pods each) for every pod, also after the failover, so every DSO is Ready with its
 * 5 pods before the failure.
 *
 * Re-plan: once every DSO is Ready (Converged, 5 x desired 1, checked with kubectl on the
 * members too), member-5's whole control plane is stopped (`fleet stop`). Grace end = the
 * runtime's "member unhealthy" line + 5 s. Per DSO: when its status first shows member-5
 * failing (and since when), and when it shows member-5 Excluded with 0 and the 5 replicas
 * on members 1-4 (hub watch); when the survivor's Deployment shows spec.replicas 2 and
 * then 2 ready, and every later spec change (`kubectl get deployments -w` per survivor, in
 * child processes); the runtime's "scaled" lines. Also the runtime's CPU, event loop delay,
 * requests, their latency and the connections opened during the re-plan. Then kubectl
 * checks every survivor spec against the final status. SCALE_DUMP=<file> writes the
 * per-DSO times and the runtime's warnings; SCALE_PROFILE=<file> a CPU profile of the
 * re-plan (diagnosis only: profiling costs CPU).
 *
 * Methods: requests are counted at the source, in this process, from undici's
 * diagnostics channels (every client-node request, watches included); the bench's own
 * hub watch is closed during the idle windows, so idle counts are the runtime's alone.
 * CPU is process.cpuUsage() over the window (user + system). Placement and re-plan
 * times come from a watch on every DSO in the hub (event arrival, sub-ms).
 *
 * Placement creates the DSOs in batches (default 100), each batch placed before the next
 * is created; batch = dsos creates the 900 after the first 100 in one burst.
 *
 * Run: node --expose-gc dist/bench/scale.bench.js [dsos] [idle seconds] [batch]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { Session } from "node:inspector/promises";
import { createInterface } from "node:readline";
import { API_GROUP, API_VERSION, PLURAL } from "../schema/dso-names";
import { isFailureState } from "../engine/states";
import { type BenchFleet, type DsoStatusView, type LogLine, type Running, counter, deploymentList, dsoManifest, fmt, load, machine, max, median, min, progress, quantile, sleep, startBenchRuntime, startFleet, table, runBench } from "./live/support";
import { fleetBinDir } from "../test/support/fleet";
import { ObjectWatch } from "./live/object-watch";
import { RequestCounter, type RequestKind, RequestLatency, describeKinds, total } from "./live/request-count";

const MEMBERS = ["member-1", "member-2", "member-3", "member-4", "member-5"];
const N = Number(process.argv[2] ?? 1000);
const FIRST = Math.min(100, N);
const IDLE_MS = Number(process.argv[3] ?? 60) * 1000;
const BATCH = Number(process.argv[4] ?? 100);
// kwok nodes per cluster, 110 pods each. After one member fails, a survivor runs its own N
// pods plus the failed member's replica of every DSO whose tie it wins; room for 2 x N
// makes no assumption about how ties fall.
const PODS_PER_NODE = 110;
const NODES = Math.max(1, Math.ceil((2 * N) / PODS_PER_NODE));
const name = (i: number) => `w-${String(i).padStart(4, "0")}`;
const perfOf = (epochMs: number) => epochMs - (Date.now() - performance.now());

type Dso = { metadata?: { name?: string; namespace?: string }; status?: DsoStatusView };

function memory() {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20 };
}

async function main(): Promise<void> {
  let bench: BenchFleet | undefined;
  let runtime: Running | undefined;
  let dsoWatch: ObjectWatch<Dso> | undefined;
  const requests = new RequestCounter();
  const rows: string[][] = [];
  // Each row also goes to stderr at once, so a run that fails later keeps what it measured.
  const push = rows.push.bind(rows);
  rows.push = (...items: string[][]) => {
    for (const r of items) process.stderr.write(`ROW | ${r.join(" | ")} |\n`);
    return push(...items);
  };
  const notes: string[] = [];
  try {
    bench = await startFleet(MEMBERS, { nodes: NODES });
    const { fleet } = bench;
    const hubConfig = fleet.kubeconfig("hub");
    const origins = new Map<string, string>(["hub", ...MEMBERS].map((c) => [new URL(fleet.cluster(c).server).origin, c]));
    const names = Array.from({ length: N }, (_, i) => name(i));

    let t = performance.now();
    await Promise.all(MEMBERS.map((m) => bench!.kubectlInput(m, deploymentList(names, 0), "create", "-f", "-")));
    rows.push([`setup: ${N} Deployments (replicas 0) created in each of ${MEMBERS.length} members (kubectl create of a List, members in parallel)`, `${fmt((performance.now() - t) / 1000, 1)} s`, load()]);
    progress("deployments created");

    requests.start();
    const base = memory();
    runtime = await startBenchRuntime(fleet, "scale-bench");
    const writes = () => counter(runtime!, "fleetscale_member_scale_writes_total");
    const statusWrites = () => counter(runtime!, "fleetscale_status_writes_total");

    // DSO key -> performance.now() when its status first showed all 5 members at desired 1.
    const placedAt = new Map<string, number>();
    const readyAt = new Map<string, number>();
    const onEvent = (key: string, entry: { object: Dso; at: number } | undefined) => {
      const s = entry?.object.status;
      if (!s) return;
      if (!placedAt.has(key) && MEMBERS.every((m) => s.memberClusterStatuses?.[m]?.desiredReplicas === 1)) placedAt.set(key, entry.at);
      if (!readyAt.has(key) && s.totalCurrentReplicas === 5 && s.conditions?.find((c) => c.type === "Ready")?.status === "True") readyAt.set(key, entry.at);
    };
    const openWatch = async () => {
      dsoWatch = new ObjectWatch<Dso>(hubConfig, `/apis/${API_GROUP}/${API_VERSION}/${PLURAL}`);
      dsoWatch.onEvent = onEvent;
      await dsoWatch.start();
    };
    const closeWatch = () => {
      dsoWatch?.stop();
      dsoWatch = undefined;
    };

    const unhealthyLines = () => runtime!.lines.filter((l) => l.msg === "member unhealthy").length;
    const place = async (from: number, to: number) => {
      await openWatch();
      const writesBefore = await writes();
      const unhealthyBefore = unhealthyLines();
      const t0 = performance.now();
      let creating = 0;
      const count = to - from;
      for (let start = from; start < to; start += BATCH) {
        const end = Math.min(to, start + BATCH);
        const manifests = names.slice(start, end).map((n) => dsoManifest(n, { members: MEMBERS.map((m) => ({ name: m, weight: 1 })), total: 5, grace: "5s" }));
        const c0 = performance.now();
        await bench!.kubectlInput("hub", JSON.stringify({ apiVersion: "v1", kind: "List", items: manifests }), "create", "-f", "-");
        creating += performance.now() - c0;
        const keys = names.slice(from, end).map((n) => `default/${n}`);
        try {
          await dsoWatch!.until(() => keys.every((k) => placedAt.has(k)), 5 * 60_000, 250);
        } catch {
          rows.push([`place DSOs ${from}-${end - 1}: NOT all placed within 5 min of batch ${start}-${end - 1}`, `${keys.filter((k) => placedAt.has(k)).length}/${keys.length} placed; ${unhealthyLines() - unhealthyBefore} "member unhealthy" transitions`, load()]);
          throw new Error("placement did not finish");
        }
      }
      const keys = names.slice(from, to).map((n) => `default/${n}`);
      const placed = Math.max(...keys.map((k) => placedAt.get(k)!));
      rows.push([`place ${count} new DSOs (total ${to}) in batches of ${Math.min(BATCH, count)}: first create -> every status shows 5 x desired 1`, `${fmt((placed - t0) / 1000, 1)} s`, load()]);
      rows.push([`  of which \`kubectl create\` of the DSOs`, `${fmt(creating / 1000, 1)} s`, ""]);
      rows.push([`  member scale writes during placement; "member unhealthy" transitions`, `${(await writes()) - writesBefore} (expected ${count * MEMBERS.length}); ${unhealthyLines() - unhealthyBefore}`, ""]);
      progress(`${to} DSOs placed; waiting for pods`);
      let readyNote = "";
      try {
        await dsoWatch!.until(() => keys.every((k) => readyAt.has(k)), 6 * 60_000, 500);
        readyNote = `${fmt((Math.max(...keys.map((k) => readyAt.get(k)!)) - t0) / 1000, 1)} s`;
      } catch {
        readyNote = `not within 6 min (${keys.filter((k) => readyAt.has(k)).length}/${count})`;
      }
      rows.push([`  first create -> every status Ready with 5 pods ready (the members' controllers create ${count} pods each)`, readyNote, load()]);
      closeWatch();
    };

    const idle = async (dsos: number) => {
      await sleep(10_000);
      const before = requests.snapshot();
      const [w0, s0] = [await writes(), await statusWrites()];
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const loadBefore = load();
      await sleep(IDLE_MS);
      const cpu = process.cpuUsage(cpu0);
      const elapsed = performance.now() - t0;
      const diff = RequestCounter.diff(before, requests.snapshot());
      const perMin = (n: number) => (n * 60_000) / elapsed;
      const byCluster = ["hub", ...MEMBERS].map((c) => {
        const origin = [...origins].find(([, n]) => n === c)![0];
        return { cluster: c, n: total(diff.get(origin)), kinds: describeKinds(diff.get(origin)) };
      });
      const memberTotal = byCluster.filter((b) => b.cluster !== "hub").reduce((s, b) => s + b.n, 0);
      const mem = memory();
      rows.push([`idle at ${dsos} DSOs: CPU (user+system) over ${fmt(elapsed / 1000)} s`, `${fmt(((cpu.user + cpu.system) / 1000 / elapsed) * 100, 2)} % of one core`, `${loadBefore} -> ${load()}`]);
      rows.push([`idle at ${dsos} DSOs: requests/min to the hub`, `${fmt(perMin(byCluster[0]!.n), 1)} (${byCluster[0]!.kinds})`, ""]);
      rows.push([`idle at ${dsos} DSOs: requests/min to all ${MEMBERS.length} members`, `${fmt(perMin(memberTotal), 1)} (per member: ${byCluster.slice(1).map((b) => fmt(perMin(b.n), 1)).join(" / ")}; member-1: ${byCluster[1]!.kinds})`, ""]);
      rows.push([`idle at ${dsos} DSOs: member scale writes / status writes`, `${(await writes()) - w0} / ${(await statusWrites()) - s0}`, ""]);
      rows.push([`at ${dsos} DSOs: RSS / heap used after GC (whole bench process; before the runtime: ${fmt(base.rss)} / ${fmt(base.heap)} MiB)`, `${fmt(mem.rss)} / ${fmt(mem.heap)} MiB`, ""]);
      progress(`idle at ${dsos} measured`);
    };

    /** name -> spec.replicas and status.readyReplicas of every Deployment in one member (kubectl: a separate process). */
    const memberDeployments = async (member: string) => {
      const out = await bench!.kubectl(member, "get", "deployments", "-n", "default", "-o", 'jsonpath={range .items[*]}{.metadata.name}{" "}{.spec.replicas}{" "}{.status.readyReplicas}{"\\n"}{end}');
      return new Map(
        out
          .split("\n")
          .filter((l) => l.trim() !== "")
          .map((l) => {
            const [n, spec, ready] = l.trim().split(" ");
            return [n!, { spec: Number(spec), ready: Number(ready || 0) }] as const;
          }),
      );
    };

    const replan = async () => {
      const failed = MEMBERS.at(-1)!;
      const survivors = MEMBERS.slice(0, -1);
      const keys = names.map((n) => `default/${n}`);
      const readyCondition = (s: DsoStatusView | undefined) => s?.conditions?.find((c) => c.type === "Ready")?.status === "True";

      // Precondition: every DSO placed, Converged and Ready with its 5 pods, and every member's spec at 1.
      await openWatch();
      const settled = (s: DsoStatusView | undefined) =>
        s?.totalCurrentReplicas === 5 && readyCondition(s) && MEMBERS.every((m) => s.memberClusterStatuses?.[m]?.state === "Ready" && s.memberClusterStatuses?.[m]?.desiredReplicas === 1);
      progress("waiting until every DSO is Ready with 5 x desired 1");
      const w0 = performance.now();
      try {
        await dsoWatch!.until((objects) => keys.every((k) => settled(objects.get(k)?.object.status)), 10 * 60_000, 1_000);
      } catch {
        const unsettled = keys.filter((k) => !settled(dsoWatch!.objects.get(k)?.object.status));
        const show = (k: string) => {
          const st = dsoWatch!.objects.get(k)?.object.status;
          const members = MEMBERS.map((m) => `${m} ${st?.memberClusterStatuses?.[m]?.state}/${st?.memberClusterStatuses?.[m]?.desiredReplicas}: ${st?.memberClusterStatuses?.[m]?.description}`).join("; ");
          const ready = st?.conditions?.find((c) => c.type === "Ready");
          return `${k}: total ${st?.totalCurrentReplicas}, Ready ${ready?.status} ${ready?.reason} (${ready?.message}); ${members}`;
        };
        for (const k of unsettled.slice(0, 5)) notes.push(`not settled before the failure: ${show(k)}`);
        rows.push([`before the failure: every DSO Ready with 5 x desired 1: NOT within 10 min`, `${N - unsettled.length}/${N}; not: ${unsettled.slice(0, 10).join(", ")}`, load()]);
        throw new Error("DSOs not all Ready before the failure");
      }
      const waited = performance.now() - w0;
      const before = await Promise.all(MEMBERS.map(memberDeployments));
      const notOne = before.map((d) => names.filter((n) => d.get(n)?.spec !== 1 || d.get(n)?.ready !== 1).length);
      rows.push([
        `before the failure: all ${N} DSOs Ready (Converged, 5 x desired 1, 5 pods); Deployments with spec and ready != 1 per member (kubectl)`,
        `waited ${fmt(waited / 1000, 1)} s; ${notOne.join(" / ")}`,
        load(),
      ]);

      // During the re-plan, per DSO: from the hub watch (statuses), from kubectl watches of
      // the survivors' Deployments (child processes, so their parsing stays off the runtime's
      // event loop) and from the runtime's log.
      const failingSeen = new Map<string, number>(); // status first shows the member failing (arrival)
      const failingSince = new Map<string, number>(); // ... and since when, as the runtime judges it (epoch ms)
      const replannedAt = new Map<string, number>(); // status shows it Excluded, 0, and 5 on the survivors (arrival)
      const specAt = new Map<string, number>(); // a survivor's Deployment shows spec.replicas 2 (arrival)
      const podsAt = new Map<string, number>(); // ... and readyReplicas 2
      const writtenAt = new Map<string, number>(); // the runtime's "scaled" line for the survivor's 1 -> 2 (logged after the member answered)
      const otherWrites: LogLine[] = [];
      dsoWatch!.onEvent = (key, entry) => {
        const s = entry?.object.status?.memberClusterStatuses;
        const f = s?.[failed];
        if (!s || !f) return;
        if (!failingSeen.has(key) && isFailureState(f.state)) {
          failingSeen.set(key, entry!.at);
          failingSince.set(key, Date.parse(f.lastStatusChangeTime));
        }
        if (!replannedAt.has(key) && f.state === "Excluded" && f.desiredReplicas === 0 && survivors.reduce((sum, m) => sum + (s[m]?.desiredReplicas ?? 0), 0) === 5) {
          replannedAt.set(key, entry!.at);
        }
      };
      const listed = new Map<string, number>(survivors.map((m) => [m, 0]));
      // custom-columns, not jsonpath: with -w, kubectl applies a jsonpath template to the first
      // list page as a whole. A kubectl watch that ends is started again; its re-list then
      // dates a change it missed at the re-list (an upper bound).
      let watchRestarts = 0;
      // Every survivor spec change after the stop: when the last one came, and which DSOs had a survivor lowered.
      let stopped = false;
      let lastSpecChange = 0;
      const lastSpec = new Map<string, number>();
      const lowered = new Set<string>();
      let watching = true;
      const deploymentWatches = new Map<string, ChildProcess>();
      const watchDeployments = (member: string) => {
        const child = spawn(join(fleetBinDir(), "kubectl"), ["--kubeconfig", fleet.cluster(member).kubeconfig, "get", "deployments", "-n", "default", "-w", "--no-headers", "-o", "custom-columns=N:.metadata.name,S:.spec.replicas,R:.status.readyReplicas"], { stdio: ["ignore", "pipe", "inherit"] });
        createInterface({ input: child.stdout! }).on("line", (line) => {
          const at = performance.now();
          // "w-0001   2     <none>": name, spec.replicas, status.readyReplicas (<none> when unset)
          const [n, spec, ready] = line.trim().split(/\s+/);
          const key = `default/${n}`;
          listed.set(member, listed.get(member)! + 1);
          const replicas = Number(spec);
          const seen = `${member}/${key}`;
          if (stopped && lastSpec.has(seen) && lastSpec.get(seen) !== replicas) {
            lastSpecChange = Math.max(lastSpecChange, at);
            if (replicas < lastSpec.get(seen)!) lowered.add(key);
          }
          lastSpec.set(seen, replicas);
          if (Number(spec) === 2 && !specAt.has(key)) specAt.set(key, at);
          if (Number(spec) === 2 && Number(ready) >= 2 && !podsAt.has(key)) podsAt.set(key, at);
        });
        child.on("exit", () => {
          if (!watching) return;
          // Not thrown from here (that would skip the teardown): the wait for the specs then times out.
          if (++watchRestarts > 20) return progress(`kubectl watch of ${member}'s Deployments ended again; not restarted`);
          progress(`kubectl watch of ${member}'s Deployments ended; starting it again`);
          setTimeout(() => watching && watchDeployments(member), 200);
        });
        deploymentWatches.set(member, child);
      };
      for (const member of survivors) watchDeployments(member);
      try {
        // Each watch lists first: N lines per survivor, then it is watching.
        await dsoWatch!.until(() => [...listed.values()].every((n) => n >= N), 60_000, 250);
        let detected: number | undefined;
        let atGrace: { wall: number; cpu: NodeJS.CpuUsage; elu: ReturnType<typeof performance.eventLoopUtilization> } | undefined;
        let graceTimer: NodeJS.Timeout | undefined;
        const linesBefore = runtime!.lines.length;
        runtime!.onLine = (line) => {
          if (line.msg === "member unhealthy" && line.member === failed && detected === undefined) {
            detected = perfOf(line.time);
            graceTimer = setTimeout(() => (atGrace = { wall: performance.now(), cpu: process.cpuUsage(), elu: performance.eventLoopUtilization() }), Math.max(0, detected + 5_000 - performance.now()));
          }
          if (line.msg === "scaled" && typeof line.dso === "string") {
            if (!writtenAt.has(line.dso) && survivors.includes(line.member ?? "") && line.from === 1 && line.to === 2) writtenAt.set(line.dso, perfOf(line.time));
            else otherWrites.push(line);
          }
        };

        const req0 = requests.snapshot();
        const [writes0, status0] = [await writes(), await statusWrites()];
        const loopDelay = monitorEventLoopDelay({ resolution: 10 });
        const latency = new RequestLatency();
        latency.start();
        // SCALE_PROFILE=<file>: a CPU profile of this process from the stop to the re-plan's end (diagnosis only: it costs CPU).
        const profiler = process.env.SCALE_PROFILE ? new Session() : undefined;
        if (profiler) {
          profiler.connect();
          await profiler.post("Profiler.enable");
          await profiler.post("Profiler.start");
        }
        const cpu0 = process.cpuUsage();
        const elu0 = performance.eventLoopUtilization();
        progress(`stopping ${failed}`);
        const t0 = performance.now();
        stopped = true;
        loopDelay.enable();
        const stopping = bench!.fleetCommand("stop", failed);
        const newLines = () => runtime!.lines.slice(linesBefore);
        const survivorsUnhealthy = () => newLines().filter((l) => l.msg === "member unhealthy" && l.member !== failed).length;
        const dump = () => {
          if (!process.env.SCALE_DUMP) return;
          // Per-DSO times in ms from the stop, and the runtime's kept log lines, for a closer look (SCALE_DUMP=<file>).
          const rel = (t: number | undefined) => (t === undefined ? null : Math.round(t - t0));
          const perDso = keys.map((k) => ({
            dso: k,
            failingSeen: rel(failingSeen.get(k)),
            failingSince: rel(failingSince.has(k) ? perfOf(failingSince.get(k)!) : undefined),
            written: rel(writtenAt.get(k)),
            spec: rel(specAt.get(k)),
            pods: rel(podsAt.get(k)),
            replanned: rel(replannedAt.get(k)),
          }));
          const statuses = Object.fromEntries(keys.filter((k) => !specAt.has(k) || !replannedAt.has(k)).map((k) => [k, dsoWatch?.objects.get(k)?.object.status]));
          writeFileSync(process.env.SCALE_DUMP, JSON.stringify({ detected: rel(detected), graceTimer: rel(atGrace?.wall), lowered: [...lowered], lastSpecChange: rel(lastSpecChange || undefined), perDso, statuses, lines: newLines().map((l) => ({ ...l, at: rel(perfOf(l.time)) })) }, null, 1));
        };
        try {
          await dsoWatch!.until(() => replannedAt.size === N && specAt.size === N, 5 * 60_000, 250);
        } catch {
          rows.push([
            `re-plan after ${failed} stopped: NOT done within 5 min`,
            `${replannedAt.size}/${N} statuses re-planned, ${specAt.size}/${N} survivor specs at 2, ${writtenAt.size} "scaled" lines; survivors marked unhealthy ${survivorsUnhealthy()} times`,
            load(),
          ]);
          dump();
          throw new Error("re-plan did not finish");
        } finally {
          clearTimeout(graceTimer);
          runtime!.onLine = undefined;
        }
        const tDone = performance.now();
        const cpuDone = process.cpuUsage();
        const eluDone = performance.eventLoopUtilization();
        loopDelay.disable();
        latency.stop();
        if (profiler) {
          const { profile } = await profiler.post("Profiler.stop");
          writeFileSync(process.env.SCALE_PROFILE!, JSON.stringify(profile));
          profiler.disconnect();
        }
        const loadDone = load();
        const req = RequestCounter.diff(req0, requests.snapshot());
        const [writesN, statusN] = [(await writes()) - writes0, (await statusWrites()) - status0];
        const stopReturned = await stopping.then(() => performance.now());
        if (detected === undefined || atGrace === undefined) throw new Error(`no "member unhealthy" line for ${failed}`);
        const graceEnd = detected + 5_000;
        progress(`re-planned; waiting for the survivors' new pods`);
        try {
          await dsoWatch!.until(() => podsAt.size === N, 5 * 60_000, 500);
        } catch {
          // Reported below as a count.
        }
        dump();

        const s = (ms: number) => `${fmt(ms / 1000, 2)} s`;
        const dist = (values: number[]) => `median ${s(median(values))}, p99 ${s(quantile(values, 0.99))}, max ${s(max(values))} (min ${s(min(values))})`;
        const replanned = keys.map((k) => replannedAt.get(k)!);
        const specs = keys.map((k) => specAt.get(k)!);
        const ownGraceEnd = (k: string) => perfOf(failingSince.get(k)!) + 5_000;
        const withSince = keys.filter((k) => failingSince.has(k));
        const sinces = withSince.map((k) => failingSince.get(k)!);
        const lines = newLines();
        rows.push([`${failed} stopped (\`fleet stop\` returned after ${s(stopReturned - t0)}): stop -> the runtime logs it unhealthy`, s(detected - t0), load()]);
        rows.push([
          `  unhealthy -> status shows ${failed} failing (Unreachable), per DSO (${withSince.length}/${N} seen before the exclusion; their "since" spans ${s(max(sinces) - min(sinces))})`,
          dist(keys.flatMap((k) => (failingSeen.has(k) ? [failingSeen.get(k)! - detected!] : []))),
          "",
        ]);
        rows.push([`re-plan ${N} DSOs, per DSO: grace end (unhealthy + 5 s) -> status shows ${failed} Excluded, 0, and 5 on the survivors`, dist(replanned.map((t) => t - graceEnd)), loadDone]);
        rows.push([`  per DSO: its own grace end (status "since" of the failure + 5 s) -> that status`, dist(withSince.map((k) => replannedAt.get(k)! - ownGraceEnd(k))), ""]);
        rows.push([`  per DSO: grace end -> the survivor's Deployment shows spec.replicas 2 (kubectl watch; watch restarts: ${watchRestarts})`, dist(specs.map((t) => t - graceEnd)), ""]);
        rows.push([
          `  survivor specs lowered again after the stop (kubectl watch): DSOs affected; grace end -> last change of any survivor spec`,
          `${lowered.size}; ${lastSpecChange > 0 ? s(lastSpecChange - graceEnd) : "no change"}`,
          "",
        ]);
        rows.push([
          `  per DSO: grace end -> the runtime's "scaled" line for that write (logged once the member answered; ${writtenAt.size}/${N} DSOs have one)`,
          dist(keys.flatMap((k) => (writtenAt.has(k) ? [writtenAt.get(k)! - graceEnd] : []))),
          "",
        ]);
        rows.push([`  whole fleet: grace end -> last status / last spec at 2 (stop -> last: ${s(max(replanned) - t0)} / ${s(max(specs) - t0)})`, `${s(max(replanned) - graceEnd)} / ${s(max(specs) - graceEnd)}`, ""]);
        rows.push([
          `  per DSO: grace end -> the survivor's 2 pods ready (kubectl watch; ${podsAt.size}/${N} within 5 min of the re-plan)`,
          dist(keys.flatMap((k) => (podsAt.has(k) ? [podsAt.get(k)! - graceEnd] : []))),
          load(),
        ]);
        const failures = lines.filter((l) => l.msg === "scale failed");
        const failureKinds = new Map<string, number>();
        for (const l of failures) {
          const why = String(l.err ?? "").replace(/^[^:]*: scale \S+ \S+ to \d+: /, "");
          failureKinds.set(why, (failureKinds.get(why) ?? 0) + 1);
        }
        rows.push([
          `  member writes: counter (expected ${N}); "scaled" 1 -> 2 lines; other "scaled" lines; "scale failed" lines`,
          `${writesN}; ${writtenAt.size}; ${otherWrites.length}; ${failures.length}${failures.length > 0 ? ` (${[...failureKinds].map(([k, n]) => `${n} x ${k}`).join(", ")})` : ""}`,
          "",
        ]);
        rows.push([
          `  status writes; survivors marked unhealthy; "stopped leading" / "became leader" lines`,
          `${statusN}; ${survivorsUnhealthy()}; ${lines.filter((l) => l.msg === "stopped leading").length} / ${lines.filter((l) => l.msg === "became leader").length}`,
          "",
        ]);
        const cpuMs = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user - a.user + b.system - a.system) / 1000;
        const cpuRow = (from: NodeJS.CpuUsage, to: NodeJS.CpuUsage, wall: number, elu: number) =>
          `${fmt(cpuMs(from, to) / 1000, 2)} s CPU over ${fmt(wall / 1000, 2)} s = ${fmt((cpuMs(from, to) / wall) * 100, 0)} % of one core; event loop busy ${fmt(elu * 100, 0)} %`;
        rows.push([`  runtime process CPU (the bench's hub watch included), stop -> grace end`, cpuRow(cpu0, atGrace.cpu, atGrace.wall - t0, performance.eventLoopUtilization(atGrace.elu, elu0).utilization), ""]);
        rows.push([`  runtime process CPU, grace end -> re-plan complete (statuses and specs)`, cpuRow(atGrace.cpu, cpuDone, tDone - atGrace.wall, performance.eventLoopUtilization(eluDone, atGrace.elu).utilization), ""]);
        rows.push([`  event loop delay, stop -> re-plan complete: p50 / p99 / max`, `${fmt(loopDelay.percentile(50) / 1e6)} / ${fmt(loopDelay.percentile(99) / 1e6)} / ${fmt(loopDelay.max / 1e6)} ms`, ""]);
        const originOf = (c: string) => [...origins].find(([, n]) => n === c)![0];
        const survivorReq = new Map<RequestKind, number>();
        for (const m of survivors) for (const [k, n] of req.get(originOf(m)) ?? []) survivorReq.set(k, (survivorReq.get(k) ?? 0) + n);
        rows.push([
          `  requests, stop -> re-plan complete: hub / ${survivors.length} survivors / ${failed}`,
          `${total(req.get(originOf("hub")))} (${describeKinds(req.get(originOf("hub")))}) / ${total(survivorReq)} (${describeKinds(survivorReq)}) / ${total(req.get(originOf(failed)))} (${describeKinds(req.get(originOf(failed)))})`,
          "",
        ]);
        const ms = (values: number[]) => `${values.length} requests: median ${fmt(median(values))}, p99 ${fmt(quantile(values, 0.99))}, max ${fmt(max(values))} ms`;
        rows.push([`  request latency (created -> response headers, in this process), hub status writes`, ms(latency.of([originOf("hub")], "status")), ""]);
        rows.push([`  request latency, survivors' scale writes / probes`, `${ms(latency.of(survivors.map(originOf), "scale"))} / ${ms(latency.of(survivors.map(originOf), "probe"))}`, ""]);
        const hubRequests = total(req.get(originOf("hub")));
        rows.push([
          `  connections opened (TCP + TLS, undici "client:connected"), stop -> re-plan complete: to the hub / to the survivors`,
          `${latency.connectionsTo([originOf("hub")])} for ${hubRequests} requests / ${latency.connectionsTo(survivors.map(originOf))} for ${[...survivorReq.values()].reduce((a, b) => a + b, 0)} requests`,
          "",
        ]);
      } finally {
        watching = false;
        for (const child of deploymentWatches.values()) child.kill();
      }

      // The members' Deployments as they are: each survivor's spec as the DSO's final status plans it.
      const expected = (k: string, m: string) => dsoWatch!.objects.get(k)?.object.status?.memberClusterStatuses?.[m]?.desiredReplicas;
      const after = await Promise.all(survivors.map(memberDeployments));
      const mismatches = survivors.map((m, i) => names.filter((n) => after[i]!.get(n)?.spec !== expected(`default/${n}`, m)).length);
      const twos = survivors.map((_, i) => names.filter((n) => after[i]!.get(n)?.spec === 2).length);
      rows.push([
        `  survivors' Deployments afterwards (kubectl): spec != the status' desired; Deployments at 2 per survivor`,
        `${mismatches.join(" / ")}; ${twos.join(" / ")} (sum ${twos.reduce((a, b) => a + b, 0)})`,
        "",
      ]);
      closeWatch();
    };

    await place(0, FIRST);
    await idle(FIRST);
    if (N > FIRST) {
      await place(FIRST, N);
      await idle(N);
    }

    // One member fails, once every DSO is placed and Ready with its 5 pods: re-plan everything.
    await replan();
    console.log(`Scale: one runtime, hub + ${MEMBERS.length} members, ${FIRST} then ${N} DSOs (${machine()})\n`);
    console.log(table(["measure", "result", "load (1/5/15 min)"], rows));
    if (notes.length > 0) console.log(`\n${notes.join("\n")}`);
  } catch (error) {
    console.log(`Scale (INCOMPLETE: ${(error as Error).message}), hub + ${MEMBERS.length} members (${machine()})\n`);
    console.log(table(["measure", "result", "load (1/5/15 min)"], rows));
    if (notes.length > 0) console.log(`\n${notes.join("\n")}`);
    throw error;
  } finally {
    requests.stop();
    dsoWatch?.stop();
    await runtime?.handle.stop();
    bench?.fleet.down();
  }
}

runBench(main);
