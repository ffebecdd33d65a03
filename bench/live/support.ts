/**
 * Shared pieces of the live benchmarks (bench/*.bench.ts against a real local fleet):
 * statistics, markdown tables, machine load, a fleet with onboarded members and the DSO
 * CRD, and a runtime started in this process with its log lines kept.
 */
import { execFile } from "node:child_process";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type * as k8s from "@kubernetes/client-node";
import { clientNode } from "../../members/client-node";
import { DEFAULT_OPTIONS } from "../../runtime/options";
import { type RuntimeHandle, type StartOptions, startRuntime } from "../../runtime/runtime";
import { dsoCrdManifest } from "../../schema/crd";
import { API_GROUP, API_VERSION, PLURAL } from "../../schema/dso-names";
import type { DsoStatus } from "../../schema/dso";
import { LocalFleet, fleetBinDir } from "../../test/support/fleet";
import { deployment } from "../../test/support/workloads";
import { onboardMember } from "../../test/support/onboard";
import { type ToxiProxy, type Toxiproxy, throughProxy } from "../../test/support/toxiproxy";
import { eventually } from "../../test/support/workloads";

export const HUB_NAMESPACE = "fleetscale-system";
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const run = promisify(execFile);

// ---------------------------------------------------------------- statistics and output

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: p99 of 200 samples is the 198th smallest.
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}
export const median = (values: readonly number[]) => {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
export const min = (values: readonly number[]) => (values.length === 0 ? NaN : Math.min(...values));
export const max = (values: readonly number[]) => (values.length === 0 ? NaN : Math.max(...values));

export function fmt(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function table(header: readonly string[], rows: readonly (readonly string[])[], numericFrom = 1): string {
  const align = header.map((_, i) => (i >= numericFrom ? "---:" : "---"));
  return [`| ${header.join(" | ")} |`, `| ${align.join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

/** "load 3.12 / 4.01 / 4.50" (1, 5, 15 min). */
export function load(): string {
  return `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" / ")}`;
}

export function machine(): string {
  return `${cpus().length} vCPU ${cpus()[0]?.model.trim() ?? "?"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

/** Logs progress to stderr so stdout carries only the markdown result. */
export function progress(message: string): void {
  process.stderr.write(`# ${new Date().toISOString().slice(11, 23)} ${message} (${load()})\n`);
}

// ---------------------------------------------------------------- fleet

export interface BenchFleet {
  fleet: LocalFleet;
  members: string[];
  custom: k8s.CustomObjectsApi;
  /** `fleet stop|start <cluster>` without blocking the event loop. */
  fleetCommand(verb: "stop" | "start", cluster: string): Promise<void>;
  /** kubectl without blocking the event loop. */
  kubectl(cluster: string, ...args: string[]): Promise<string>;
  kubectlInput(cluster: string, input: string, ...args: string[]): Promise<string>;
  /** With `toxiproxy`: member -> the proxy the runtime reaches it through (the bench's kubectl goes direct). */
  proxies: Record<string, ToxiProxy>;
}

/**
 * Hub + members, members onboarded, DSO CRD established. `nodes`: kwok nodes per cluster
 * (launcher default 1, 110 pods each). `toxiproxy`: every member gets a proxy and is onboarded
 * through it (the kubeconfig stored in the hub points at the proxy), so a fault on the proxy
 * is seen by the runtime only; the member itself keeps running.
 */
export async function startFleet(members: readonly string[], options: { nodes?: number; toxiproxy?: Toxiproxy } = {}): Promise<BenchFleet> {
  const started = Date.now();
  const clusters = ["hub", ...members];
  const fleet = LocalFleet.start({ clusters, nodes: options.nodes });
  try {
    progress(`fleet of ${members.length + 1} clusters${options.nodes === undefined ? "" : ` with ${options.nodes} kwok nodes each`} up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const proxies: Record<string, ToxiProxy> = {};
    for (const member of members) {
      const proxy = options.toxiproxy === undefined ? undefined : await options.toxiproxy.proxy(member, new URL(fleet.cluster(member).server).host);
      if (proxy) proxies[member] = proxy;
      onboardMember(fleet, { hub: "hub", member, hubNamespace: HUB_NAMESPACE, ...(proxy ? { through: (k: string) => throughProxy(k, proxy.listen) } : {}) });
    }
    fleet.apply("hub", dsoCrdManifest());
    const crd = `${PLURAL}.${API_GROUP}`;
    await eventually("CRD established", () => fleet.kubectl("hub", "get", "crd", crd, "-o", 'jsonpath={.status.conditions[?(@.type=="Established")].status}'), (s) => s === "True");
    const config = new (clientNode().KubeConfig)();
    config.loadFromString(fleet.kubeconfig("hub"));
    const custom = config.makeApiClient(clientNode().CustomObjectsApi);
    const kubectl = async (cluster: string, ...args: string[]) =>
      (await run(join(fleetBinDir(), "kubectl"), ["--kubeconfig", fleet.cluster(cluster).kubeconfig, ...args], { maxBuffer: 512 * 2 ** 20 })).stdout;
    const kubectlInput = (cluster: string, input: string, ...args: string[]) =>
      new Promise<string>((resolve, reject) => {
        const child = execFile(join(fleetBinDir(), "kubectl"), ["--kubeconfig", fleet.cluster(cluster).kubeconfig, ...args], { maxBuffer: 512 * 2 ** 20 }, (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
        );
        child.stdin!.end(input);
      });
    const fleetCommand = async (verb: "stop" | "start", cluster: string) => {
      await run(join(fleetBinDir(), "fleet"), [verb, "--dir", fleet.dir, cluster]);
    };
    return { fleet, members: [...members], custom, fleetCommand, kubectl, kubectlInput, proxies };
  } catch (error) {
    fleet.down();
    throw error;
  }
}

export function deploymentList(names: readonly string[], replicas: number, namespace = "default"): string {
  return JSON.stringify({ apiVersion: "v1", kind: "List", items: names.map((name) => deployment(name, replicas, namespace)) });
}

export function dsoManifest(
  name: string,
  options: { target?: string; members: { name: string; weight: number }[]; total: number; grace?: string; maxRebalancePercentage?: number; namespace?: string },
) {
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: "DistributedScaledObject",
    metadata: { name, namespace: options.namespace ?? "default" },
    spec: {
      memberClusters: options.members,
      rebalancingPolicy: { gracePeriod: options.grace ?? "5s", maxRebalancePercentage: options.maxRebalancePercentage ?? 25 },
      scaledObjectSpec: { scaleTargetRef: { name: options.target ?? name } },
      totalTargetReplicas: options.total,
    },
  };
}

export async function patchDso(custom: k8s.CustomObjectsApi, name: string, patch: { op: string; path: string; value: unknown }[], namespace = "default"): Promise<void> {
  await custom.patchNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: PLURAL, name, body: patch });
}

/** DSO status as the runtime writes it (schema/dso.ts). */
export type DsoStatusView = DsoStatus;

export async function dsoStatus(custom: k8s.CustomObjectsApi, name: string, namespace = "default"): Promise<DsoStatusView> {
  const dso = (await custom.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: PLURAL, name })) as { status?: DsoStatusView };
  return dso.status ?? {};
}

// ---------------------------------------------------------------- runtime in this process

export interface LogLine {
  msg: string;
  /** Epoch ms (converted from the runtime's ISO time). */
  time: number;
  member?: string;
  from?: number;
  to?: number;
  dso?: string;
  [key: string]: unknown;
}

export interface Running {
  handle: RuntimeHandle;
  lines: LogLine[];
  onLine?: (line: LogLine) => void;
}

/** `start`: another build's startRuntime (its dist/runtime/runtime.js), to measure it beside this one. */
export async function startBenchRuntime(fleet: LocalFleet, identity: string, overrides: Partial<StartOptions> = {}, start: typeof startRuntime = startRuntime): Promise<Running> {
  const running: Running = { handle: undefined as unknown as RuntimeHandle, lines: [] };
  running.handle = await start({
    ...DEFAULT_OPTIONS,
    kubeconfig: fleet.cluster("hub").kubeconfig,
    namespace: HUB_NAMESPACE,
    healthPort: 0,
    metricsPort: 0,
    identity,
    logLevel: "info",
    logDestination: {
      write: (text: string) => {
        const line = JSON.parse(text) as LogLine;
        // The runtime logs ISO times (pino isoTime); LogLine.time is epoch ms.
        if (typeof line.time === "string") line.time = Date.parse(line.time);
        // Keep what the benchmarks count and every warning or error, not every line (1,000 DSOs log a lot).
        const warning = typeof line.level === "number" && line.level >= 40;
        if (warning || line.msg === "scaled" || line.msg === "member unhealthy" || line.msg === "member health changed" || line.msg === "reconcile failed" || line.msg === "became leader") {
          running.lines.push(line);
        }
        running.onLine?.(line);
      },
    },
    ...overrides,
  });
  await eventually("runtime leads", () => running.handle.isLeader(), (l) => l, 30_000);
  return running;
}

export async function counter(running: Running, name: string): Promise<number> {
  const metric = await running.handle.metrics.registry.getSingleMetric(name)!.get();
  return metric.values.reduce((sum, v) => sum + v.value, 0);
}

/**
 * The fleet launcher's components of one cluster that are not running (by their pid
 * files). `fleet start` returns once the API server answers; under load we have seen the
 * scheduler fail to bind its port on restart and exit, leaving new pods Pending.
 */
export async function deadComponents(fleet: LocalFleet, cluster: string): Promise<string[]> {
  const { readdirSync, readFileSync } = await import("node:fs");
  const dir = join(fleet.dir, "kwok", "clusters", cluster, "pids");
  await sleep(1_500);
  const dead: string[] = [];
  for (const file of readdirSync(dir)) {
    const pid = Number(readFileSync(join(dir, file), "utf8").trim());
    try {
      process.kill(pid, 0);
    } catch {
      dead.push(file.replace(/\.pid$/, ""));
    }
  }
  return dead;
}

/** `fleet start`, repeated (stop + start) while a component did not come up; returns the components that had to be restarted. */
export async function startCluster(bench: BenchFleet, cluster: string): Promise<string[]> {
  const restarted: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    await bench.fleetCommand("start", cluster);
    const dead = await deadComponents(bench.fleet, cluster);
    if (dead.length === 0) return restarted;
    progress(`${cluster}: ${dead.join(", ")} did not come up after fleet start; stopping and starting it again`);
    restarted.push(...dead);
    await bench.fleetCommand("stop", cluster);
  }
  throw new Error(`${cluster}: components still dead after 3 starts`);
}

/** Runs a benchmark's main and exits with its outcome (fleets and runtimes are stopped in its finally). */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
