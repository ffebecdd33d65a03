/**
 * Scale: one runtime, run as the ScalerHub Deployment runs it (a separate process, `node
 * dist/runtime/main.js --kubeconfig <hub> --namespace fleetscale-system`, default flags;
 * SCALE_RUNTIME_ARGS adds flags, e.g. "--workers 32"), with 100 and then N DSOs over hub + 5
 * member clusters, each DSO on its own Deployment (weight 1 each, total 5: one replica per
 * member, grace 5 s). The runtime reaches every member through its own Toxiproxy proxy
 * (members onboarded `through` it); the bench's kubectl goes to the members directly.
 *
 * Failure: once every DSO is Ready (Converged, 5 x desired 1, checked with kubectl on the
 * members too), member-5's proxy is blackholed: no byte passes, new connections hang; the
 * member's cluster keeps running and its pods stay. Grace end = the runtime's "member
 * unhealthy" line for member-5 + 5 s (detection takes two probe timeouts: a failed probe is
 * confirmed by a second one). Per DSO: when its status first shows member-5 failing, and
 * when it shows member-5 Excluded with 0 and the 5 replicas on members 1-4 (hub watch); when
 * the survivor's Deployment shows spec.replicas 2 and then 2 ready, and every later spec
 * change (`kubectl get deployments -w` per survivor, child processes); the runtime's
 * "scaled" lines. The results are checked against the goals of issue 14 (goals table).
 *
 * Memory and load, measured from outside the runtime: its VmRSS (and VmHWM) from
 * /proc/<pid>/status and its CPU from /proc/<pid>/stat every second; its /metrics every
 * SCALE_METRICS_MS (default 1000): nodejs_eventloop_lag_p99_seconds (prom-client resets the
 * histogram at each scrape, so each value is the p99 of one interval), heap used, scale and
 * status writes, leader, work queue depth. The runtime's log (JSON lines on stdout) is
 * counted per msg; only the lines needed for times are parsed, and of these only per-DSO
 * times are kept. The bench's own RSS is sampled too. Requests per server are no longer
 * counted (undici's diagnostics channels only see the bench's own process).
 *
 * SCALE_DUMP=<file> writes the per-DSO times and the samples.
 *
 * Run: node --expose-gc dist/bench/scale.bench.js [dsos] [idle seconds] [batch]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { API_GROUP, API_VERSION, PLURAL } from "../schema/dso-names";
import { isFailureState } from "../engine/states";
import { type BenchFleet, type DsoStatusView, HUB_NAMESPACE, deploymentList, dsoManifest, fmt, load, machine, max, median, min, progress, quantile, sleep, startFleet, table, runBench } from "./live/support";
import { fleetBinDir } from "../test/support/fleet";
import { Toxiproxy } from "../test/support/toxiproxy";
import { ObjectWatch } from "./live/object-watch";
import { type RuntimeProcess, startRuntimeProcess } from "./live/runtime-process";

const MEMBERS = ["member-1", "member-2", "member-3", "member-4", "member-5"];
const N = Number(process.argv[2] ?? 1000);
const FIRST = Math.min(100, N);
const IDLE_MS = Number(process.argv[3] ?? 60) * 1000;
const BATCH = Number(process.argv[4] ?? 100);
const RUNTIME_ARGS = (process.env.SCALE_RUNTIME_ARGS ?? "").split(/\s+/).filter((a) => a !== "");
const METRICS_MS = Number(process.env.SCALE_METRICS_MS ?? 1000);
const GRACE_MS = 5_000;
/** ScalerHub Deployment's memory limit (components/scaler-hub.ts). */
const LIMIT_MIB = 256;
// kwok nodes per cluster, 110 pods each. After one member fails, a survivor runs its own N
// pods plus the failed member's replica of every DSO whose tie it wins; room for 2 x N
// makes no assumption about how ties fall.
const PODS_PER_NODE = 110;
const NODES = Math.max(1, Math.ceil((2 * N) / PODS_PER_NODE));
const name = (i: number) => `w-${String(i).padStart(4, "0")}`;
const perfOf = (epochMs: number) => epochMs - (Date.now() - performance.now());
const loadavg = () => readFileSync("/proc/loadavg", "utf8").trim();

