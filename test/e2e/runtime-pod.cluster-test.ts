/**
 * The runtime as users run it: the image built from the Dockerfile, deployed by `pulumi up`
 * through ScalerHub as the hub's Deployment, running as pods on a real node (containerd and a
 * kubelet) in the local fleet's hub, with the ServiceAccount token the kubelet mounts, the
 * probes the kubelet calls and the limits the Deployment declares. Members are reached at the
 * URLs pods can use (the members' apiUrl), as in a real fleet.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { MemberClient, type WorkloadRef } from "../../members/client";
import { HubClient } from "../../members/hub";
import { API_GROUP, API_VERSION } from "../../schema/dso-names";
import { LocalFleet, fleetBinDir } from "../support/fleet";
import { podman, runtimeImage } from "../support/image";
import { ProjectStack } from "../support/project-stack";
import { deployment, eventually } from "../support/workloads";
import { join } from "node:path";

const HUB_NAMESPACE = "fleetscale-system";
const RUNTIME = "app.kubernetes.io/name=fleetscale-runtime";
const web: WorkloadRef = { kind: "Deployment", namespace: "default", name: "web" };

interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName?: string; volumes?: { name: string }[]; containers: { args?: string[]; image: string }[] };
  status: { conditions?: { type: string; status: string }[]; containerStatuses?: { restartCount: number; ready: boolean; state?: { running?: object; terminated?: object } }[] };
}

interface Scaled {
  identity: string;
  member: string;
  to: number;
  /** Epoch milliseconds (the log line's ISO time). */
  time: number;
}

// Run inside a runtime pod with the image's Node.js: one GET with the pod's own ServiceAccount token, printing the HTTP status.
const inClusterGet = `
const fs = require("fs"), https = require("https");
const dir = "/var/run/secrets/kubernetes.io/serviceaccount/";
const url = "https://" + process.env.KUBERNETES_SERVICE_HOST + ":" + process.env.KUBERNETES_SERVICE_PORT + process.argv[1];
https.get(url, { ca: fs.readFileSync(dir + "ca.crt"), headers: { authorization: "Bearer " + fs.readFileSync(dir + "token", "utf8") } }, (r) => { console.log(r.statusCode); r.resume(); }).on("error", (e) => console.log("error " + e.message));
`;

