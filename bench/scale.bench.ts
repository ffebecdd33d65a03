/**
 * Scale: one runtime (in this process, default options) with 100 and then 1,000 DSOs over
 * hub + 5 member clusters, each DSO on its own Deployment (weight 1 each, total 5: one
 * replica per member). Measures time to place, RSS and heap, idle CPU and idle API
 * requests per minute at 100 and at 1,000 DSOs in the same run, and the time to re-plan
 * everything after one member fails (grace 5 s).
 *
 * Methods: requests are counted at the source, in this process, from undici's
 * diagnostics channel (every client-node request, watches included); the bench's own
 * hub watch is closed during the idle windows, so idle counts are the runtime's alone.
 * CPU is process.cpuUsage() over the window (user + system). Placement and re-plan
 * times come from a watch on every DSO in the hub (event arrival, sub-ms).
 *
 * Placement creates the DSOs in batches (default 100), each batch placed before the next
 * is created; batch = dsos creates the 900 after the first 100 in one burst.
 *
 * Run: node --expose-gc dist/bench/scale.bench.js [dsos] [idle seconds] [batch]
 */
import { performance } from "node:perf_hooks";
import { API_GROUP, API_VERSION, PLURAL } from "../schema/dso-names";
import { type BenchFleet, type DsoStatusView, type Running, counter, deploymentList, dsoManifest, fmt, load, machine, progress, sleep, startBenchRuntime, startFleet, table, runBench } from "./live/support";
import { ObjectWatch } from "./live/object-watch";
import { RequestCounter, describeKinds, total } from "./live/request-count";

const MEMBERS = ["member-1", "member-2", "member-3", "member-4", "member-5"];
const N = Number(process.argv[2] ?? 1000);
const FIRST = Math.min(100, N);
const IDLE_MS = Number(process.argv[3] ?? 60) * 1000;
const BATCH = Number(process.argv[4] ?? 100);
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
    bench = await startFleet(MEMBERS);
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

    await place(0, FIRST);
    await idle(FIRST);
    if (N > FIRST) {
      await place(FIRST, N);
      await idle(N);
    }

    // One member fails: from the end of its grace period until every DSO shows it Excluded with its replica moved.
    await openWatch();
    const excludedAt = new Map<string, number>();
    const failed = MEMBERS.at(-1)!;
    const survivors = MEMBERS.slice(0, -1);
    dsoWatch!.onEvent = (key, entry) => {
      const s = entry?.object.status?.memberClusterStatuses;
      if (!s || excludedAt.has(key)) return;
      if (s[failed]?.state === "Excluded" && s[failed]?.desiredReplicas === 0 && survivors.reduce((sum, m) => sum + (s[m]?.desiredReplicas ?? 0), 0) === 5) excludedAt.set(key, entry!.at);
    };
    const writesBefore = await writes();
    progress(`stopping ${failed}`);
    const t0 = performance.now();
    const stopping = bench.fleetCommand("stop", failed);
    const linesBefore = runtime.lines.length;
    try {
      await dsoWatch!.until(() => excludedAt.size === N, 5 * 60_000, 250);
    } catch {
      rows.push([`re-plan after ${failed} stopped: NOT done within 5 min`, `${excludedAt.size}/${N} DSOs show it Excluded with its replica moved; survivors marked unhealthy ${runtime.lines.slice(linesBefore).filter((l) => l.msg === "member unhealthy" && l.member !== failed).length} times`, load()]);
      throw new Error("re-plan did not finish");
    }
    await stopping;
    const unhealthy = runtime.lines.find((l) => l.msg === "member unhealthy" && l.member === failed);
    const detected = perfOf(unhealthy!.time);
    const graceEnd = detected + 5_000;
    const last = Math.max(...excludedAt.values());
    rows.push([`${failed} stopped: stop -> runtime marks it unhealthy`, `${fmt(detected - t0)} ms`, load()]);
    rows.push([`re-plan ${N} DSOs: grace end -> every status shows ${failed} Excluded and its replica on the others`, `${fmt((last - graceEnd) / 1000, 2)} s`, load()]);
    rows.push([`  first DSO done after the grace end`, `${fmt((Math.min(...excludedAt.values()) - graceEnd) / 1000, 2)} s`, ""]);
    rows.push([`  member scale writes for the re-plan; survivors marked unhealthy meanwhile`, `${(await writes()) - writesBefore} (expected ${N}); ${runtime.lines.slice(linesBefore).filter((l) => l.msg === "member unhealthy" && l.member !== failed).length}`, ""]);
    closeWatch();

    console.log(`Scale: one runtime, hub + ${MEMBERS.length} members, ${FIRST} then ${N} DSOs (${machine()})\n`);
    console.log(table(["measure", "result", "load (1/5/15 min)"], rows));
    if (notes.length > 0) console.log(`\n${notes.join("\n")}`);
  } catch (error) {
    console.log(`Scale (INCOMPLETE: ${(error as Error).message}), hub + ${MEMBERS.length} members (${machine()})\n`);
    console.log(table(["measure", "result", "load (1/5/15 min)"], rows));
    throw error;
  } finally {
    requests.stop();
    dsoWatch?.stop();
    await runtime?.handle.stop();
    bench?.fleet.down();
  }
}

runBench(main);
