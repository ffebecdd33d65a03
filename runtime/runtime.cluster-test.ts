import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import type * as k8s from "@kubernetes/client-node";
import { HubClient } from "../members/hub";
import { MemberClient, type WorkloadRef } from "../members/client";
import { dsoCrdManifest } from "../schema/crd";
import type { DsoStatus } from "../schema/dso";
import { API_GROUP, API_VERSION, PLURAL } from "../schema/dso-names";
import { LocalFleet, fleetBinDir } from "../test/support/fleet";
import { onboardMember } from "../test/support/onboard";
import { deployment, eventually } from "../test/support/workloads";
import { clientNode } from "../members/client-node";
import type { RuntimeOptions } from "./options";
import type { RuntimeHandle } from "./runtime";
import { startTestRuntime } from "../test/support/runtime";
import { freePort } from "../test/support/toxiproxy";

const HUB_NAMESPACE = "fleetscale-system";
const MEMBERS = ["member-1", "member-2"] as const;
const GRACE_MS = 5_000;
const web: WorkloadRef = { kind: "Deployment", namespace: "default", name: "web" };

interface LogLine {
  msg: string;
  identity: string;
  member?: string;
  from?: number;
  to?: number;
  [key: string]: unknown;
}

/** A runtime started in this process, with its log lines kept for assertions. */
interface Running {
  handle: RuntimeHandle;
  lines: LogLine[];
  /** Sees each log line as it is written. */
  onLine?: (line: LogLine) => void;
}

type Status = DsoStatus;


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const run = promisify(execFile);

