/**
 * The runtime's options: command-line flags, each with an environment fallback so the
 * ScalerHub Deployment can configure it without arguments.
 */
import { hostname } from "node:os";
import { Command, InvalidArgumentError, Option } from "commander";
import { parseDuration } from "../engine/duration";
import { RUNTIME_LEASE_NAME } from "../schema/dso-names";

export interface RuntimeOptions {
  /** Path of the hub kubeconfig; undefined: in-cluster, else KUBECONFIG / ~/.kube/config. */
  kubeconfig?: string | undefined;
  /** Where member Secrets and the leader Lease live. */
  namespace: string;
  probeIntervalMs: number;
  memberTimeoutMs: number;
  /** A workload short of ready replicas for this long is observed as NotReady. */
  notReadyDeadlineMs: number;
  resyncIntervalMs: number;
  /** DSOs reconciled at once (status and Event writes get as many workers again). */
  workers: number;
  /** Client-side rate limit per member cluster: requests a second, and how many may go at once after a quiet spell. */
  memberQps: number;
  memberBurst: number;
  /** The same for the hub (status writes, Events, lists); the leader lease is outside it. */
  hubQps: number;
  hubBurst: number;
  /** 0 picks a free port (tests). */
  healthPort: number;
  metricsPort: number;
  leaseName: string;
  identity: string;
  logLevel: string;
}

export const DEFAULT_OPTIONS = {
  namespace: "fleetscale-system",
  probeIntervalMs: 2_000,
  memberTimeoutMs: 5_000,
  notReadyDeadlineMs: 5 * 60_000,
  resyncIntervalMs: 30_000,
  workers: 16,
  memberQps: 50,
  memberBurst: 100,
  hubQps: 50,
  hubBurst: 100,
  healthPort: 8080,
  metricsPort: 9090,
  leaseName: RUNTIME_LEASE_NAME,
  logLevel: "info",
} as const;

export function defaultIdentity(): string {
  return `${hostname()}-${process.pid}`;
}

function duration(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError('expected a positive duration such as "2s" or "5m"');
  return ms;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number of at least 1");
  return n;
}

function rate(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a positive number of requests per second, such as 50 or 0.5");
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError("expected a port number (0-65535)");
  return n;
}

/**
 * Flags from `argv` (without node and script), environment fallbacks from process.env.
 * Throws a CommanderError (with exitCode) on bad input instead of exiting, so main decides.
 */
export function parseOptions(argv: readonly string[]): RuntimeOptions {
  const d = DEFAULT_OPTIONS;
  const command = new Command("fleetscale-runtime")
    .description("Reconciles DistributedScaledObjects across the member clusters registered in the hub")
    .exitOverride()
    .addOption(new Option("--kubeconfig <path>", "hub kubeconfig (default: in-cluster, else KUBECONFIG or ~/.kube/config)"))
    .addOption(new Option("--namespace <name>", "namespace of member Secrets and the leader Lease").env("FLEETSCALE_NAMESPACE").default(d.namespace))
    .addOption(new Option("--probe-interval <duration>", "member health probe interval").env("FLEETSCALE_PROBE_INTERVAL").argParser(duration).default(d.probeIntervalMs, "2s"))
    .addOption(new Option("--member-timeout <duration>", "timeout of each member API request").env("FLEETSCALE_MEMBER_TIMEOUT").argParser(duration).default(d.memberTimeoutMs, "5s"))
    .addOption(new Option("--not-ready-deadline <duration>", "how long replicas may stay unready before the member counts as NotReady").env("FLEETSCALE_NOT_READY_DEADLINE").argParser(duration).default(d.notReadyDeadlineMs, "5m"))
    .addOption(new Option("--resync-interval <duration>", "reconcile every DSO at least this often").env("FLEETSCALE_RESYNC_INTERVAL").argParser(duration).default(d.resyncIntervalMs, "30s"))
    .addOption(new Option("--workers <n>", "DistributedScaledObjects reconciled at once").env("FLEETSCALE_WORKERS").argParser(positiveInteger).default(d.workers))
    .addOption(new Option("--member-qps <n>", "requests per second to each member cluster (client-side rate limit)").env("FLEETSCALE_MEMBER_QPS").argParser(rate).default(d.memberQps))
    .addOption(new Option("--member-burst <n>", "requests to a member that may go at once above its QPS").env("FLEETSCALE_MEMBER_BURST").argParser(positiveInteger).default(d.memberBurst))
    .addOption(new Option("--hub-qps <n>", "requests per second to the hub, leader election aside").env("FLEETSCALE_HUB_QPS").argParser(rate).default(d.hubQps))
    .addOption(new Option("--hub-burst <n>", "requests to the hub that may go at once above its QPS").env("FLEETSCALE_HUB_BURST").argParser(positiveInteger).default(d.hubBurst))
    .addOption(new Option("--health-port <port>", "port of /healthz and /readyz").env("FLEETSCALE_HEALTH_PORT").argParser(port).default(d.healthPort))
    .addOption(new Option("--metrics-port <port>", "port of /metrics").env("FLEETSCALE_METRICS_PORT").argParser(port).default(d.metricsPort))
    .addOption(new Option("--lease-name <name>", "leader election Lease in the runtime namespace").env("FLEETSCALE_LEASE_NAME").default(d.leaseName))
    .addOption(new Option("--identity <id>", "leader election identity").env("FLEETSCALE_IDENTITY").default(undefined, "hostname-pid"))
    .addOption(new Option("--log-level <level>", "pino log level").env("FLEETSCALE_LOG_LEVEL").choices(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default(d.logLevel));

  command.parse(argv, { from: "user" });
  const o = command.opts<{
    kubeconfig?: string;
    namespace: string;
    probeInterval: number;
    memberTimeout: number;
    notReadyDeadline: number;
    resyncInterval: number;
    workers: number;
    memberQps: number;
    memberBurst: number;
    hubQps: number;
    hubBurst: number;
    healthPort: number;
    metricsPort: number;
    leaseName: string;
    identity?: string;
    logLevel: string;
  }>();
  return {
    kubeconfig: o.kubeconfig,
    namespace: o.namespace,
    probeIntervalMs: o.probeInterval,
    memberTimeoutMs: o.memberTimeout,
    notReadyDeadlineMs: o.notReadyDeadline,
    resyncIntervalMs: o.resyncInterval,
    workers: o.workers,
    memberQps: o.memberQps,
    memberBurst: o.memberBurst,
    hubQps: o.hubQps,
    hubBurst: o.hubBurst,
    healthPort: o.healthPort,
    metricsPort: o.metricsPort,
    leaseName: o.leaseName,
    identity: o.identity ?? defaultIdentity(),
    logLevel: o.logLevel,
  };
}
