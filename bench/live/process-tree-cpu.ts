/**
 * CPU time (user + system) of the processes a `pulumi` command runs, by kind: the CLI, the
 * language host, the program's Node.js process, the Kubernetes provider plugins and the
 * dynamic provider's Node.js process. Less sensitive to the machine's load than wall time.
 *
 * Linux /proc, sampled every 20 ms while the command runs: every process under a `pulumi`
 * child of this process, by pid and start time, keeps the last CPU time seen. A process's
 * last 20 ms can be missed, so the sums are a little low; the kind is decided when a process
 * is first seen (a zombie's command line is empty).
 */
import { readFileSync, readdirSync } from "node:fs";

export type ProcessKind = "pulumi CLI" | "language host" | "program (node)" | "Kubernetes providers" | "dynamic provider (node)" | "other";
export const PROCESS_KINDS: readonly ProcessKind[] = ["pulumi CLI", "language host", "program (node)", "Kubernetes providers", "dynamic provider (node)", "other"];

const TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  cpuSeconds: number;
  startTicks: string;
}

function readStat(pid: string): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // comm may hold spaces and parentheses: the fields after it start after the last ")".
  const close = text.lastIndexOf(")");
  const fields = text.slice(close + 2).split(" ");
  return {
    pid: Number(pid),
    ppid: Number(fields[1]),
    comm: text.slice(text.indexOf("(") + 1, close),
    cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND,
    startTicks: fields[19]!,
  };
}

function kindOf(stat: ProcStat): ProcessKind {
  if (stat.comm === "pulumi") return "pulumi CLI";
  if (stat.comm.startsWith("pulumi-language")) return "language host";
  if (stat.comm.startsWith("pulumi-resource")) return "Kubernetes providers";
  if (stat.comm !== "node") return "other";
  let args = "";
  try {
    args = readFileSync(`/proc/${stat.pid}/cmdline`, "utf8");
  } catch {
    // exited
  }
  if (args.includes("dynamic-provider/index.js")) return "dynamic provider (node)";
  if (args.includes("cmd/run")) return "program (node)";
  return "other";
}

/** Samples the `pulumi` commands this process runs until stopped; `stop()` gives CPU seconds by kind. */
export function sampleProcessTreeCpu(intervalMs = 20): { stop(): Record<ProcessKind, number> } {
  const seen = new Map<string, { kind: ProcessKind; cpuSeconds: number }>();
  const sample = () => {
    const stats = new Map<number, ProcStat>();
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = readStat(entry);
      if (stat) stats.set(stat.pid, stat);
    }
    const underPulumi = (stat: ProcStat): boolean => {
      for (let current: ProcStat | undefined = stat, depth = 0; current && depth < 20; current = stats.get(current.ppid), depth++) {
        if (current.comm === "pulumi" && current.ppid === process.pid) return true;
      }
      return false;
    };
    for (const stat of stats.values()) {
      if (!underPulumi(stat)) continue;
      const key = `${stat.pid}:${stat.startTicks}`;
      const known = seen.get(key);
      seen.set(key, { kind: known?.kind ?? kindOf(stat), cpuSeconds: stat.cpuSeconds });
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const byKind = Object.fromEntries(PROCESS_KINDS.map((kind) => [kind, 0])) as Record<ProcessKind, number>;
      for (const { kind, cpuSeconds } of seen.values()) byKind[kind] += cpuSeconds;
      return byKind;
    },
  };
}

export const totalCpu = (byKind: Record<ProcessKind, number>): number => Object.values(byKind).reduce((sum, seconds) => sum + seconds, 0);
