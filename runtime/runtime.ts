/**
 * The runtime assembled: hub caches (DSOs in all namespaces, member Secrets in the
 * runtime namespace), member connections, the reconciler, leader election and the HTTP
 * endpoints. startRuntime is what main runs and what tests run in-process.
 */
import type pino from "pino";
import { type DsoObject, DSO_PATH, HubClient } from "../members/hub";
import { loadHubConfig } from "./kube";
import { LeaderElector, type LeaderTiming } from "./leader";
import { type Logger, createLogger } from "./log";
import { MemberRegistry } from "./member-registry";
import { RuntimeMetrics } from "./metrics";
import type { RuntimeOptions } from "./options";
import { Reconciler, type TotalSource } from "./reconciler";
import { serveHealth, serveMetrics } from "./servers";
import { autoscaledTotal } from "./total/source";
import { WatchedCache } from "./watch";
import { TokenBucket } from "../members/token-bucket";

export interface StartOptions extends RuntimeOptions {
  /** Where logs go (default stdout). */
  logDestination?: pino.DestinationStream;
  /** The fleet-wide total per DSO (default: the declared total, driven by KEDA or the built-in trigger). */
  total?: TotalSource;
  /** Leader election timing (default: 15 s lease renewed every 2 s, renew deadline 10 s). */
  leaderTiming?: LeaderTiming;
}

export interface RuntimeHandle {
  identity: string;
  healthPort: number;
  metricsPort: number;
  metrics: RuntimeMetrics;
  log: Logger;
  isLeader(): boolean;
  /** Stops watches and reconciles, releases the lease, closes the servers. */
  stop(): Promise<void>;
}

const COMPONENT = "fleetscale-runtime";
/** First retry of a failed reconcile or status write; doubles per failure in a row, up to a minute. */
const RETRY_MS = 1_000;

export async function startRuntime(options: StartOptions): Promise<RuntimeHandle> {
  const log = createLogger({ level: options.logLevel, identity: options.identity, destination: options.logDestination });
  // Work (watches, status, Events, lists) shares one rate-limited set of connections; the
  // lease has its own, unlimited, so a burst of work never delays the renewal.
  const config = loadHubConfig(options.kubeconfig, new TokenBucket({ qps: options.hubQps, burst: options.hubBurst }));
  const leaseConfig = loadHubConfig(options.kubeconfig);
  const metrics = new RuntimeMetrics();
  const hub = new HubClient(config, { component: COMPONENT, instance: options.identity });

  let elector: LeaderElector | undefined;
  const cachesSynced = () => dsos.synced && members.secrets.synced;
  // A leader writes only while its lease is fresh (renew deadline, by the clock) and its
  // hub caches are current: nothing is written to members from a stale picture.
  const isLeader = () => (elector?.isLeader() ?? false) && cachesSynced();
  // The elector starts once the caches first synced; from then on, the hub's silence says the most.
  const notReady = () => (elector !== undefined && !elector.hubReachable() ? "hub not answering" : !cachesSynced() ? "hub caches not synced" : undefined);
  // Campaign only once the hub caches are complete: a leader planning from a partial
  // member list would first plan without the members it has not seen yet. Current again
  // after an outage: every DSO is looked at afresh.
  const hubCacheState = () => {
    if (!cachesSynced()) return;
    if (elector !== undefined) return reconciler.triggerAll();
    elector = new LeaderElector(leaseConfig, options.namespace, options.leaseName, options.identity, leadership, log, options.leaderTiming);
    elector.start();
  };

  const dsos = new WatchedCache<DsoObject>({
    what: "watch distributedscaledobjects",
    config,
    path: DSO_PATH,
    list: () => hub.listDsos(),
    onChange: (change, dso) => reconciler.dsoChanged(change, dso),
    onState: hubCacheState,
    log,
  });
  const settings = {
    probeIntervalMs: options.probeIntervalMs,
    memberTimeoutMs: options.memberTimeoutMs,
    notReadyDeadlineMs: options.notReadyDeadlineMs,
    qps: options.memberQps,
    burst: options.memberBurst,
  };
  const members = new MemberRegistry(
    hub,
    options.namespace,
    settings,
    {
      health: (member) => reconciler.memberHealthChanged(member),
      workload: (member, ref) => reconciler.workloadChanged(member, ref),
      membership: () => reconciler.triggerAll(),
    },
    metrics,
    log,
    hubCacheState,
  );
  const total = options.total ?? autoscaledTotal(config, log, { changed: (key) => reconciler.totalInputChanged(key) });
  const reconciler = new Reconciler({
    hub,
    dsos,
    members,
    isLeader,
    total,
    settings: { resyncIntervalMs: options.resyncIntervalMs, retryMs: RETRY_MS, workers: options.workers },
    metrics,
    log,
  });
  metrics.observe({ queueDepth: () => reconciler.depth, hubReachable: () => elector?.hubReachable() ?? false });
  const leadership = {
    started: () => {
      metrics.leader.set(1);
      reconciler.resume();
    },
    stopped: () => {
      metrics.leader.set(0);
      reconciler.pause();
    },
  };

  const health = await serveHealth(options.healthPort, notReady);
  const metricsServer = await serveMetrics(options.metricsPort, metrics.registry);
  dsos.start();
  members.start();
  log.info({ namespace: options.namespace, healthPort: health.port, metricsPort: metricsServer.port }, "runtime started");

  let stopping: Promise<void> | undefined;
  return {
    identity: options.identity,
    healthPort: health.port,
    metricsPort: metricsServer.port,
    metrics,
    log,
    isLeader,
    stop: () =>
      (stopping ??= (async () => {
        // A reconcile in flight finishes while we still lead (so its status is written), then the lease goes.
        reconciler.pause();
        await reconciler.drain();
        await elector?.stop();
        await Promise.all([dsos.stop(), members.stop(), total.stop?.(), health.close(), metricsServer.close()]);
        log.info("runtime stopped");
        log.flush();
      })()),
  };
}