type Dso = { metadata?: { name?: string; namespace?: string }; status?: DsoStatusView };

const SCRAPED = [
  "nodejs_eventloop_lag_p99_seconds",
  "nodejs_eventloop_lag_max_seconds",
  "nodejs_heap_size_used_bytes",
  "fleetscale_member_scale_writes_total",
  "fleetscale_status_writes_total",
  "fleetscale_leader",
  "fleetscale_workqueue_depth",
  "fleetscale_hub_reachable",
] as const;

interface MemorySample {
  at: number;
  rss: number;
  cpu: number;
  bench: number;
}
interface Scrape {
  at: number;
  ms: number;
  bytes: number;
  values: Map<string, number>;
}

/** Every second: the runtime's RSS and CPU (/proc) and the bench's RSS; every METRICS_MS a scrape of /metrics (never two at once). */
class Sampler {
  readonly memory: MemorySample[] = [];
  readonly scrapes: Scrape[] = [];
  private timers: NodeJS.Timeout[] = [];
  private scraping = false;
  benchMax = 0;
  constructor(private readonly runtime: RuntimeProcess) {}
  start(): void {
    this.timers.push(
      setInterval(() => {
        try {
          const bench = process.memoryUsage.rss() / 2 ** 20;
          this.benchMax = Math.max(this.benchMax, bench);
          this.memory.push({ at: performance.now(), rss: this.runtime.memory().rss, cpu: this.runtime.cpuSeconds(), bench });
        } catch {
          // the runtime process is gone
        }
      }, 1_000),
      setInterval(() => {
        if (this.scraping) return;
        this.scraping = true;
        const at = performance.now();
        this.runtime.metrics(SCRAPED).then(
          (m) => {
            this.scrapes.push({ at, ms: m.ms, bytes: m.bytes, values: m.values });
            this.scraping = false;
          },
          () => (this.scraping = false),
        );
      }, METRICS_MS),
    );
  }
  stop(): void {
    for (const t of this.timers) clearInterval(t);
  }
  memoryBetween(from: number, to: number): MemorySample[] {
    return this.memory.filter((m) => m.at >= from && m.at <= to);
  }
  scrapesBetween(from: number, to: number): Scrape[] {
    return this.scrapes.filter((m) => m.at >= from && m.at <= to);
  }
}

