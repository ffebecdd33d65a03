/**
 * A local fleet with every cluster behind its own Toxiproxy proxy, for the fault tests and
 * the network-fault benchmark: members onboarded through their proxies (the kubeconfig in
 * the hub names the proxy), a hub kubeconfig through the hub's proxy for the runtime, DSOs
 * with a Deployment of the same name in every member, runtimes started in this process with
 * their log lines kept, and a sampler that reads what really runs in the members directly
 * (admin, no proxy) every 200 ms: the ready capacity a fault must not take away.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as k8s from "@kubernetes/client-node";
import { MemberClient, type WorkloadRef } from "../../members/client";
import { clientNode } from "../../members/client-node";
import { HubClient } from "../../members/hub";
import type { RuntimeOptions } from "../../runtime/options";
import type { RuntimeHandle } from "../../runtime/runtime";
import { dsoCrdManifest } from "../../schema/crd";
import type { DsoStatus } from "../../schema/dso";
import { API_GROUP, API_VERSION, PLURAL } from "../../schema/dso-names";
import { LocalFleet } from "./fleet";
import { onboardMember } from "./onboard";
import { startTestRuntime } from "./runtime";
import { type ToxiProxy, Toxiproxy, throughProxy } from "./toxiproxy";
import { deployment, eventually } from "./workloads";

export const HUB_NAMESPACE = "fleetscale-system";

export interface FaultFleetOptions {
  members: readonly string[];
  /** A DSO of each name, weight 1 per member, over a Deployment of the same name in every member. */
  workloads: readonly string[];
  total: number;
  gracePeriodMs: number;
  /** kwok nodes per cluster (110 pods each). */
  nodes?: number;
}

export interface LogLine {
  /** Epoch ms. */
  time: number;
  msg: string;
  member?: string;
  from?: number;
  to?: number;
}

export interface Running {
  identity: string;
  handle: RuntimeHandle;
  lines: LogLine[];
}

interface Sample {
  at: number;
  /** Ready replicas summed over the workloads, per member. */
  ready: Record<string, number>;
}

export class FaultFleet {
  readonly proxies: Record<string, ToxiProxy> = {};
  readonly admins: Record<string, MemberClient> = {};
  readonly runtimes: Running[] = [];
  readonly hub: HubClient;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly samples: Sample[] = [];
  private sampling: NodeJS.Timeout | undefined;
  private hubThroughProxy = "";

  private constructor(
    readonly fleet: LocalFleet,
    readonly toxiproxy: Toxiproxy,
    readonly options: FaultFleetOptions,
  ) {
    this.hub = new HubClient(fleet.kubeconfig("hub"));
    this.custom = this.hub.config.makeApiClient(clientNode().CustomObjectsApi);
  }

  static async start(options: FaultFleetOptions): Promise<FaultFleet> {
    const fleet = LocalFleet.start({ clusters: ["hub", ...options.members], nodes: options.nodes });
    let toxiproxy: Toxiproxy | undefined;
    try {
      toxiproxy = await Toxiproxy.start();
      const faults = new FaultFleet(fleet, toxiproxy, options);
      await faults.setUp();
      return faults;
    } catch (error) {
      await toxiproxy?.stop();
      fleet.down();
      throw error;
    }
  }

  private async setUp(): Promise<void> {
    const { fleet, options } = this;
    for (const cluster of ["hub", ...options.members]) {
      this.proxies[cluster] = await this.toxiproxy.proxy(cluster, new URL(fleet.cluster(cluster).server).host);
    }
    for (const member of options.members) {
      onboardMember(fleet, { hub: "hub", member, hubNamespace: HUB_NAMESPACE, through: (k) => throughProxy(k, this.proxies[member]!.listen) });
      fleet.apply(member, ...options.workloads.map((w) => deployment(w, 1)));
      this.admins[member] = new MemberClient(member, fleet.kubeconfig(member));
    }
    fleet.apply("hub", dsoCrdManifest());
    const crd = "distributedscaledobjects.fleetscale.io";
    await eventually("CRD established", () => fleet.kubectl("hub", "get", "crd", crd, "-o", 'jsonpath={.status.conditions[?(@.type=="Established")].status}'), (s) => s === "True");
    this.hubThroughProxy = join(mkdtempSync(join(tmpdir(), "fleetscale-faults-")), "hub.kubeconfig");
    writeFileSync(this.hubThroughProxy, throughProxy(fleet.kubeconfig("hub"), this.proxies.hub!.listen));
    fleet.apply(
      "hub",
      ...options.workloads.map((name) => ({
        apiVersion: `${API_GROUP}/${API_VERSION}`,
        kind: "DistributedScaledObject",
        metadata: { name, namespace: "default" },
        spec: {
          memberClusters: options.members.map((m) => ({ name: m, weight: 1 })),
          rebalancingPolicy: { gracePeriod: `${options.gracePeriodMs / 1000}s` },
          scaledObjectSpec: { scaleTargetRef: { name } },
          totalTargetReplicas: options.total,
        },
      })),
    );
  }

