/**
 * The runtime under network faults as they happen in the wild, injected by a real proxy
 * (Toxiproxy, and nftables for connections going silent) between the runtime and every
 * cluster: the hub and both members are reached only through their proxies. The members
 * themselves keep running throughout (a partition, not a crash): their pods stay ready,
 * which the fleet's sampler checks by reading them directly, not through the proxies
 * (test/support/fault-fleet.ts).
 *
 * Each case states what must hold: time to detect, replica moves, ready capacity sampled
 * throughout, no exclusion of a member that is slow but answers within --member-timeout,
 * no churn after the fault clears, and no writes from a leader that lost the hub.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { FaultFleet, counter, stateOf, unhealthyOf, writesOf } from "../test/support/fault-fleet";
import type { WorkloadRef } from "../members/client";
import { eventually } from "../test/support/workloads";

const GRACE_MS = 10_000;
const MEMBER_TIMEOUT_MS = 5_000;
const web: WorkloadRef = { kind: "Deployment", namespace: "default", name: "web" };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("runtime under real network faults (every cluster behind a proxy)", () => {
  let faults: FaultFleet;
  const specs = async () => (await faults.specs("web")) as [number, number];
  const status = () => faults.status("web");
  const setTotal = (total: number) => faults.setTotal("web", total);
  const minReady = (since: number) => faults.minReady(since);
  const start = (identity: string, options: { direct?: boolean } = {}) => faults.startRuntime(identity, { ...options, overrides: { memberTimeoutMs: MEMBER_TIMEOUT_MS } });
  const proxies = () => faults.proxies;

  before(async () => {
    faults = await FaultFleet.start({ members: ["member-1", "member-2"], workloads: ["web"], total: 10, gracePeriodMs: GRACE_MS });
    await start("runtime-a");
    await eventually("5/5 placed and ready", async () => [...(await specs()), (await status()).totalCurrentReplicas], (s) => s[0] === 5 && s[1] === 5 && s[2] === 10, 30_000);
    faults.sample();
  });

  afterEach(async () => {
    for (const proxy of Object.values(faults.proxies)) await proxy.heal();
  });

  after(async () => {
    await faults?.stop();
  });

  it("2 s latency with jitter on a member: slow but answering within --member-timeout, it is never excluded and still scales", async () => {
    const a = faults.runtimes[0]!;
    const t0 = Date.now();
    await proxies()["member-2"]!.latency(2_000, 200);
    await setTotal(12);
    await eventually("6/6 through the slow link", specs, (s) => s[0] === 6 && s[1] === 6, 30_000);
    console.log(`# latency 2000±200 ms: member-2 raised 5 -> 6 after ${Date.now() - t0} ms`);
    await sleep(10_000);
    assert.deepEqual(unhealthyOf(a, t0, "member-2"), [], "member-2 was taken for unreachable");
    assert.equal(stateOf(await status(), "member-2"), "Ready");
    assert.ok(minReady(t0) >= 10, `ready capacity fell to ${minReady(t0)}`);
  });

  it("a narrow link (16 KB/s) to a member: it is never excluded and a change still reaches it", async () => {
    const a = faults.runtimes[0]!;
    const t0 = Date.now();
    await proxies()["member-2"]!.bandwidth(16);
    await setTotal(14);
    await eventually("7/7 through the narrow link", specs, (s) => s[0] === 7 && s[1] === 7, 30_000);
    await setTotal(12);
    await eventually("back to 6/6", specs, (s) => s[0] === 6 && s[1] === 6, 30_000);
    console.log(`# bandwidth 16 KB/s: two total changes reached member-2 in ${Date.now() - t0} ms`);
    assert.deepEqual(unhealthyOf(a, t0, "member-2"), [], "member-2 was taken for unreachable");
    assert.ok(minReady(t0) >= 12, `ready capacity fell to ${minReady(t0)}`);
  });

  it("connections reset for less than the grace period: seen at once, nothing moves, no churn after", async () => {
    const a = faults.runtimes[0]!;
    const t0 = Date.now();
    await proxies()["member-2"]!.resetPeer();
    const seen = await eventually("member-2 Unreachable", status, (s) => stateOf(s, "member-2") === "Unreachable", 15_000);
    const detectedMs = Date.parse(seen.memberClusterStatuses!["member-2"]!.lastStatusChangeTime) - t0;
    console.log(`# reset: member-2 seen unreachable after ${detectedMs} ms`);
    assert.match(seen.memberClusterStatuses!["member-2"]!.description, /ECONNRESET|UND_ERR_SOCKET|other side closed|socket/i);
    await sleep(Math.max(0, t0 + GRACE_MS / 2 - Date.now()));
    await proxies()["member-2"]!.heal();
    await eventually("member-2 Ready again", status, (s) => stateOf(s, "member-2") === "Ready", 30_000);
    await sleep(5_000);
    assert.deepEqual(writesOf(a, t0), [], "a fault shorter than the grace period moved replicas");
    assert.deepEqual(await specs(), [6, 6]);
    assert.ok(minReady(t0) >= 12, `ready capacity fell to ${minReady(t0)}`);
  });

  it("a blackholed member (packets vanish): detected within two timeouts, failed over after grace, keeps its pods, and gets them counted back without churn", async () => {
    const a = faults.runtimes[0]!;
    const t0 = Date.now();
    await proxies()["member-2"]!.blackhole();
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
    await proxies()["member-2"]!.heal();
    await eventually("member-1 gives its extra back", specs, (s) => s[0] === 6 && s[1] === 6, 90_000);
    console.log(`# blackhole healed: back to 6/6 after ${Date.now() - healed} ms`);
    await eventually("both Ready", status, (s) => stateOf(s, "member-1") === "Ready" && stateOf(s, "member-2") === "Ready", 30_000);
    assert.deepEqual(writesOf(a, t0, "member-2"), [], "member-2 was written although it kept its pods");
    assert.ok(minReady(t0) >= 12, `ready capacity fell to ${minReady(t0)}`);
    const m1 = writesOf(a, t0, "member-1").map((w) => `${w.from}->${w.to}`);
    assert.equal(m1.at(-1), "12->6");
    assert.ok(m1.length <= 4, `member-1 written ${m1.length} times: ${m1.join(", ")}`);
  });

  it("connections that go silent (watches included) while new ones work: the member is never excluded and a change made meanwhile is seen", async () => {
    const a = faults.runtimes[0]!;
    const t0 = Date.now();
    assert.ok((await proxies()["member-1"]!.silenceOpenConnections()) >= 2, "the runtime's watches were open");
    // Someone scales member-1 by hand while the runtime's watch hears nothing.
    await faults.admins["member-1"]!.scale(web, 2);
    await eventually("the runtime puts member-1 back to 6", specs, (s) => s[0] === 6, 60_000);
    console.log(`# silent connections: member-1's hand-made change undone after ${Date.now() - t0} ms`);
    assert.deepEqual(unhealthyOf(a, t0, "member-1"), [], "member-1 was taken for unreachable");
  });

  it("the hub unreachable for a while: the leader stops writing within its renew deadline, before a standby can take over; it resumes cleanly", async () => {
    const a = faults.runtimes[0]!;
    const b = await start("runtime-b", { direct: true });
    await eventually("b ready as standby", () => fetch(`http://127.0.0.1:${b.handle.healthPort}/readyz`).then((r) => r.status), (s) => s === 200, 15_000);
    assert.ok(a.handle.isLeader() && !b.handle.isLeader());

    const t0 = Date.now();
    await proxies().hub!.blackhole();
    // From here no request passes: a renewal that started before may still have landed while
    // the toxics were being added (two API calls), none that starts after.
    const blackholed = Date.now();
    const aStopped = await eventually("a stops leading", () => a.lines.find((l) => l.time >= t0 && l.msg === "stopped leading"), Boolean, 20_000);
    const bStarted = await eventually("b takes over", () => b.lines.find((l) => l.time >= t0 && l.msg === "became leader"), Boolean, 40_000);
    console.log(`# hub blackholed: a stopped leading after ${aStopped!.time - t0} ms, b took over after ${bStarted!.time - t0} ms`);
    assert.ok(aStopped!.time < bStarted!.time, "two leaders at once");
    // Its last renewal started before the blackhole was complete; the deadline is 10 s after that start.
    assert.ok(aStopped!.time - blackholed <= 10_500, `a led ${aStopped!.time - blackholed} ms after the blackhole was in place (${blackholed - t0} ms to add it)`);
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

    await proxies().hub!.heal();
    await eventually("a ready again, as standby", () => fetch(`http://127.0.0.1:${a.handle.healthPort}/readyz`).then((r) => r.status), (s) => s === 200, 20_000);
    assert.equal(a.handle.isLeader(), false);
    const handover = Date.now();
    await faults.stopRuntime(b);
    await eventually("a leads again", () => a.handle.isLeader(), Boolean, 30_000);
    await eventually("status current under a", status, (s) => s.totalCurrentReplicas === 14 && s.conditions?.find((c) => c.type === "Ready")?.status === "True", 30_000);
    assert.deepEqual(writesOf(a, handover), [], "a new term lowered or raised what already matched");
    assert.ok(minReady(t0) >= 12, `ready capacity fell to ${minReady(t0)}`);
  });
});
