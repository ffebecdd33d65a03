/**
 * The runtime under network faults as they happen in the wild, injected by a real proxy
 * (Toxiproxy, and nftables for connections going silent) between the runtime and every
 * cluster: the hub and both members are reached only through their proxies. The members
 * themselves keep running throughout (a partition, not a crash): their pods stay ready,
 * which the sampler below checks by reading them directly, not through the proxies.
 *
 * Each case states what must hold: time to detect, replica moves, ready capacity sampled
 * throughout, no exclusion of a member that is slow but answers within --member-timeout,
 * no churn after the fault clears, and no writes from a leader that lost the hub.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import type * as k8s from "@kubernetes/client-node";
import { MemberClient, type WorkloadRef } from "../members/client";
import { clientNode } from "../members/client-node";
import { HubClient } from "../members/hub";
import { dsoCrdManifest } from "../schema/crd";
import type { DsoStatus } from "../schema/dso";
import { API_GROUP, API_VERSION, PLURAL } from "../schema/dso-names";
import { LocalFleet } from "../test/support/fleet";
import { onboardMember } from "../test/support/onboard";
import { startTestRuntime } from "../test/support/runtime";
import { type ToxiProxy, Toxiproxy, throughProxy } from "../test/support/toxiproxy";
import { deployment, eventually } from "../test/support/workloads";
import type { RuntimeHandle } from "./runtime";

const HUB_NAMESPACE = "fleetscale-system";
const MEMBERS = ["member-1", "member-2"] as const;
type Member = (typeof MEMBERS)[number];
const GRACE_MS = 10_000;
const MEMBER_TIMEOUT_MS = 5_000;
const web: WorkloadRef = { kind: "Deployment", namespace: "default", name: "web" };

interface LogLine {
  time: number;
  msg: string;
  member?: string;
  from?: number;
  to?: number;
}

interface Running {
  identity: string;
  handle: RuntimeHandle;
  lines: LogLine[];
}

interface Sample {
  at: number;
  ready: Record<Member, number>;
  spec: Record<Member, number>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("runtime under real network faults (every cluster behind a proxy)", () => {
  let fleet: LocalFleet;
  let toxiproxy: Toxiproxy;
  const proxies = {} as Record<"hub" | Member, ToxiProxy>;
  let admins: Record<Member, MemberClient>;
  let hub: HubClient;
  let custom: k8s.CustomObjectsApi;
  let hubThroughProxy: string;
  const runtimes: Running[] = [];
  const samples: Sample[] = [];
  let sampling: NodeJS.Timeout | undefined;

  async function start(identity: string, kubeconfigPath: string): Promise<Running> {
    const running: Running = { identity, handle: undefined as unknown as RuntimeHandle, lines: [] };
    running.handle = await startTestRuntime(kubeconfigPath, HUB_NAMESPACE, identity, (line) => {
      const parsed = JSON.parse(line) as Omit<LogLine, "time"> & { time: string };
      running.lines.push({ ...parsed, time: Date.parse(parsed.time) });
    }, {
      memberTimeoutMs: MEMBER_TIMEOUT_MS,
    });
    runtimes.push(running);
    return running;
  }

  /** Reads both members directly (admin, no proxy) every 200 ms: what really runs. */
  function sample(): void {
    sampling = setInterval(() => {
      void Promise.all(MEMBERS.map((m) => admins[m].readReplicas(web))).then(
        ([a, b]) => samples.push({ at: Date.now(), ready: { "member-1": a!.readyReplicas, "member-2": b!.readyReplicas }, spec: { "member-1": a!.desired, "member-2": b!.desired } }),
        () => undefined,
      );
    }, 200);
  }
  const samplesSince = (t: number) => samples.filter((s) => s.at >= t);
  const minReady = (t: number) => Math.min(...samplesSince(t).map((s) => s.ready["member-1"] + s.ready["member-2"]));

  async function specs(): Promise<[number, number]> {
    const [a, b] = await Promise.all(MEMBERS.map((m) => admins[m].readReplicas(web)));
    return [a!.desired, b!.desired];
  }
  async function status(): Promise<DsoStatus> {
    return ((await hub.distributedScaledObject("default", "web"))?.status ?? {}) as DsoStatus;
  }
  const stateOf = (s: DsoStatus, member: Member) => s.memberClusterStatuses?.[member]?.state;
  const writes = (running: Running, since: number, member?: Member) =>
    running.lines.filter((l) => l.msg === "scaled" && l.time >= since && (member === undefined || l.member === member));
  const unhealthy = (running: Running, since: number, member: Member) =>
    running.lines.filter((l) => l.msg === "member unhealthy" && l.time >= since && l.member === member);
  async function setTotal(total: number): Promise<void> {
    const body = [{ op: "replace", path: "/spec/totalTargetReplicas", value: total }];
    await custom.patchNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: "default", plural: PLURAL, name: "web", body });
  }
  async function counter(running: Running, name: string): Promise<number> {
    const metric = await running.handle.metrics.registry.getSingleMetric(name)!.get();
    return metric.values.reduce((sum, v) => sum + v.value, 0);
  }

  before(async () => {
    fleet = LocalFleet.start({ clusters: ["hub", ...MEMBERS] });
    toxiproxy = await Toxiproxy.start();
    for (const cluster of ["hub", ...MEMBERS] as const) {
      proxies[cluster] = await toxiproxy.proxy(cluster, new URL(fleet.cluster(cluster).server).host);
    }
    for (const member of MEMBERS) {
      onboardMember(fleet, { hub: "hub", member, hubNamespace: HUB_NAMESPACE, through: (k) => throughProxy(k, proxies[member].listen) });
      fleet.apply(member, deployment("web", 1));
    }
    fleet.apply("hub", dsoCrdManifest());
    const crd = "distributedscaledobjects.fleetscale.io";
    await eventually("CRD established", () => fleet.kubectl("hub", "get", "crd", crd, "-o", 'jsonpath={.status.conditions[?(@.type=="Established")].status}'), (s) => s === "True");
    hub = new HubClient(fleet.kubeconfig("hub"));
    const config = new (clientNode().KubeConfig)();
    config.loadFromString(fleet.kubeconfig("hub"));
    custom = config.makeApiClient(clientNode().CustomObjectsApi);
    admins = { "member-1": new MemberClient("member-1", fleet.kubeconfig("member-1")), "member-2": new MemberClient("member-2", fleet.kubeconfig("member-2")) };
    hubThroughProxy = join(mkdtempSync(join(tmpdir(), "fleetscale-faults-")), "hub.kubeconfig");
    writeFileSync(hubThroughProxy, throughProxy(fleet.kubeconfig("hub"), proxies.hub.listen));

    fleet.apply("hub", {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: "DistributedScaledObject",
      metadata: { name: "web", namespace: "default" },
      spec: {
        memberClusters: [
          { name: "member-1", weight: 1 },
          { name: "member-2", weight: 1 },
        ],
        rebalancingPolicy: { gracePeriod: `${GRACE_MS / 1000}s` },
        scaledObjectSpec: { scaleTargetRef: { name: "web" } },
        totalTargetReplicas: 10,
      },
    });
    await start("runtime-a", hubThroughProxy);
    await eventually("5/5 placed and ready", async () => [...(await specs()), (await status()).totalCurrentReplicas], (s) => s[0] === 5 && s[1] === 5 && s[2] === 10, 30_000);
    sample();
  });

  afterEach(async () => {
    for (const proxy of Object.values(proxies)) await proxy.heal();
  });

  after(async () => {
    clearInterval(sampling);
    for (const running of runtimes.splice(0)) await running.handle.stop();
    await toxiproxy?.stop();
    fleet?.down();
  });

  it("2 s latency with jitter on a member: slow but answering within --member-timeout, it is never excluded and still scales", async () => {
    const a = runtimes[0]!;
    const t0 = Date.now();
    await proxies["member-2"].latency(2_000, 200);
    await setTotal(12);
    await eventually("6/6 through the slow link", specs, (s) => s[0] === 6 && s[1] === 6, 30_000);
    console.log(`# latency 2000±200 ms: member-2 raised 5 -> 6 after ${Date.now() - t0} ms`);
    await sleep(10_000);
    assert.deepEqual(unhealthy(a, t0, "member-2"), [], "member-2 was taken for unreachable");
    assert.equal(stateOf(await status(), "member-2"), "Ready");
    assert.ok(minReady(t0) >= 10, `ready capacity fell to ${minReady(t0)}`);
  });

  it("connections reset for less than the grace period: seen at once, nothing moves, no churn after", async () => {
    const a = runtimes[0]!;
    const t0 = Date.now();
    await proxies["member-2"].resetPeer();
    const seen = await eventually("member-2 Unreachable", status, (s) => stateOf(s, "member-2") === "Unreachable", 15_000);
    const detectedMs = Date.parse(seen.memberClusterStatuses!["member-2"]!.lastStatusChangeTime) - t0;
    console.log(`# reset: member-2 seen unreachable after ${detectedMs} ms`);
    assert.match(seen.memberClusterStatuses!["member-2"]!.description, /ECONNRESET|UND_ERR_SOCKET|other side closed|socket/i);
    await sleep(Math.max(0, t0 + GRACE_MS / 2 - Date.now()));
    await proxies["member-2"].heal();
    await eventually("member-2 Ready again", status, (s) => stateOf(s, "member-2") === "Ready", 30_000);
    await sleep(5_000);
    assert.deepEqual(writes(a, t0), [], "a fault shorter than the grace period moved replicas");
    assert.deepEqual(await specs(), [6, 6]);
    assert.ok(minReady(t0) >= 12, `ready capacity fell to ${minReady(t0)}`);
  });

  it("a blackholed member (packets vanish): detected within two timeouts, failed over after grace, keeps its pods, and gets them counted back without churn", async () => {
    const a = runtimes[0]!;
    const t0 = Date.now();
    await proxies["member-2"].blackhole();
    const seen = await eventually("member-2 Unreachable", status, (s) => stateOf(s, "member-2") === "Unreachable", 2 * MEMBER_TIMEOUT_MS + 10_000);
    const failedAt = Date.parse(seen.memberClusterStatuses!["member-2"]!.lastStatusChangeTime);
    console.log(`# blackhole: member-2 seen unreachable after ${failedAt - t0} ms`);
    assert.ok(failedAt - t0 <= 2 * MEMBER_TIMEOUT_MS + 2_000, `detected after ${failedAt - t0} ms`);
    while (Date.now() < failedAt + GRACE_MS - 1_000) {
      assert.equal((await specs())[0], 6, "nothing moves within the grace period");
      await sleep(250);
    }
    await eventually("member-1 covers the total", specs, (s) => s[0] === 12, 20_000);
    const moved = Date.now() - (failedAt + GRACE_MS);
    console.log(`# blackhole: member-1 at 12 ${moved} ms after the grace end`);
    assert.ok(moved < 10_000, `survivor raised ${moved} ms after the grace end`);
    // The member's own pods keep running through the partition.
    assert.equal((await specs())[1], 6);

    const healed = Date.now();
    await proxies["member-2"].heal();
    await eventually("member-1 gives its extra back", specs, (s) => s[0] === 6 && s[1] === 6, 90_000);
    console.log(`# blackhole healed: back to 6/6 after ${Date.now() - healed} ms`);
    await eventually("both Ready", status, (s) => stateOf(s, "member-1") === "Ready" && stateOf(s, "member-2") === "Ready", 30_000);
    assert.deepEqual(writes(a, t0, "member-2"), [], "member-2 was written although it kept its pods");
    assert.ok(minReady(t0) >= 12, `ready capacity fell to ${minReady(t0)}`);
    const m1 = writes(a, t0, "member-1").map((w) => `${w.from}->${w.to}`);
    assert.equal(m1.at(-1), "12->6");
    assert.ok(m1.length <= 4, `member-1 written ${m1.length} times: ${m1.join(", ")}`);
  });

  it("connections that go silent (watches included) while new ones work: the member is never excluded and a change made meanwhile is seen", async () => {
    const a = runtimes[0]!;
    const t0 = Date.now();
    assert.ok((await proxies["member-1"].silenceOpenConnections()) >= 2, "the runtime's watches were open");
    // Someone scales member-1 by hand while the runtime's watch hears nothing.
    await admins["member-1"].scale(web, 2);
    await eventually("the runtime puts member-1 back to 6", specs, (s) => s[0] === 6, 60_000);
    console.log(`# silent connections: member-1's hand-made change undone after ${Date.now() - t0} ms`);
    assert.deepEqual(unhealthy(a, t0, "member-1"), [], "member-1 was taken for unreachable");
  });

  it("the hub unreachable for a while: the leader stops writing within its renew deadline, before a standby can take over; it resumes cleanly", async () => {
    const a = runtimes[0]!;
    const b = await start("runtime-b", fleet.cluster("hub").kubeconfig);
    await eventually("b ready as standby", () => fetch(`http://127.0.0.1:${b.handle.healthPort}/readyz`).then((r) => r.status), (s) => s === 200, 15_000);
    assert.ok(a.handle.isLeader() && !b.handle.isLeader());

    const t0 = Date.now();
    await proxies.hub.blackhole();
    const aStopped = await eventually("a stops leading", () => a.lines.find((l) => l.time >= t0 && l.msg === "stopped leading"), Boolean, 20_000);
    const bStarted = await eventually("b takes over", () => b.lines.find((l) => l.time >= t0 && l.msg === "became leader"), Boolean, 40_000);
    console.log(`# hub blackholed: a stopped leading after ${aStopped!.time - t0} ms, b took over after ${bStarted!.time - t0} ms`);
    assert.ok(aStopped!.time < bStarted!.time, "two leaders at once");
    // Its last renewal was at most one renew interval (5 s) before the outage; the deadline is 10 s after it.
    assert.ok(aStopped!.time - t0 <= 10_500, `a led ${aStopped!.time - t0} ms into the outage`);
    assert.ok(bStarted!.time - aStopped!.time >= 4_000, `b took over ${bStarted!.time - aStopped!.time} ms after a stopped`);
    const aWrites = await counter(a, "fleetscale_member_scale_writes_total");
    const readyz = await fetch(`http://127.0.0.1:${a.handle.healthPort}/readyz`);
    assert.equal(readyz.status, 503);
    assert.equal(await readyz.text(), "hub not answering\n");
    assert.match(await (await fetch(`http://127.0.0.1:${a.handle.metricsPort}/metrics`)).text(), /fleetscale_hub_reachable 0/);

    // b does the work meanwhile; a, cut off from the hub, writes nothing.
    await setTotal(14);
    await eventually("7/7 by b", specs, (s) => s[0] === 7 && s[1] === 7, 20_000);
    assert.equal(await counter(a, "fleetscale_member_scale_writes_total"), aWrites, "a wrote while it could not renew its lease");

    await proxies.hub.heal();
    await eventually("a ready again, as standby", () => fetch(`http://127.0.0.1:${a.handle.healthPort}/readyz`).then((r) => r.status), (s) => s === 200, 20_000);
    assert.equal(a.handle.isLeader(), false);
    const handover = Date.now();
    await b.handle.stop();
    runtimes.splice(runtimes.indexOf(b), 1);
    await eventually("a leads again", () => a.handle.isLeader(), Boolean, 30_000);
    await eventually("status current under a", status, (s) => s.totalCurrentReplicas === 14 && s.conditions?.find((c) => c.type === "Ready")?.status === "True", 30_000);
    assert.deepEqual(writes(a, handover), [], "a new term lowered or raised what already matched");
    assert.ok(minReady(t0) >= 12, `ready capacity fell to ${minReady(t0)}`);
  });
});