  /** A runtime in this process; through the hub's proxy unless `direct`. */
  async startRuntime(identity: string, options: { direct?: boolean; overrides?: Partial<RuntimeOptions> } = {}): Promise<Running> {
    const running: Running = { identity, handle: undefined as unknown as RuntimeHandle, lines: [] };
    const kubeconfig = options.direct ? this.fleet.cluster("hub").kubeconfig : this.hubThroughProxy;
    running.handle = await startTestRuntime(
      kubeconfig,
      HUB_NAMESPACE,
      identity,
      (line) => {
        const parsed = JSON.parse(line) as Omit<LogLine, "time"> & { time: string };
        running.lines.push({ ...parsed, time: Date.parse(parsed.time) });
      },
      options.overrides,
    );
    this.runtimes.push(running);
    return running;
  }

  async stopRuntime(running: Running): Promise<void> {
    await running.handle.stop();
    this.runtimes.splice(this.runtimes.indexOf(running), 1);
  }

  /** Starts reading every member's Deployments directly every 200 ms. */
  sample(): void {
    const names = new Set(this.options.workloads);
    const appsOf = Object.fromEntries(Object.entries(this.admins).map(([m, client]) => [m, client.config.makeApiClient(clientNode().AppsV1Api)]));
    this.sampling = setInterval(() => {
      void Promise.all(
        this.options.members.map(async (m) => {
          const list = await appsOf[m]!.listNamespacedDeployment({ namespace: "default" });
          return list.items.filter((d) => names.has(d.metadata?.name ?? "")).reduce((sum, d) => sum + (d.status?.readyReplicas ?? 0), 0);
        }),
      ).then(
        (ready) => this.samples.push({ at: Date.now(), ready: Object.fromEntries(this.options.members.map((m, i) => [m, ready[i]!])) }),
        () => undefined,
      );
    }, 200);
  }

  /** The lowest ready capacity (all members, all workloads) sampled since `since`. */
  minReady(since: number): number {
    return Math.min(...this.samples.filter((s) => s.at >= since).map((s) => Object.values(s.ready).reduce((a, b) => a + b, 0)));
  }

  /** spec.replicas of `workload` per member, read directly. */
  async specs(workload: string): Promise<number[]> {
    const ref: WorkloadRef = { kind: "Deployment", namespace: "default", name: workload };
    return Promise.all(this.options.members.map(async (m) => (await this.admins[m]!.readReplicas(ref)).desired));
  }

  async status(workload: string): Promise<DsoStatus> {
    return ((await this.hub.distributedScaledObject("default", workload))?.status ?? {}) as DsoStatus;
  }

  async statuses(): Promise<Map<string, DsoStatus>> {
    const list = await this.hub.listDsos();
    return new Map(list.items.map((d) => [d.metadata?.name ?? "", (d.status ?? {}) as DsoStatus]));
  }

  async setTotal(workload: string, total: number): Promise<void> {
    const body = [{ op: "replace", path: "/spec/totalTargetReplicas", value: total }];
    await this.custom.patchNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: "default", plural: PLURAL, name: workload, body });
  }

  async stop(): Promise<void> {
    clearInterval(this.sampling);
    for (const running of this.runtimes.splice(0)) await running.handle.stop();
    await this.toxiproxy.stop();
    this.fleet.down();
  }
}

export const writesOf = (running: Running, since: number, member?: string) =>
  running.lines.filter((l) => l.msg === "scaled" && l.time >= since && (member === undefined || l.member === member));
export const unhealthyOf = (running: Running, since: number, member?: string) =>
  running.lines.filter((l) => l.msg === "member unhealthy" && l.time >= since && (member === undefined || l.member === member));
export const stateOf = (status: DsoStatus, member: string) => status.memberClusterStatuses?.[member]?.state;

export async function counter(running: Running, name: string): Promise<number> {
  const metric = await running.handle.metrics.registry.getSingleMetric(name)!.get();
  return metric.values.reduce((sum, v) => sum + v.value, 0);
}