describe("the runtime as the hub's pods on a real node, deployed by pulumi up", () => {
  let fleet: LocalFleet;
  let stack: ProjectStack;
  let image: string;
  const members = ["member-1", "member-2"];
  const logFollowers = new Map<string, ChildProcess>();
  /** Every "scaled" line any runtime pod logged, in arrival order. */
  const writes: Scaled[] = [];

  const hubKubectl = (...args: string[]) => fleet.kubectl("hub", ...args);
  const runtimePods = () => (JSON.parse(hubKubectl("get", "pods", "-n", HUB_NAMESPACE, "-l", RUNTIME, "-o", "json")) as { items: Pod[] }).items;
  const readyPods = () => runtimePods().filter((p) => !p.metadata.deletionTimestamp && p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
  const leader = () => new HubClient(fleet.kubeconfig("hub")).runtimeLeader(HUB_NAMESPACE);
  const specs = async () => Promise.all(members.map(async (m) => (await new MemberClient(m, fleet.kubeconfig(m)).readReplicas(web)).desired));
  const execIn = (pod: string, ...command: string[]) => hubKubectl("exec", "-n", HUB_NAMESPACE, pod, "--", ...command);
  const config = (hubImage: string) => ({
    hub: { kubeconfigPath: fleet.cluster("hub").kubeconfig, namespace: HUB_NAMESPACE, replicas: 2, image: hubImage, nodeSelector: fleet.realNode()!.labels },
    members: Object.fromEntries(members.map((m, i) => [m, { kubeconfigPath: fleet.cluster(m).kubeconfig, apiUrl: fleet.podServer(m), weight: [4, 6][i] }])),
    workloads: { web: { totalTargetReplicas: 10, rebalancingPolicy: { gracePeriod: "10s" }, scaledObjectSpec: { scaleTargetRef: { name: "web" } } } },
  });

  const seenLines = new Set<string>();
  function recordLine(line: string): void {
    if (line.trim() === "" || seenLines.has(line)) return;
    seenLines.add(line);
    const parsed = JSON.parse(line) as { msg: string; identity: string; member?: string; to?: number; time: string };
    if (parsed.msg === "scaled") writes.push({ identity: parsed.identity, member: parsed.member!, to: parsed.to!, time: Date.parse(parsed.time) });
  }

  /**
   * Follows the log of every runtime pod that appears, so writes of pods deleted later are kept,
   * and reads the whole log of every pod there is now, for lines a follower has not passed on yet.
   */
  function collectLogs(): void {
    for (const pod of runtimePods()) {
      const state = pod.status.containerStatuses?.[0]?.state;
      if (!state?.running && !state?.terminated) continue; // no log yet
      if (!pod.metadata.deletionTimestamp) {
        let log = "";
        try {
          log = hubKubectl("logs", "-n", HUB_NAMESPACE, pod.metadata.name);
        } catch {
          // Gone since the list: what it logged reached its follower.
        }
        for (const line of log.split("\n")) recordLine(line);
      }
      if (logFollowers.has(pod.metadata.name)) continue;
      const child = spawn(join(fleetBinDir(), "kubectl"), ["--kubeconfig", fleet.cluster("hub").kubeconfig, "logs", "-f", "-n", HUB_NAMESPACE, pod.metadata.name], { stdio: ["ignore", "pipe", "ignore"] });
      let rest = "";
      child.stdout!.on("data", (chunk: Buffer) => {
        const lines = (rest + chunk.toString("utf8")).split("\n");
        rest = lines.pop()!;
        for (const line of lines) recordLine(line);
      });
      logFollowers.set(pod.metadata.name, child);
    }
  }

  before(async () => {
    image = runtimeImage();
    fleet = LocalFleet.start({ clusters: ["hub", ...members], realNode: true });
    fleet.loadImage(image);
    for (const m of members) fleet.apply(m, deployment("web", 1));
    stack = await ProjectStack.create(config(image));
  });

  after(async () => {
    for (const child of logFollowers.values()) child.kill();
    try {
      podman("rmi", `${image}-rolled`);
    } catch {
      // not tagged: the rolling update did not run
    }
    try {
      if (stack) await stack.destroy();
    } finally {
      stack?.cleanup();
      fleet?.down();
    }
  });

  it("up runs two runtime pods on the real node, Ready through the kubelet's probes, and one of them splits 10 replicas 4/6", async () => {
    await stack.up();
    const pods = await eventually("two runtime pods Ready", () => readyPods(), (p) => p.length === 2, 120_000);
    const node = fleet.realNode()!.name;
    for (const pod of pods) {
      assert.equal(pod.spec.nodeName, node, `${pod.metadata.name} runs on the real node`);
      assert.equal(pod.spec.containers[0]!.image, image);
      // No kubeconfig: the runtime reaches the hub with the token the kubelet mounts.
      assert.deepEqual(pod.spec.containers[0]!.args ?? [], []);
      assert.deepEqual((pod.spec.volumes ?? []).map((v) => v.name).filter((v) => !v.startsWith("kube-api-access")), ["tmp"]);
    }
    await eventually("4/6 placed", specs, (s) => s[0] === 4 && s[1] === 6, 60_000);
    const holder = await eventually("a runtime pod leads", leader, (l) => l !== undefined, 30_000);
    assert.ok(pods.some((p) => holder!.startsWith(`${p.metadata.name}-`)), `the leader ${holder} is one of the pods`);
  });

  it("runs as 65532 on a read-only root filesystem, and its hub credential is refused outside the runtime's roles, seen from inside", () => {
    const pod = readyPods()[0]!.metadata.name;
    assert.equal(execIn(pod, "id", "-u").trim(), "65532");
    assert.throws(() => execIn(pod, "touch", "/app/written"), /Read-only file system/);
    const get = (path: string) => execIn(pod, "node", "-e", inClusterGet, path).trim();
    assert.equal(get(`/api/v1/namespaces/${HUB_NAMESPACE}/secrets`), "200", "member Secrets in its own namespace");
    assert.equal(get("/api/v1/namespaces/kube-system/secrets"), "403", "Secrets of another namespace");
    assert.equal(get("/api/v1/namespaces/default/pods"), "403", "pods");
    assert.equal(get("/apis/apps/v1/namespaces/default/deployments"), "403", "the hub's own Deployments");
  });

  it("exactly one pod writes; deleting the leader hands over within the lease, and the new leader acts on a new total", async () => {
    collectLogs();
    const before = Date.now();
    hubKubectl("patch", "dso", "web", "-n", "default", "--type", "merge", "-p", JSON.stringify({ spec: { totalTargetReplicas: 20 } }));
    await eventually("8/12 placed", specs, (s) => s[0] === 8 && s[1] === 12, 60_000);
    const first = (await leader())!;
    const toTwenty = await eventually("the writes to 8/12 in the logs", () => (collectLogs(), writes.filter((w) => w.time >= before)), (w) => w.length >= 2, 10_000);
    assert.deepEqual([...new Set(toTwenty.map((w) => w.identity))], [first], "only the leader wrote");

    const leaderPod = first.slice(0, first.lastIndexOf("-"));
    const deleted = Date.now();
    hubKubectl("delete", "pod", "-n", HUB_NAMESPACE, leaderPod, "--wait=false");
    const next = await eventually("another pod leads", leader, (l) => l !== undefined && l !== first, 30_000);
    const seconds = (Date.now() - deleted) / 1000;
    console.log(`# leader pod deleted: ${next} leads after ${seconds.toFixed(1)}s`);
    assert.ok(seconds < 15, `handed over after ${seconds}s, beyond the 15 s lease`);
    hubKubectl("patch", "dso", "web", "-n", "default", "--type", "merge", "-p", JSON.stringify({ spec: { totalTargetReplicas: 10 } }));
    await eventually("4/6 again", specs, (s) => s[0] === 4 && s[1] === 6, 60_000);
    // Log lines reach the followers a little after the writes.
    const afterHandover = await eventually("the writes after the handover in the logs", () => (collectLogs(), writes.filter((w) => w.time > deleted)), (w) => w.length >= 2, 10_000);
    assert.ok(afterHandover.every((w) => w.identity === next), `after the handover only ${next} wrote: ${JSON.stringify(afterHandover)}`);
    await eventually("two runtime pods Ready again", () => readyPods(), (p) => p.length === 2, 120_000);
  });

  it("a rolling update to a new image tag never has two writers", async () => {
    const retagged = `${image}-rolled`;
    podman("tag", image, retagged);
    fleet.loadImage(retagged);
    const from = Date.now();
    let changing = true;
    // The total keeps moving while the Deployment rolls, so whichever pod leads has work to do.
    const mover = (async () => {
      for (let i = 0; changing; i++) {
        hubKubectl("patch", "dso", "web", "-n", "default", "--type", "merge", "-p", JSON.stringify({ spec: { totalTargetReplicas: i % 2 === 0 ? 12 : 10 } }));
        collectLogs();
        await new Promise((r) => setTimeout(r, 1_000));
      }
    })();
    stack.writeConfig(config(retagged));
    try {
      await stack.up();
      await eventually("both pods on the new tag and Ready", () => readyPods(), (p) => p.length === 2 && p.every((pod) => pod.spec.containers[0]!.image === retagged), 180_000);
    } finally {
      changing = false;
      await mover;
    }
    collectLogs();
    // A total no step of the mover used: a pod of the new tag, now leading, must write it.
    const newPods = readyPods().map((p) => p.metadata.name);
    const beforeLast = Date.now();
    hubKubectl("patch", "dso", "web", "-n", "default", "--type", "merge", "-p", JSON.stringify({ spec: { totalTargetReplicas: 14 } }));
    await eventually("6/8 after the roll", specs, (s) => s[0] === 6 && s[1] === 8, 60_000);
    const last = await eventually("the writes to 6/8 in the logs", () => (collectLogs(), writes.filter((w) => w.time >= beforeLast)), (w) => w.length >= 2, 10_000);
    assert.ok(last.every((w) => newPods.some((pod) => w.identity.startsWith(`${pod}-`))), `written by a pod of the new tag: ${JSON.stringify(last)}`);
    // Writers take turns: once a new identity has written, no earlier one writes again.
    const order: string[] = [];
    const rolled = writes.filter((w) => w.time >= from).sort((a, b) => a.time - b.time);
    for (const w of rolled) {
      if (order.at(-1) !== w.identity) {
        assert.ok(!order.includes(w.identity), `${w.identity} wrote again after ${order.at(-1)} had taken over: ${order.join(" -> ")}`);
        order.push(w.identity);
      }
    }
    console.log(`# rolling update: ${rolled.length} member writes by ${order.length} leaders in turn: ${order.join(" -> ")}`);
    assert.ok(order.length >= 2, "the lead passed to a pod of the new tag");
  });

  it("stays within its memory limit at 100 DSOs", async () => {
    const dsos = Array.from({ length: 100 }, (_, i) => ({
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: "DistributedScaledObject",
      metadata: { name: `load-${i}`, namespace: "default" },
      spec: { memberClusters: members.map((name) => ({ name })), totalTargetReplicas: 2, scaledObjectSpec: { scaleTargetRef: { name: `load-${i}` } } },
    }));
    for (const m of members) fleet.apply(m, ...dsos.map((d) => deployment(d.metadata.name, 0)));
    fleet.apply("hub", ...dsos);
    await eventually("every load DSO placed 1/1", async () => {
      const placed = await Promise.all(members.map((m) => fleet.kubectl(m, "get", "deployments", "-n", "default", "-o", "jsonpath={range .items[*]}{.metadata.name}={.spec.replicas} {end}")));
      return placed.map((p) => p.split(" ").filter((e) => e.startsWith("load-") && e.endsWith("=1")).length);
    }, (counts) => counts.every((c) => c === 100), 180_000);
    const rss = Object.fromEntries(readyPods().map((p) => [p.metadata.name, Number(/VmRSS:\s+(\d+) kB/.exec(execIn(p.metadata.name, "cat", "/proc/1/status"))![1]) / 1024]));
    // cgroup v2 (memory.max) where the kernel has it, else v1.
    const limitFile = "f=/sys/fs/cgroup/memory.max; [ -r $f ] || f=/sys/fs/cgroup/memory/memory.limit_in_bytes; cat $f";
    const limit = Number(execIn(readyPods()[0]!.metadata.name, "sh", "-c", limitFile).trim()) / 2 ** 20;
    console.log(`# runtime pods at 100 DSOs: RSS ${Object.values(rss).map((v) => `${v.toFixed(0)} MiB`).join(", ")}; cgroup limit ${limit} MiB`);
    assert.equal(limit, 768, "the Deployment's limit is the container's cgroup limit");
    for (const [pod, mib] of Object.entries(rss)) assert.ok(mib < limit / 2, `${pod}: ${mib} MiB, more than half the limit at 100 DSOs`);
    for (const pod of readyPods()) assert.equal(pod.status.containerStatuses![0]!.restartCount, 0, `${pod.metadata.name} restarted`);
  });
});