describe("runtime on a real fleet", () => {
  let fleet: LocalFleet;
  let hub: HubClient;
  let custom: k8s.CustomObjectsApi;
  let admins: Map<string, MemberClient>;
  let tokens: string[];
  const runtimes: Running[] = [];
  /** Every log line of every runtime started here, stopped ones included. */
  const logText: string[] = [];

  async function start(identity: string, overrides: Partial<RuntimeOptions> = {}): Promise<Running> {
    const running: Running = { handle: undefined as unknown as RuntimeHandle, lines: [] };
    const onLine = (line: string) => {
      logText.push(line);
      const parsed = JSON.parse(line) as LogLine;
      running.lines.push(parsed);
      running.onLine?.(parsed);
    };
    running.handle = await startTestRuntime(fleet.cluster("hub").kubeconfig, HUB_NAMESPACE, identity, onLine, overrides);
    runtimes.push(running);
    return running;
  }

  async function stop(running: Running): Promise<void> {
    await running.handle.stop();
    runtimes.splice(runtimes.indexOf(running), 1);
  }

  /** Without blocking the event loop: the runtime under test runs in this process. */
  async function fleetCommand(verb: "stop" | "start", cluster: string): Promise<void> {
    await run(join(fleetBinDir(), "fleet"), [verb, "--dir", fleet.dir, cluster]);
  }

  async function status(name = "web"): Promise<Status> {
    const dso = await hub.distributedScaledObject("default", name);
    return (dso?.status ?? {}) as Status;
  }

  async function patchSpec(patch: { op: string; path: string; value: unknown }[], name = "web"): Promise<void> {
    await custom.patchNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: "default", plural: PLURAL, name, body: patch });
  }

  async function specs(ref = web): Promise<(number | undefined)[]> {
    return Promise.all(MEMBERS.map((m) => admins.get(m)!.readReplicas(ref).then((r) => r.desired, () => undefined)));
  }

  async function readyTotal(): Promise<number> {
    const ready = await Promise.all(MEMBERS.map((m) => admins.get(m)!.readReplicas(web).then((r) => r.readyReplicas, () => 0)));
    return ready[0]! + ready[1]!;
  }

  async function counter(running: Running, name: string): Promise<number> {
    const metric = await running.handle.metrics.registry.getSingleMetric(name)!.get();
    return metric.values.reduce((sum, v) => sum + v.value, 0);
  }

  const scaled = (running: Running) => running.lines.filter((l) => l.msg === "scaled");
  const memberState = (s: Status, member: string) => s.memberClusterStatuses?.[member]?.state;
  const condition = (s: Status, type: string) => s.conditions?.find((c) => c.type === type);

  before(async () => {
    fleet = LocalFleet.start();
    tokens = MEMBERS.map((member) => {
      const kubeconfig = onboardMember(fleet, { hub: "hub", member, hubNamespace: HUB_NAMESPACE });
      fleet.apply(member, deployment("web", 1), deployment("web2", 1));
      return /token: (\S+)/.exec(kubeconfig)![1]!;
    });
    fleet.apply("hub", dsoCrdManifest());
    const crd = "distributedscaledobjects.fleetscale.io";
    await eventually("CRD established", () => fleet.kubectl("hub", "get", "crd", crd, "-o", 'jsonpath={.status.conditions[?(@.type=="Established")].status}'), (s) => s === "True");
    hub = new HubClient(fleet.kubeconfig("hub"));
    const config = new (clientNode().KubeConfig)();
    config.loadFromString(fleet.kubeconfig("hub"));
    custom = config.makeApiClient(clientNode().CustomObjectsApi);
    admins = new Map(MEMBERS.map((m) => [m, new MemberClient(m, fleet.kubeconfig(m), { timeoutMs: 1_000 })]));
  });

  after(async () => {
    for (const running of [...runtimes]) await running.handle.stop();
    fleet?.down();
  });

  it("(a) places 10 replicas 4/6 with status, and a new total of 20 reaches every member", async () => {
    const a = await start("runtime-a");
    const health = await fetch(`http://127.0.0.1:${a.handle.healthPort}/healthz`);
    assert.equal(health.status, 200);
    await eventually("ready", () => fetch(`http://127.0.0.1:${a.handle.healthPort}/readyz`).then((r) => r.status), (s) => s === 200, 10_000);

    fleet.apply("hub", {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: "DistributedScaledObject",
      metadata: { name: "web", namespace: "default" },
      spec: {
        memberClusters: [
          { name: "member-1", weight: 4 },
          { name: "member-2", weight: 6 },
        ],
        rebalancingPolicy: { gracePeriod: "5s", maxRebalancePercentage: 25 },
        scaledObjectSpec: { scaleTargetRef: { name: "web" } },
        totalTargetReplicas: 10,
      },
    });
    await eventually("4/6 placed", specs, (s) => s[0] === 4 && s[1] === 6, 20_000);
    const placed = await eventually("status shows both ready", () => status(), (s) => condition(s, "Ready")?.status === "True" && s.totalCurrentReplicas === 10, 20_000);
    assert.equal(placed.membersHealthyCount, 2);
    assert.equal(placed.membersTotalCount, 2);
    assert.equal(placed.selector, "app=web");
    assert.equal(placed.observedGeneration, 1);
    assert.equal(condition(placed, "Active")?.status, "True");
    for (const [member, replicas] of [["member-1", 4], ["member-2", 6]] as const) {
      const m = placed.memberClusterStatuses![member]!;
      assert.deepEqual(
        { state: m.state, description: m.description, currentReplicas: m.currentReplicas, desiredReplicas: m.desiredReplicas, excluded: m.excluded },
        { state: "Ready", description: "Cluster is healthy", currentReplicas: replicas, desiredReplicas: replicas, excluded: false },
      );
      assert.equal(m.id, `${HUB_NAMESPACE}/fleetscale-member-${member}+fleetscale-scaler@${member}`);
      assert.ok(!Number.isNaN(Date.parse(m.lastStatusChangeTime)));
    }
    const events = fleet.kubectl("hub", "get", "events", "-n", "default", "--field-selector", "involvedObject.name=web", "-o", "jsonpath={.items[*].reason}");
    assert.match(events, /Rebalanced/);

    const changed = Date.now();
    await patchSpec([{ op: "replace", path: "/spec/totalTargetReplicas", value: 20 }]);
    await eventually("8/12 placed", specs, (s) => s[0] === 8 && s[1] === 12, 20_000);
    const reaction = Date.now() - changed;
    console.log(`# total change 10 -> 20 reached every member in ${reaction} ms`);
    await eventually("status follows", () => status(), (s) => s.totalCurrentReplicas === 20 && condition(s, "Ready")?.status === "True" && s.observedGeneration === 2, 20_000);

    const metrics = await (await fetch(`http://127.0.0.1:${a.handle.metricsPort}/metrics`)).text();
    assert.match(metrics, /fleetscale_member_desired_replicas\{workload="default\/web",member="member-2"\} 12/);
    assert.match(metrics, /fleetscale_member_healthy\{member="member-1"\} 1/);
    assert.match(metrics, /fleetscale_rebalances_total\{workload="default\/web",reason="Rebalanced"\} [2-9]/);
    assert.match(metrics, /fleetscale_reconcile_duration_seconds_count \d+/);
  });

  it("(f) an invalid DSO the CRD admits gets Ready=False/InvalidSpec naming every bad field, and moves nothing", async () => {
    // The CRD cannot check min <= max of scaledObjectSpec nor that the name is a DNS label; the zod schema does.
    fleet.apply("hub", {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: "DistributedScaledObject",
      metadata: { name: "bad.web", namespace: "default" },
      spec: { scaledObjectSpec: { scaleTargetRef: { name: "web2" }, minReplicaCount: 5, maxReplicaCount: 2 }, totalTargetReplicas: 4 },
    });
    const invalid = await eventually("InvalidSpec", () => status("bad.web"), (s) => condition(s, "Ready")?.reason === "InvalidSpec", 20_000);
    const ready = condition(invalid, "Ready")!;
    assert.equal(ready.status, "False");
    assert.match(ready.message, /metadata\.name: must be a DNS-1123 label/);
    assert.match(ready.message, /spec\.scaledObjectSpec\.minReplicaCount: minReplicaCount must not exceed maxReplicaCount/);
    await sleep(1_500);
    assert.deepEqual(await specs({ ...web, name: "web2" }), [1, 1]);
    assert.equal(scaled(runtimes[0]!).filter((l) => String(l.dso).includes("bad.web")).length, 0);
    fleet.kubectl("hub", "delete", "dso", "bad.web", "-n", "default");
  });

  it("(b) a stopped member moves nothing within the grace period, then its share goes to the other member", async () => {
    const a = runtimes[0]!;
    const stopped = Date.now();
    // Stopping the whole control plane takes seconds after the API server is gone: watch meanwhile.
    const stopping = fleetCommand("stop", "member-2");
    const unreachable = await eventually("member-2 Unreachable", () => status(), (s) => memberState(s, "member-2") === "Unreachable", 10_000);
    assert.equal(unreachable.memberClusterStatuses!["member-2"]!.excluded, false);
    assert.match(unreachable.memberClusterStatuses!["member-2"]!.description, /ECONNREFUSED|no answer|not connected/);
    const failedAt = Date.parse(unreachable.memberClusterStatuses!["member-2"]!.lastStatusChangeTime);
    console.log(`# member-2 seen unreachable ${failedAt - stopped} ms after its API server stopped`);

    // Within the grace period member-1 keeps its 8.
    while (Date.now() < failedAt + GRACE_MS - 500) {
      assert.equal((await specs())[0], 8, "nothing moves within the grace period");
      await sleep(200);
    }
    await eventually("member-1 takes the whole total", specs, (s) => s[0] === 20, 15_000);
    const failover = Date.now() - (failedAt + GRACE_MS);
    console.log(`# failover: member-1 at 20 replicas ${failover} ms after the grace period ended`);
    const excluded = await eventually("status says Excluded", () => status(), (s) => memberState(s, "member-2") === "Excluded", 10_000);
    const m2 = excluded.memberClusterStatuses!["member-2"]!;
    assert.deepEqual([m2.excluded, m2.desiredReplicas, m2.currentReplicas], [true, 0, 0]);
    assert.equal(excluded.membersHealthyCount, 1);
    assert.equal(condition(excluded, "Ready")?.reason, "MembersUnhealthy");
    assert.ok(scaled(a).some((l) => l.member === "member-1" && l.from === 8 && l.to === 20));
    await stopping;
  });

  it("(c) a member back from an outage keeps the pods it ran; after probation the other member gives its share back, make-before-break", async () => {
    const a = runtimes[0]!;
    let lowest = Infinity;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        lowest = Math.min(lowest, await readyTotal());
        await sleep(50);
      }
    })();
    const firstWrite = scaled(a).length;
    try {
      await fleetCommand("start", "member-2");
      const back = Date.now();
      await eventually("member-2 Recovering", () => status(), (s) => memberState(s, "member-2") === "Recovering", 20_000);
      await eventually("back to 8/12", specs, (s) => s[0] === 8 && s[1] === 12, 40_000);
      console.log(`# recovery: 8/12 again ${Date.now() - back} ms after member-2's API server answered`);
      await eventually("status Ready", () => status(), (s) => memberState(s, "member-2") === "Ready" && condition(s, "Ready")?.status === "True", 20_000);
    } finally {
      sampling = false;
      await sampler;
    }
    assert.ok(lowest >= 20, `ready capacity fell to ${lowest}`);
    const writes = scaled(a).slice(firstWrite);
    console.log(`# recovery writes: ${writes.map((w) => `${w.member} ${w.from}->${w.to}`).join(", ")}`);
    // The hub could not lower member-2 while it was away, and its pods kept their spec of 12 in
    // its own etcd: it is neither lowered nor raised on its return. member-1 only gives back.
    assert.deepEqual(writes.filter((w) => w.member === "member-2"), [], "member-2's pods were kept, not deleted and recreated");
    assert.ok(writes.length > 0 && writes.every((w) => w.member === "member-1" && w.to! < w.from!), JSON.stringify(writes));
    const events = fleet.kubectl("hub", "get", "events", "-n", "default", "--field-selector", "involvedObject.name=web", "-o", "jsonpath={.items[*].reason}");
    assert.match(events, /MemberExcluded/);
    assert.match(events, /MemberRecovering/);
  });

  it("(c2) a member flapping faster than the grace period moves no replica", async () => {
    const a = runtimes[0]!;
    await patchSpec([{ op: "replace", path: "/spec/rebalancingPolicy/gracePeriod", value: "30s" }]);
    const before = await specs();
    const firstWrite = scaled(a).length;
    try {
      for (let flap = 0; flap < 2; flap++) {
        await fleetCommand("stop", "member-2");
        await eventually("member-2 Unreachable", () => status(), (s) => memberState(s, "member-2") === "Unreachable", 10_000);
        await fleetCommand("start", "member-2");
        await eventually("member-2 Ready", () => status(), (s) => memberState(s, "member-2") === "Ready", 20_000);
      }
    } finally {
      await patchSpec([{ op: "replace", path: "/spec/rebalancingPolicy/gracePeriod", value: `${GRACE_MS / 1000}s` }]);
    }
    assert.deepEqual(scaled(a).slice(firstWrite), [], "a flap within the grace period must not move replicas");
    assert.deepEqual(await specs(), before);
  });

  it("(d) stopped mid-rebalance and started again, a runtime resumes the same plan without needless moves", async () => {
    const a = runtimes[0]!;
    const before = scaled(a).length;
    // Stopped as the first step is written: the step in flight completes (status included), no further one starts.
    let stopped: Promise<void> | undefined;
    let stopCalled = false;
    a.onLine = (line) => {
      if (line.msg !== "scaled" || stopCalled) return;
      stopCalled = true;
      stopped = stop(a);
    };
    await patchSpec([
      { op: "replace", path: "/spec/memberClusters/0/weight", value: 6 },
      { op: "replace", path: "/spec/memberClusters/1/weight", value: 4 },
      { op: "replace", path: "/spec/rebalancingPolicy/maxRebalancePercentage", value: 10 },
    ]);
    await eventually("first step written", () => stopCalled, (called) => called, 10_000);
    await stopped;
    assert.equal(scaled(a).length, before + 1, "one write of the first step");
    const interrupted = await specs();
    assert.notDeepEqual(interrupted, [12, 8], "stopped mid-rebalance");
    await sleep(1_000);
    assert.deepEqual(await specs(), interrupted, "nothing moves while no runtime runs");

    const b = await start("runtime-b");
    await eventually("converged to 12/8", specs, (s) => s[0] === 12 && s[1] === 8, 30_000);
    // Settled as the status shows it: Ready, and every member's Deployment down to its count
    // (pods of a scale-down still terminating count in status.replicas for a moment).
    const settledStatus = (s: Status) =>
      condition(s, "Ready")?.status === "True" &&
      s.memberClusterStatuses?.["member-1"]?.desiredReplicas === 12 &&
      Object.values(s.memberClusterStatuses ?? {}).every((m) => m.currentReplicas === m.desiredReplicas);
    await eventually("status Ready and settled", () => status(), settledStatus, 20_000);
    const resumed = scaled(b);
    // Each write continues the move in the same direction, within 10% of 20, never back.
    for (const w of resumed) {
      assert.ok(w.member === "member-1" ? w.to! > w.from! : w.to! < w.from!, `write against the plan: ${JSON.stringify(w)}`);
      assert.ok(Math.abs(w.to! - w.from!) <= 2, `step ${JSON.stringify(w)} exceeds the budget`);
    }
    // A restart once converged writes nothing at all, to members or to status. The status
    // to keep is the one b leaves: stopping drains its last status write.
    await stop(b);
    const settled = await status();
    const c = await start("runtime-c");
    await eventually("c leads", () => c.handle.isLeader(), (l) => l, 10_000);
    await sleep(3_000);
    // The status first: when a write happened, its diff says why.
    assert.deepEqual(await status(), settled, "status kept as it was");
    assert.equal(await counter(c, "fleetscale_member_scale_writes_total"), 0);
    assert.equal(await counter(c, "fleetscale_status_writes_total"), 0);
  });

  it("(e) with two runtimes only the lease holder writes; the other takes over when it stops", async () => {
    const c = runtimes[0]!;
    const d = await start("runtime-d");
    await eventually("d ready as standby", () => fetch(`http://127.0.0.1:${d.handle.healthPort}/readyz`).then((r) => r.status), (s) => s === 200, 10_000);
    await patchSpec([{ op: "replace", path: "/spec/totalTargetReplicas", value: 14 }]);
    await eventually("8/6 placed", specs, (s) => s[0] === 8 && s[1] === 6, 20_000);
    await sleep(1_000);
    assert.ok(c.handle.isLeader() && !d.handle.isLeader());
    assert.ok((await counter(c, "fleetscale_member_scale_writes_total")) > 0);
    assert.equal(await counter(d, "fleetscale_member_scale_writes_total"), 0, "the standby never scales");
    assert.equal(await counter(d, "fleetscale_status_writes_total"), 0, "the standby never writes status");
    assert.ok(d.lines.every((l) => l.msg !== "became leader"));

    const stopping = Date.now();
    await stop(c);
    await eventually("d leads", () => d.handle.isLeader(), (l) => l, 10_000);
    console.log(`# takeover: standby leads ${Date.now() - stopping} ms after the leader stopped`);
    await patchSpec([{ op: "replace", path: "/spec/totalTargetReplicas", value: 10 }]);
    await eventually("6/4 placed by the new leader", specs, (s) => s[0] === 6 && s[1] === 4, 20_000);
    assert.ok((await counter(d, "fleetscale_member_scale_writes_total")) > 0);
  });

  it("main.js runs as the Deployment runs it: standby, then leader, and on SIGTERM releases the lease and exits 0", async () => {
    const [healthPort, metricsPort] = await Promise.all([freePort(), freePort()]);
    const child = spawn(process.execPath, [join(__dirname, "main.js"), "--kubeconfig", fleet.cluster("hub").kubeconfig, "--health-port", String(healthPort), "--metrics-port", String(metricsPort), "--identity", "main-js"], {
      env: { ...process.env, FLEETSCALE_NAMESPACE: HUB_NAMESPACE },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      await eventually("main.js ready", () => fetch(`http://127.0.0.1:${healthPort}/readyz`).then((r) => r.status, () => 0), (s) => s === 200, 15_000);
      await stop(runtimes[0]!);
      await eventually("main.js leads", () => stdout, (text) => text.includes('"msg":"became leader"'), 10_000);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0);
    const lines = stdout.trim().split("\n").map((line) => JSON.parse(line) as LogLine);
    assert.ok(lines.every((l) => l.identity === "main-js"));
    assert.ok(lines.some((l) => l.msg === "leader lease released"));
    assert.equal(fleet.kubectl("hub", "get", "lease", "fleetscale-runtime", "-n", HUB_NAMESPACE, "-o", "jsonpath={.spec.holderIdentity}"), "");
    logText.push(stdout);
  });

  it("(g) a member whose workload is deleted, or cannot get its replicas ready, is failed over after grace and recovers once fixed", async () => {
    const g = await start("runtime-g", { notReadyDeadlineMs: 3_000 });
    await eventually("g leads", () => g.handle.isLeader(), (l) => l, 20_000);
    const web2 = { ...web, name: "web2" };
    const states: string[] = [];
    /** Waits for a status, keeping every distinct member-2 state passed on the way. */
    const until = (what: string, done: (s: Status) => boolean, timeoutMs = 20_000) =>
      eventually(what, () => status("web2"), (s) => {
        const state = memberState(s, "member-2");
        if (state && states.at(-1) !== state) states.push(state);
        return done(s);
      }, timeoutMs);
    fleet.apply("hub", {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: "DistributedScaledObject",
      metadata: { name: "web2", namespace: "default" },
      spec: {
        memberClusters: [
          { name: "member-1", weight: 1 },
          { name: "member-2", weight: 1 },
        ],
        rebalancingPolicy: { gracePeriod: "4s", maxRebalancePercentage: 50 },
        scaledObjectSpec: { scaleTargetRef: { name: "web2" } },
        totalTargetReplicas: 4,
      },
    });
    await eventually("2/2 placed", () => specs(web2), (s) => s[0] === 2 && s[1] === 2, 20_000);
    await until("Ready", (s) => condition(s, "Ready")?.status === "True");

    // The Deployment deleted in member-2: WorkloadMissing within grace, then its share moves.
    fleet.kubectl("member-2", "delete", "deployment", "web2", "-n", "default");
    const missing = await until("WorkloadMissing", (s) => memberState(s, "member-2") === "WorkloadMissing");
    assert.equal(missing.memberClusterStatuses!["member-2"]!.excluded, false);
    assert.equal((await specs(web2))[0], 2, "nothing moves within the grace period");
    await eventually("member-1 takes all 4", () => specs(web2), (s) => s[0] === 4, 20_000);
    await until("member-2 Excluded", (s) => memberState(s, "member-2") === "Excluded");

    // Recreated with no replicas: probation, then its share back.
    fleet.apply("member-2", deployment("web2", 0));
    await until("member-2 Recovering", (s) => memberState(s, "member-2") === "Recovering");
    await eventually("back to 2/2", () => specs(web2), (s) => s[0] === 2 && s[1] === 2, 30_000);
    await until("member-2 Ready", (s) => memberState(s, "member-2") === "Ready" && condition(s, "Ready")?.status === "True");
    assert.deepEqual(states, ["Ready", "WorkloadMissing", "Excluded", "Recovering", "Ready"]);

    // No node in member-2 takes new pods: the replicas it is given stay Pending, NotReady after the deadline, then excluded.
    const nodes = fleet.kubectl("member-2", "get", "nodes", "-o", "name").split(/\s+/).filter(Boolean);
    fleet.kubectl("member-2", "cordon", ...nodes);
    try {
      states.length = 0;
      await patchSpec([{ op: "replace", path: "/spec/totalTargetReplicas", value: 8 }], "web2");
      await eventually("4/4 asked", () => specs(web2), (s) => s[0] === 4 && s[1] === 4, 20_000);
      const notReady = await until("NotReady", (s) => memberState(s, "member-2") === "NotReady");
      assert.match(notReady.memberClusterStatuses!["member-2"]!.description, /2 of 4 replicas ready/);
      await eventually("member-1 takes all 8", () => specs(web2), (s) => s[0] === 8, 20_000);
      await until("member-2 Excluded", (s) => memberState(s, "member-2") === "Excluded");
    } finally {
      fleet.kubectl("member-2", "uncordon", ...nodes);
    }
    await until("member-2 Recovering", (s) => memberState(s, "member-2") === "Recovering");
    await eventually("back to 4/4", () => specs(web2), (s) => s[0] === 4 && s[1] === 4, 40_000);
    await until("member-2 Ready", (s) => memberState(s, "member-2") === "Ready" && condition(s, "Ready")?.status === "True", 40_000);
    assert.deepEqual(states, ["Ready", "NotReady", "Excluded", "Recovering", "Ready"]);
    fleet.kubectl("hub", "delete", "dso", "web2", "-n", "default");
    await stop(g);
  });

  it("logs are JSON and never carry a member token", () => {
    const all = logText.join("");
    assert.ok(all.length > 0);
    for (const token of tokens) assert.ok(!all.includes(token), "a member token reached the logs");
  });
});