async function main(): Promise<void> {
  let bench: BenchFleet | undefined;
  let toxiproxy: Toxiproxy | undefined;
  let runtime: RuntimeProcess | undefined;
  let sampler: Sampler | undefined;
  let dsoWatch: ObjectWatch<Dso> | undefined;
  const rows: string[][] = [];
  const goals: string[][] = [];
  // Each row also goes to stderr at once, so a run that fails later keeps what it measured.
  for (const list of [rows, goals]) {
    const push = list.push.bind(list);
    list.push = (...items: string[][]) => {
      for (const r of items) process.stderr.write(`ROW | ${r.join(" | ")} |\n`);
      return push(...items);
    };
  }
  const notes: string[] = [];
  const memoryRows: string[][] = [];
  try {
    progress(`start: /proc/loadavg ${loadavg()}`);
    notes.push(`load at start: /proc/loadavg ${loadavg()}`);
    toxiproxy = await Toxiproxy.start();
    bench = await startFleet(MEMBERS, { nodes: NODES, toxiproxy });
    const { fleet, proxies } = bench;
    const hubConfig = fleet.kubeconfig("hub");
    const names = Array.from({ length: N }, (_, i) => name(i));

    let t = performance.now();
    await Promise.all(MEMBERS.map((m) => bench!.kubectlInput(m, deploymentList(names, 0), "create", "-f", "-")));
    rows.push([`setup: ${N} Deployments (replicas 0) created in each of ${MEMBERS.length} members (kubectl create of a List, members in parallel)`, `${fmt((performance.now() - t) / 1000, 1)} s`, load()]);
    progress("deployments created");

    runtime = await startRuntimeProcess(fleet.cluster("hub").kubeconfig, HUB_NAMESPACE, "scale-bench", RUNTIME_ARGS);
    notes.push(`runtime: pid ${runtime.pid}, \`node dist/runtime/main.js --kubeconfig <hub> --namespace ${HUB_NAMESPACE} --identity scale-bench --health-port <free> --metrics-port <free>${RUNTIME_ARGS.length > 0 ? ` ${RUNTIME_ARGS.join(" ")}` : ""}\` (other flags default)`);
    sampler = new Sampler(runtime);
    sampler.start();
    const startMem = runtime.memory();
    memoryRows.push([`runtime leading, 0 DSOs`, `${fmt(startMem.rss)} MiB`, ""]);
    const scrape = async () => (await runtime!.metrics(SCRAPED)).values;
    const writes = async () => (await scrape()).get("fleetscale_member_scale_writes_total") ?? 0;
    const statusWrites = async () => (await scrape()).get("fleetscale_status_writes_total") ?? 0;

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

    const unhealthyLines = () => runtime!.counts.get("member unhealthy") ?? 0;
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
      const [w0, s0] = [await writes(), await statusWrites()];
      const cpu0 = runtime!.cpuSeconds();
      const t0 = performance.now();
      const loadBefore = load();
      await sleep(IDLE_MS);
      const cpu = runtime!.cpuSeconds() - cpu0;
      const elapsed = performance.now() - t0;
      const values = await scrape();
      const mem = runtime!.memory();
      const idleSamples = sampler!.memoryBetween(t0, performance.now());
      rows.push([`idle at ${dsos} DSOs: runtime CPU (user+system, /proc) over ${fmt(elapsed / 1000)} s`, `${fmt((cpu * 1000 / elapsed) * 100, 2)} % of one core`, `${loadBefore} -> ${load()}`]);
      rows.push([`idle at ${dsos} DSOs: member scale writes / status writes`, `${(await writes()) - w0} / ${(await statusWrites()) - s0}`, ""]);
      rows.push([`idle at ${dsos} DSOs: runtime RSS (VmRSS; min-max over the idle window) / heap used (metrics) / bench RSS`, `${fmt(mem.rss)} MiB (${fmt(min(idleSamples.map((m) => m.rss)))}-${fmt(max(idleSamples.map((m) => m.rss)))}) / ${fmt((values.get("nodejs_heap_size_used_bytes") ?? NaN) / 2 ** 20)} MiB / ${fmt(process.memoryUsage.rss() / 2 ** 20)} MiB`, ""]);
      memoryRows.push([`runtime idle at ${dsos} DSOs (after placement, pods ready)`, `${fmt(mem.rss)} MiB`, `heap used ${fmt((values.get("nodejs_heap_size_used_bytes") ?? NaN) / 2 ** 20)} MiB`]);
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

      const failingSeen = new Map<string, number>(); // status first shows the member failing (arrival)
      const failingSince = new Map<string, number>(); // ... and since when, as the runtime judges it (epoch ms)
      const replannedAt = new Map<string, number>(); // status shows it Excluded, 0, and 5 on the survivors (arrival)
      const specAt = new Map<string, number>(); // a survivor's Deployment shows spec.replicas 2 (arrival)
      const podsAt = new Map<string, number>(); // ... and readyReplicas 2
      const writtenAt = new Map<string, number>(); // the runtime's "scaled" line for the survivor's 1 -> 2
      let otherWrites = 0;
      const otherWriteKinds = new Map<string, number>();
      const failureKinds = new Map<string, number>();
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
      let watchRestarts = 0;
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
          if (replicas === 2 && !specAt.has(key)) specAt.set(key, at);
          if (replicas === 2 && Number(ready) >= 2 && !podsAt.has(key)) podsAt.set(key, at);
        });
        child.on("exit", () => {
          if (!watching) return;
          if (++watchRestarts > 20) return progress(`kubectl watch of ${member}'s Deployments ended again; not restarted`);
          progress(`kubectl watch of ${member}'s Deployments ended; starting it again`);
          setTimeout(() => watching && watchDeployments(member), 200);
        });
        deploymentWatches.set(member, child);
      };
      for (const member of survivors) watchDeployments(member);
      try {
        await dsoWatch!.until(() => [...listed.values()].every((n) => n >= N), 60_000, 250);
        let detected: number | undefined;
        let atGrace: { wall: number; cpu: number } | undefined;
        let graceTimer: NodeJS.Timeout | undefined;
        const counts0 = new Map(runtime!.counts);
        const unhealthy0 = new Map(runtime!.unhealthyBy);
        const since = (msg: string) => (runtime!.counts.get(msg) ?? 0) - (counts0.get(msg) ?? 0);
        const survivorsUnhealthy = () => survivors.reduce((sum, m) => sum + (runtime!.unhealthyBy.get(m) ?? 0) - (unhealthy0.get(m) ?? 0), 0);
        const leaseLosses: string[] = [];
        let failAt = Number.NaN;
        runtime!.onLine = (line) => {
          if (line.msg === "member unhealthy" && line.member === failed && detected === undefined) {
            detected = perfOf(line.time);
            graceTimer = setTimeout(() => (atGrace = { wall: performance.now(), cpu: runtime!.cpuSeconds() }), Math.max(0, detected + GRACE_MS - performance.now()));
          }
          if (line.msg === "scaled" && typeof line.dso === "string") {
            if (!writtenAt.has(line.dso) && survivors.includes(line.member ?? "") && line.from === 1 && line.to === 2) writtenAt.set(line.dso, perfOf(line.time));
            else {
              otherWrites++;
              const kind = `${line.member} ${line.from}->${line.to}`;
              otherWriteKinds.set(kind, (otherWriteKinds.get(kind) ?? 0) + 1);
            }
          }
          if (line.msg === "stopped leading" && leaseLosses.length < 20) leaseLosses.push(`${fmt((perfOf(line.time) - failAt) / 1000, 1)} s after the blackhole: ${String(line.why)}`);
          if (line.msg === "scale failed") {
            const why = String(line.err ?? "").replace(/^[^:]*: scale \S+ \S+ to \d+: /, "").slice(0, 120);
            failureKinds.set(why, (failureKinds.get(why) ?? 0) + 1);
          }
        };

        const [writes0, status0] = [await writes(), await statusWrites()];
        const cpu0 = runtime!.cpuSeconds();
        const loadAtFailure = loadavg();
        notes.push(`load at the failure: /proc/loadavg ${loadAtFailure}`);
        progress(`blackholing ${failed} (/proc/loadavg ${loadAtFailure})`);
        const t0 = performance.now();
        failAt = t0;
        stopped = true;
        await proxies[failed]!.blackhole();
        const tBlackholed = performance.now();
        const dump = () => {
          if (!process.env.SCALE_DUMP) return;
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
          writeFileSync(
            process.env.SCALE_DUMP,
            JSON.stringify(
              {
                detected: rel(detected),
                lowered: [...lowered],
                counts: Object.fromEntries([...runtime!.counts].map(([k, v]) => [k, v - (counts0.get(k) ?? 0)])),
                perDso,
                memory: sampler!.memory.map((m) => ({ ...m, at: rel(m.at) })),
                scrapes: sampler!.scrapes.map((m) => ({ at: rel(m.at), ms: Math.round(m.ms), bytes: m.bytes, ...Object.fromEntries(m.values) })),
              },
              null,
              1,
            ),
          );
        };
        try {
          await dsoWatch!.until(() => replannedAt.size === N && specAt.size === N, 5 * 60_000, 250);
        } catch {
          rows.push([
            `re-plan after ${failed} blackholed: NOT done within 5 min`,
            `${replannedAt.size}/${N} statuses re-planned, ${specAt.size}/${N} survivor specs at 2, ${writtenAt.size} "scaled" lines; survivors marked unhealthy ${survivorsUnhealthy()} times; "stopped leading" ${since("stopped leading")}`,
            load(),
          ]);
          dump();
          throw new Error("re-plan did not finish");
        } finally {
          clearTimeout(graceTimer);
        }
        const tDone = performance.now();
        const cpuDone = runtime!.cpuSeconds();
        const loadDone = load();
        const [writesN, statusN] = [(await writes()) - writes0, (await statusWrites()) - status0];
        if (detected === undefined || atGrace === undefined) throw new Error(`no "member unhealthy" line for ${failed}`);
        const graceEnd = detected + GRACE_MS;
        progress(`re-planned; waiting for the survivors' new pods`);
        try {
          await dsoWatch!.until(() => podsAt.size === N, 3 * 60_000, 500);
        } catch {
          // Reported below as a count.
        }
        // A little longer, to see whether anything is lowered or moved again after the re-plan.
        await sleep(15_000);
        const tEnd = performance.now();
        runtime!.onLine = undefined;
        dump();

        const s = (ms: number) => `${fmt(ms / 1000, 2)} s`;
        const dist = (values: number[]) => `median ${s(median(values))}, p99 ${s(quantile(values, 0.99))}, max ${s(max(values))} (min ${s(min(values))})`;
        const replanned = keys.map((k) => replannedAt.get(k)!);
        const specs = keys.map((k) => specAt.get(k)!);
        const ownGraceEnd = (k: string) => perfOf(failingSince.get(k)!) + GRACE_MS;
        const withSince = keys.filter((k) => failingSince.has(k));
        const sinces = withSince.map((k) => failingSince.get(k)!);
        rows.push([`${failed} blackholed (toxics added in ${s(tBlackholed - t0)}): blackhole -> the runtime logs it unhealthy`, s(detected - t0), loadAtFailure]);
        rows.push([
          `  unhealthy -> status shows ${failed} failing (Unreachable), per DSO (${withSince.length}/${N} seen before the exclusion; their "since" spans ${s(max(sinces) - min(sinces))})`,
          dist(keys.flatMap((k) => (failingSeen.has(k) ? [failingSeen.get(k)! - detected!] : []))),
          "",
        ]);
        rows.push([`re-plan ${N} DSOs, per DSO: grace end (unhealthy + 5 s) -> status shows ${failed} Excluded, 0, and 5 on the survivors`, dist(replanned.map((t) => t - graceEnd)), loadDone]);
        rows.push([`  per DSO: its own grace end (status "since" of the failure + 5 s) -> that status`, dist(withSince.map((k) => replannedAt.get(k)! - ownGraceEnd(k))), ""]);
        rows.push([`  per DSO: grace end -> the survivor's Deployment shows spec.replicas 2 (kubectl watch; watch restarts: ${watchRestarts})`, dist(specs.map((t) => t - graceEnd)), ""]);
        rows.push([`  survivor specs lowered again after the failure (kubectl watch, until 15 s after the pods): DSOs affected; grace end -> last change of any survivor spec`, `${lowered.size}; ${lastSpecChange > 0 ? s(lastSpecChange - graceEnd) : "no change"}`, ""]);
        rows.push([
          `  per DSO: grace end -> the runtime's "scaled" line for that write (${writtenAt.size}/${N} DSOs have one)`,
          dist(keys.flatMap((k) => (writtenAt.has(k) ? [writtenAt.get(k)! - graceEnd] : []))),
          "",
        ]);
        rows.push([`  whole fleet: grace end -> last status / last spec at 2 (blackhole -> last: ${s(max(replanned) - t0)} / ${s(max(specs) - t0)})`, `${s(max(replanned) - graceEnd)} / ${s(max(specs) - graceEnd)}`, ""]);
        rows.push([`  per DSO: grace end -> the survivor's 2 pods ready (kubectl watch; ${podsAt.size}/${N} within 3 min of the re-plan)`, dist(keys.flatMap((k) => (podsAt.has(k) ? [podsAt.get(k)! - graceEnd] : []))), load()]);
        rows.push([
          `  member writes, blackhole -> re-plan complete: counter (expected ${N}); "scaled" 1 -> 2 lines; other "scaled" lines (until the end); "scale failed" lines`,
          `${writesN}; ${writtenAt.size}; ${otherWrites}${otherWrites > 0 ? ` (${[...otherWriteKinds].map(([k, n]) => `${n} x ${k}`).join(", ")})` : ""}; ${since("scale failed")}${failureKinds.size > 0 ? ` (${[...failureKinds].slice(0, 5).map(([k, n]) => `${n} x ${k}`).join(", ")})` : ""}`,
          "",
        ]);
        rows.push([
          `  status writes (counter, to re-plan complete); "status write failed; retrying" / "could not record event; retrying" lines (to the end)`,
          `${statusN}; ${since("status write failed; retrying")} / ${since("could not record event; retrying")}`,
          "",
        ]);
        rows.push([
          `  survivors marked unhealthy; "stopped leading" / "became leader" / "leader election request failed" lines (to the end)`,
          `${survivorsUnhealthy()}; ${since("stopped leading")} / ${since("became leader")} / ${since("leader election request failed")}${leaseLosses.length > 0 ? ` (${leaseLosses.join("; ")})` : ""}`,
          "",
        ]);
        const cpuRow = (from: number, to: number, wall: number) => `${fmt(to - from, 2)} s CPU over ${fmt(wall / 1000, 2)} s = ${fmt(((to - from) * 1000 / wall) * 100, 0)} % of one core`;
        rows.push([`  runtime process CPU (/proc), blackhole -> grace end`, cpuRow(cpu0, atGrace.cpu, atGrace.wall - t0), ""]);
        rows.push([`  runtime process CPU, grace end -> re-plan complete (statuses and specs)`, cpuRow(atGrace.cpu, cpuDone, tDone - atGrace.wall), ""]);
        const window = sampler!.scrapesBetween(t0, tDone);
        const p99s = window.map((m) => (m.values.get("nodejs_eventloop_lag_p99_seconds") ?? NaN) * 1000);
        const maxes = window.map((m) => (m.values.get("nodejs_eventloop_lag_max_seconds") ?? NaN) * 1000);
        const depth = window.map((m) => m.values.get("fleetscale_workqueue_depth") ?? NaN);
        const notLeading = sampler!.scrapesBetween(t0, tEnd).filter((m) => m.values.get("fleetscale_leader") !== 1).length;
        const gaps = window.slice(1).map((m, i) => m.at - window[i]!.at);
        rows.push([
          `  runtime event-loop delay (its /metrics, ${window.length} scrapes, each the p99 of one interval), blackhole -> re-plan complete: p99 per interval median / max; max delay`,
          `${fmt(median(p99s))} / ${fmt(max(p99s))} ms; ${fmt(max(maxes))} ms`,
          "",
        ]);
        rows.push([
          `  scrapes: time to answer median / max, size; gap between scrapes max (asked every ${METRICS_MS} ms)`,
          `${fmt(median(window.map((m) => m.ms)))} / ${fmt(max(window.map((m) => m.ms)))} ms, ${fmt(median(window.map((m) => m.bytes)) / 1024)} KiB; ${fmt(max(gaps))} ms`,
          "",
        ]);
        rows.push([`  work queue depth max; scrapes with fleetscale_leader != 1 (to the end)`, `${fmt(max(depth))}; ${notLeading}`, ""]);
        const failMem = sampler!.memoryBetween(t0, tEnd);
        const peak = max(failMem.map((m) => m.rss));
        const hwm = runtime!.memory().hwm;
        rows.push([
          `  runtime RSS (VmRSS every 1 s), blackhole -> end: at the blackhole / peak / at the end; VmHWM of the whole run`,
          `${fmt(failMem[0]?.rss ?? NaN)} / ${fmt(peak)} / ${fmt(failMem.at(-1)?.rss ?? NaN)} MiB; ${fmt(hwm)} MiB`,
          "",
        ]);
        memoryRows.push([`runtime during the failover (blackhole -> 15 s after the pods)`, `peak ${fmt(peak)} MiB`, `VmHWM of the run ${fmt(hwm)} MiB`]);

        // Goals (issue 14).
        const raisedMax = max(specs) - graceEnd;
        const statusMax = max(replanned) - graceEnd;
        const lagP99Max = max(p99s);
        const yes = (ok: boolean) => (ok ? "yes" : "**no**");
        goals.push([`every survivor's spec raised within 10 s of the grace end`, `last at ${s(raisedMax)} (median ${s(median(specs.map((t) => t - graceEnd)))})`, yes(raisedMax <= 10_000)]);
        goals.push([`every status within 30 s of the grace end`, `last at ${s(statusMax)} (median ${s(median(replanned.map((t) => t - graceEnd)))})`, yes(statusMax <= 30_000)]);
        goals.push([`0 lease losses ("stopped leading")`, `${since("stopped leading")} (scrapes not leading: ${notLeading})`, yes(since("stopped leading") === 0 && notLeading === 0)]);
        goals.push([`0 healthy members marked unhealthy`, `${survivorsUnhealthy()}`, yes(survivorsUnhealthy() === 0)]);
        goals.push([`0 workloads lowered again`, `${lowered.size}`, yes(lowered.size === 0)]);
        goals.push([`runtime event-loop delay p99 < 250 ms`, `max of per-interval p99 ${fmt(lagP99Max)} ms (max delay ${fmt(max(maxes))} ms)`, yes(lagP99Max < 250)]);
        goals.push([`runtime RSS within the Deployment's limit (${LIMIT_MIB} Mi)`, `peak ${fmt(peak)} MiB during the failover; VmHWM ${fmt(hwm)} MiB`, yes(hwm <= LIMIT_MIB)]);
      } finally {
        watching = false;
        for (const child of deploymentWatches.values()) child.kill();
      }

      // The members' Deployments as they are: each survivor's spec as the DSO's final status plans it; the failed member untouched.
      const expected = (k: string, m: string) => dsoWatch!.objects.get(k)?.object.status?.memberClusterStatuses?.[m]?.desiredReplicas;
      const after = await Promise.all(survivors.map(memberDeployments));
      const mismatches = survivors.map((m, i) => names.filter((n) => after[i]!.get(n)?.spec !== expected(`default/${n}`, m)).length);
      const twos = survivors.map((_, i) => names.filter((n) => after[i]!.get(n)?.spec === 2).length);
      rows.push([`  survivors' Deployments afterwards (kubectl): spec != the status' desired; Deployments at 2 per survivor`, `${mismatches.join(" / ")}; ${twos.join(" / ")} (sum ${twos.reduce((a, b) => a + b, 0)})`, ""]);
      const failedAfter = await memberDeployments(failed);
      rows.push([`  ${failed}'s own Deployments afterwards (kubectl, direct): spec 1 and 1 ready`, `${names.filter((n) => failedAfter.get(n)?.spec === 1 && failedAfter.get(n)?.ready === 1).length}/${N}`, ""]);
      closeWatch();
    };

    await place(0, FIRST);
    await idle(FIRST);
    if (N > FIRST) {
      await place(FIRST, N);
      await idle(N);
    }

    // One member is cut off (blackholed) once every DSO is placed and Ready with its 5 pods: re-plan everything.
    await replan();
  } catch (error) {
    notes.push(`INCOMPLETE: ${(error as Error).message}`);
    throw error;
  } finally {
    sampler?.stop();
    const benchMax = process.resourceUsage().maxRSS / 1024;
    (globalThis as { gc?: () => void }).gc?.();
    const after = process.memoryUsage();
    memoryRows.push([
      `bench process (its own recording): max RSS`,
      `${fmt(benchMax)} MiB`,
      `sampled max ${fmt(sampler?.benchMax ?? NaN)} MiB; at the end after gc(): RSS ${fmt(after.rss / 2 ** 20)}, heap used ${fmt(after.heapUsed / 2 ** 20)} MiB`,
    ]);
    console.log(`Scale: one runtime process, hub + ${MEMBERS.length} members behind Toxiproxy, ${FIRST} then ${N} DSOs (${machine()})\n`);
    if (goals.length > 0) console.log(`${table(["goal", "measured", "met?"], goals)}\n`);
    console.log(`${table(["memory", "RSS", "note"], memoryRows)}\n`);
    console.log(table(["measure", "result", "load (1/5/15 min)"], rows));
    if (notes.length > 0) console.log(`\n${notes.join("\n")}`);
    dsoWatch?.stop();
    await runtime?.stop();
    await toxiproxy?.stop();
    bench?.fleet.down();
  }
}

runBench(main);
