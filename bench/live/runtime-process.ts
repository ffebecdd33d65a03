/**
 * The runtime as the ScalerHub Deployment runs it: a separate process, `node
 * dist/runtime/main.js --kubeconfig <hub> --namespace fleetscale-system` (the Deployment sets
 * no other flag; extra flags only when a bench asks for them), so that its memory and CPU
 * are its own and the bench's recording cannot be mistaken for the runtime's.
 *
 * What the bench can see of it: /proc/<pid>/status (VmRSS, VmHWM) and /proc/<pid>/stat
 * (CPU), its /metrics, and its log (JSON lines on stdout). The log is NOT kept: every line's
 * msg is counted (a map of a few dozen names), and only the lines a bench asks for
 * (`wanted`) are parsed and handed to `onLine`; the bench decides what to keep.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { freePort } from "../../test/support/toxiproxy";
import { eventually } from "../../test/support/workloads";
import type { LogLine } from "./support";

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86_64/arm64

export interface RuntimeProcess {
  child: ChildProcess;
  pid: number;
  metricsPort: number;
  healthPort: number;
  args: string[];
  /** Lines seen per msg (every line; nothing else of them is kept). */
  counts: Map<string, number>;
  /** Lines seen per msg and member, for "member unhealthy". */
  unhealthyBy: Map<string, number>;
  /** Called with the parsed lines whose msg is in `wanted`. */
  onLine?: ((line: LogLine) => void) | undefined;
  /** VmRSS and VmHWM (peak) in MiB, from /proc/<pid>/status. */
  memory(): { rss: number; hwm: number };
  /** user + system CPU seconds so far, from /proc/<pid>/stat. */
  cpuSeconds(): number;
  /** Scrapes /metrics; returns the sum of every series per metric name asked for (other names are skipped unparsed). */
  metrics(names: readonly string[]): Promise<{ values: Map<string, number>; ms: number; bytes: number }>;
  stop(): Promise<void>;
}

/** Msgs a bench usually needs as parsed lines (times, members, DSOs). */
export const WANTED = new Set(["member unhealthy", "member health changed", "scaled", "scale failed", "stopped leading", "became leader"]);

export async function startRuntimeProcess(kubeconfigPath: string, namespace: string, identity: string, extraArgs: readonly string[] = [], wanted: ReadonlySet<string> = WANTED): Promise<RuntimeProcess> {
  const [healthPort, metricsPort] = [await freePort(), await freePort()];
  const main = join(__dirname, "../../runtime/main.js");
  const args = ["--kubeconfig", kubeconfigPath, "--namespace", namespace, "--identity", identity, "--health-port", String(healthPort), "--metrics-port", String(metricsPort), ...extraArgs];
  const child = spawn(process.execPath, [main, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const running: RuntimeProcess = {
    child,
    pid: child.pid!,
    metricsPort,
    healthPort,
    args: extraArgs.slice(),
    counts: new Map(),
    unhealthyBy: new Map(),
    memory() {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
      return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
    },
    cpuSeconds() {
      const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8");
      // Fields after the command name (which may hold spaces) start at field 3; utime and stime are fields 14 and 15.
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
    },
    async metrics(names) {
      const t0 = performance.now();
      const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(60_000) });
      const text = await response.text();
      const ms = performance.now() - t0;
      const values = new Map<string, number>();
      // Lines start with the metric name; only the asked-for ones are split.
      for (const line of text.split("\n")) {
        if (line.startsWith("#")) continue;
        const end = line.search(/[{ ]/);
        const name = line.slice(0, end);
        if (!names.includes(name)) continue;
        const value = Number(line.slice(line.lastIndexOf(" ") + 1));
        values.set(name, (values.get(name) ?? 0) + value);
      }
      return { values, ms, bytes: text.length };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
  // pino writes msg last; a field before it may hold a "msg" of its own (e.g. an Event's message).
  const msgOf = /"msg":"((?:[^"\\]|\\.)*)"\}\s*$/;
  createInterface({ input: child.stdout! }).on("line", (text) => {
    const msg = msgOf.exec(text)?.[1];
    if (msg === undefined) return;
    running.counts.set(msg, (running.counts.get(msg) ?? 0) + 1);
    if (!wanted.has(msg)) return;
    const line = JSON.parse(text) as LogLine;
    if (typeof line.time === "string") line.time = Date.parse(line.time);
    if (msg === "member unhealthy") running.unhealthyBy.set(String(line.member), (running.unhealthyBy.get(String(line.member)) ?? 0) + 1);
    running.onLine?.(line);
  });
  child.once("exit", (code, signal) => {
    if (code !== 0 && signal !== "SIGTERM") process.stderr.write(`# runtime process exited: code ${code}, signal ${signal}\n`);
  });
  await eventually(
    "runtime process leads",
    () => running.metrics(["fleetscale_leader"]).then((m) => m.values.get("fleetscale_leader") ?? 0, () => 0),
    (v) => v === 1,
    60_000,
  );
  return running;
}
