/**
 * Network faults, measured: N DSOs (default 100; total 3, weight 1 on each of 3 members) and
 * one runtime (in this process, default options but --member-timeout 5 s, grace 10 s), every
 * cluster behind its own Toxiproxy proxy (test/support/fault-fleet.ts). Each fault is
 * injected, held, healed, and the fleet let settle; per fault:
 * - detect: fault -> the runtime logs the member unhealthy (hub: stops leading);
 * - writes during the fault and after it heals (to the faulted member / to the others);
 * - healthy members taken for unhealthy (must be 0);
 * - the lowest ready capacity sampled every 200 ms over all members and DSOs, read directly
 *   (not through the proxies), against N × 3;
 * - heal -> settled (every DSO's status Ready and every member at its share).
 * The members keep running through every fault (a partition, not a crash).
 *
 * Run: node dist/bench/network-faults.bench.js [dsos]
 */
import { FaultFleet, type Running, counter, unhealthyOf, writesOf } from "../test/support/fault-fleet";
import { fmt, load, machine, progress, runBench, sleep, table } from "./live/support";

const N = Number(process.argv[2] ?? 100);
const MEMBERS = ["member-1", "member-2", "member-3"];
const TOTAL = 3;
const GRACE_MS = 10_000;
const MEMBER_TIMEOUT_MS = 5_000;
const name = (i: number) => `w-${String(i).padStart(4, "0")}`;

interface Fault {
  what: string;
  /** The proxy the fault is injected on. */
  target: string;
  inject(faults: FaultFleet): Promise<unknown>;
  holdMs: number;
}

const FAULTS: Fault[] = [
  { what: "latency 2000 ± 200 ms, 40 s", target: "member-3", inject: (f) => f.proxies["member-3"]!.latency(2_000, 200), holdMs: 40_000 },
  { what: "bandwidth 16 KB/s, 40 s", target: "member-3", inject: (f) => f.proxies["member-3"]!.bandwidth(16), holdMs: 40_000 },
  { what: "connections reset, 5 s (< grace)", target: "member-3", inject: (f) => f.proxies["member-3"]!.resetPeer(), holdMs: 5_000 },
  { what: "blackhole, 40 s (> grace)", target: "member-3", inject: (f) => f.proxies["member-3"]!.blackhole(), holdMs: 40_000 },
  { what: "open connections silent (watches too), 40 s", target: "member-1", inject: (f) => f.proxies["member-1"]!.silenceOpenConnections(), holdMs: 40_000 },
  { what: "hub blackholed, 30 s", target: "hub", inject: (f) => f.proxies.hub!.blackhole(), holdMs: 30_000 },
];

async function settled(faults: FaultFleet): Promise<boolean> {
  const statuses = await faults.statuses();
  if (statuses.size < N) return false;
  for (const status of statuses.values()) {
    if (status.conditions?.find((c) => c.type === "Ready")?.status !== "True") return false;
    for (const member of MEMBERS) if (status.memberClusterStatuses?.[member]?.desiredReplicas !== TOTAL / MEMBERS.length) return false;
  }
  return true;
}

async function waitSettled(faults: FaultFleet, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await settled(faults)) return Date.now() - start;
    await sleep(500);
  }
  return NaN;
}

async function measure(faults: FaultFleet, runtime: Running, fault: Fault): Promise<string[]> {
  progress(`fault: ${fault.what} on ${fault.target}`);
  const t0 = Date.now();
  const writesBefore = await counter(runtime, "fleetscale_member_scale_writes_total");
  await fault.inject(faults);
  await sleep(fault.holdMs);
  const healed = Date.now();
  const writesDuring = writesOf(runtime, t0).length;
  const writesCounterDuring = (await counter(runtime, "fleetscale_member_scale_writes_total")) - writesBefore;
  await faults.proxies[fault.target]!.heal();
  const settleMs = await waitSettled(faults, 180_000);
  const after = writesOf(runtime, healed);
  const detected =
    fault.target === "hub"
      ? runtime.lines.find((l) => l.time >= t0 && l.msg === "stopped leading")
      : unhealthyOf(runtime, t0, fault.target)[0];
  const wrongly = MEMBERS.filter((m) => m !== fault.target).reduce((sum, m) => sum + unhealthyOf(runtime, t0, m).length, 0);
  return [
    `${fault.what} (${fault.target})`,
    detected ? fmt(detected.time - t0) : "not detected",
    fault.target === "hub" ? `${writesCounterDuring} (counter)` : String(writesDuring),
    `${after.filter((w) => w.member === fault.target).length} / ${after.filter((w) => w.member !== fault.target).length}`,
    String(wrongly),
    `${fmt(faults.minReady(t0))} / ${N * TOTAL}`,
    fmt(settleMs),
  ];
}

async function main(): Promise<void> {
  const loadAtStart = load();
  progress(`${N} DSOs over ${MEMBERS.length} members, every cluster behind Toxiproxy`);
  const workloads = Array.from({ length: N }, (_, i) => name(i));
  const faults = await FaultFleet.start({ members: MEMBERS, workloads, total: TOTAL, gracePeriodMs: GRACE_MS, nodes: Math.max(1, Math.ceil((2 * N) / 110)) });
  try {
    const runtime = await faults.startRuntime("bench", { overrides: { memberTimeoutMs: MEMBER_TIMEOUT_MS, logLevel: "info" } });
    const placed = await waitSettled(faults, 600_000);
    if (Number.isNaN(placed)) throw new Error("the DSOs were not placed within 10 minutes");
    progress(`placed in ${fmt(placed)} ms`);
    faults.sample();
    await sleep(2_000);
    const rows: string[][] = [];
    for (const fault of FAULTS) rows.push(await measure(faults, runtime, fault));
    console.log(`\n${machine()}; ${N} DSOs x ${MEMBERS.length} members, total ${TOTAL} each; grace ${GRACE_MS / 1000} s, member timeout ${MEMBER_TIMEOUT_MS / 1000} s; ${loadAtStart} at start, ${load()} at the end\n`);
    console.log(
      table(
        ["fault (on)", "detect ms", "writes during", "writes after heal (faulted / others)", "healthy members taken for unhealthy", "lowest ready / expected", "heal -> settled ms"],
        rows,
      ),
    );
  } finally {
    await faults.stop();
  }
}

runBench(main);
