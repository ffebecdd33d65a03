/**
 * Real network faults between a MemberClient and a real member API server, through Toxiproxy
 * (test/support/toxiproxy.ts): pins what each fault looks like to the client, so that the fault
 * tests and benchmarks built on these helpers inject what they claim to.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, afterEach, before, describe, it } from "node:test";
import type * as k8s from "@kubernetes/client-node";
import { MemberClient, MemberError } from "../members/client";
import { clientNode, kubeConfigFromString, timeoutOptions } from "../members/client-node";
import { LocalFleet } from "./support/fleet";
import { Toxiproxy, ToxiProxy, throughProxy } from "./support/toxiproxy";
import { deployment, eventually } from "./support/workloads";

const TIMEOUT_MS = 1_500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `call`, returning how long it took and its MemberError (or its result). */
async function timed<T>(call: () => Promise<T>): Promise<{ ms: number; value?: T; error?: MemberError }> {
  const start = performance.now();
  try {
    const value = await call();
    return { ms: performance.now() - start, value };
  } catch (error) {
    if (!(error instanceof MemberError)) throw error;
    return { ms: performance.now() - start, error };
  }
}

/** A client-node Watch on the default namespace's Deployments, recording what it hears. */
class DeploymentWatch {
  readonly events: { type: string; name: string; replicas: number | undefined }[] = [];
  ended: unknown = undefined;
  private controller: AbortController | undefined;

  static async open(kubeconfig: string, name: string): Promise<DeploymentWatch> {
    const watch = new DeploymentWatch();
    const watcher = new (clientNode().Watch)(kubeConfigFromString(kubeconfig));
    watch.controller = await watcher.watch(
      "/apis/apps/v1/namespaces/default/deployments",
      {},
      (type: string, object: k8s.V1Deployment) => watch.events.push({ type, name: object.metadata?.name ?? "", replicas: object.spec?.replicas }),
      (error: unknown) => (watch.ended = error ?? "closed"),
    );
    await eventually(`the watch lists ${name}`, () => watch.events.some((e) => e.name === name), Boolean, 10_000);
    return watch;
  }

  sawReplicas(name: string, replicas: number): boolean {
    return this.events.some((e) => e.name === name && e.type === "MODIFIED" && e.replicas === replicas);
  }

  close(): void {
    this.controller?.abort();
  }
}

describe("toxiproxy: real network faults between a MemberClient and a member API server", () => {
  let fleet: LocalFleet;
  let toxiproxy: Toxiproxy;
  let proxy: ToxiProxy;
  let kubeconfig: string;
  let client: MemberClient;
  const watches: DeploymentWatch[] = [];
  let replicas = 1;

  /** Changes the Deployment's replicas directly (as admin, not through the proxy). */
  const scaleWeb = () => {
    replicas++;
    fleet.kubectl("member-1", "scale", "deployment/web", "-n", "default", `--replicas=${replicas}`);
    return replicas;
  };
  const openWatch = async () => {
    const watch = await DeploymentWatch.open(kubeconfig, "web");
    watches.push(watch);
    return watch;
  };

  before(async () => {
    fleet = LocalFleet.start({ clusters: ["member-1"] });
    // ~48 KB of incompressible data for the bandwidth test's list.
    const bulk = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "bulk", namespace: "default", labels: { "fleetscale-test": "bulk" } }, data: { blob: randomBytes(36 * 1024).toString("base64") } };
    fleet.apply("member-1", deployment("web", replicas), bulk);
    toxiproxy = await Toxiproxy.start();
    const upstream = new URL(fleet.cluster("member-1").server).host;
    proxy = await toxiproxy.proxy("member-1", upstream);
    kubeconfig = throughProxy(fleet.kubeconfig("member-1"), proxy.listen);
    client = new MemberClient("member-1", kubeconfig, { timeoutMs: TIMEOUT_MS });
  });
  afterEach(async () => {
    for (const watch of watches.splice(0)) watch.close();
    await proxy?.heal();
  });
  after(async () => {
    await toxiproxy?.stop();
    fleet?.down();
  });

  it("without a fault the probe answers through the proxy, TLS verified against 127.0.0.1", async () => {
    assert.equal(client.server, `https://${proxy.listen}`);
    assert.notEqual(proxy.listen, new URL(fleet.cluster("member-1").server).host);
    const { value, error, ms } = await timed(() => client.probe());
    assert.equal(error, undefined, error?.message);
    assert.equal(value, "kwok-admin");
    assert.ok(ms < 1_000, `${ms} ms`);
  });

  it("blackhole: the probe fails Unreachable after its timeout, a new client's too, and an open watch hears nothing", async () => {
    const watch = await openWatch();
    await proxy.blackhole();
    const changed = scaleWeb();
    const [same, fresh] = await Promise.all([timed(() => client.probe()), timed(() => new MemberClient("member-1", kubeconfig, { timeoutMs: TIMEOUT_MS }).probe())]);
    for (const { ms, error } of [same, fresh]) {
      assert.equal(error?.failure, "Unreachable", error?.message ?? "the probe succeeded");
      assert.match(error.detail, new RegExp(`^probe: no answer within ${TIMEOUT_MS} ms$`));
      assert.ok(ms >= TIMEOUT_MS - 50 && ms < TIMEOUT_MS + 1_000, `${ms} ms`);
    }
    await sleep(500);
    assert.equal(watch.sawReplicas("web", changed), false, "the watch heard the change through the blackhole");
    assert.equal(watch.ended, undefined, "the watch ended under the blackhole");
  });

  it("heal after a blackhole: the same client answers again; a watch open under it is closed", async () => {
    const watch = await openWatch();
    await proxy.blackhole();
    assert.equal((await timed(() => client.probe())).error?.failure, "Unreachable");
    await proxy.heal();
    const { value, error } = await timed(() => client.probe());
    assert.equal(error, undefined, error?.message);
    assert.equal(value, "kwok-admin");
    // Toxiproxy's timeout toxic closes its connections when it is removed.
    await eventually("the watch ends", () => watch.ended !== undefined, Boolean, 5_000);
  });

  it("latency 2000±200 ms: a probe with a 5 s timeout succeeds after ≥ 1.8 s; a new TLS connection pays it twice", async () => {
    const patient = new MemberClient("member-1", kubeconfig, { timeoutMs: 5_000 });
    assert.equal((await timed(() => patient.probe())).error, undefined); // opens the connection it reuses below
    await proxy.latency(2_000, 200);
    const warm = await timed(() => patient.probe());
    assert.equal(warm.error, undefined, warm.error?.message);
    assert.ok(warm.ms >= 1_800 && warm.ms < 3_000, `open connection: ${warm.ms} ms`);
    const cold = await timed(() => new MemberClient("member-1", kubeconfig, { timeoutMs: 5_000 }).probe());
    assert.equal(cold.error, undefined, cold.error?.message);
    assert.ok(cold.ms >= 3_600, `new connection: ${cold.ms} ms`);
    // The 1.5 s client gives up.
    assert.match((await timed(() => client.probe())).error?.detail ?? "answered", /no answer within 1500 ms/);
  });

  it("bandwidth 16 KB/s: a ~48 KB list still succeeds, slower", async () => {
    const core = kubeConfigFromString(kubeconfig).makeApiClient(clientNode().CoreV1Api);
    const list = async () => {
      const start = performance.now();
      const result = await core.listNamespacedConfigMap({ namespace: "default", labelSelector: "fleetscale-test=bulk" }, timeoutOptions(15_000));
      assert.equal(result.items.length, 1);
      assert.ok((result.items[0]!.data?.["blob"]?.length ?? 0) > 40_000);
      return performance.now() - start;
    };
    const normal = await list();
    await proxy.bandwidth(16);
    const slow = await list();
    assert.ok(normal < 1_000, `without the toxic: ${normal} ms`);
    assert.ok(slow >= 2_000, `at 16 KB/s: ${slow} ms (without: ${normal} ms)`);
  });

  it("resetPeer: the probe fails Unreachable at once: ECONNRESET on a new connection, UND_ERR_SOCKET on one open before", async () => {
    assert.equal((await timed(() => client.probe())).error, undefined); // a connection open before the toxic
    await proxy.resetPeer();
    const open = await timed(() => client.probe());
    const fresh = await timed(() => new MemberClient("member-1", kubeconfig, { timeoutMs: TIMEOUT_MS }).probe());
    for (const [{ ms, error }, code] of [[open, /^probe: UND_ERR_SOCKET$/], [fresh, /^probe: ECONNRESET$/]] as const) {
      assert.equal(error?.failure, "Unreachable", error?.message ?? "the probe succeeded");
      assert.match(error.detail, code);
      assert.ok(ms < 1_000, `${ms} ms`);
    }
    // The open connection is gone: the same client's next probe opens a new one, and is reset.
    assert.match((await timed(() => client.probe())).error?.detail ?? "answered", /^probe: ECONNRESET$/);
  });

  it("disable: connection refused at once; enable: the same port answers again", async () => {
    await proxy.disable();
    const refused = await timed(() => client.probe());
    assert.equal(refused.error?.failure, "Unreachable", refused.error?.message ?? "the probe succeeded");
    assert.equal(refused.error.detail, `probe: ECONNREFUSED ${proxy.listen}`);
    assert.ok(refused.ms < 1_000, `${refused.ms} ms`);
    await proxy.enable();
    assert.equal((await timed(() => client.probe())).value, "kwok-admin");
  });

  // silenceOpenConnections() throws with the reason (silenceSupport()) when it cannot work here:
  // not root and no CAP_NET_ADMIN, no nf_tables in the kernel, or nft could not be fetched.
  it(
    "silenced open connections: a watch hears nothing of a change while a new client's request succeeds; after heal the event arrives",
    async () => {
      const watch = await openWatch();
      const silenced = await proxy.silenceOpenConnections();
      assert.ok(silenced >= 1, `silenced ${silenced} connections`);
      const changed = scaleWeb();
      const fresh = await timed(() => new MemberClient("member-1", kubeconfig, { timeoutMs: TIMEOUT_MS }).probe());
      assert.equal(fresh.error, undefined, fresh.error?.message);
      assert.ok(fresh.ms < 1_000, `${fresh.ms} ms`);
      // Well within client-node's 30 s watch inactivity timeout, which would re-watch.
      await sleep(3_000);
      assert.equal(watch.sawReplicas("web", changed), false, "the silenced watch heard the change");
      assert.equal(watch.ended, undefined, "the silenced watch ended");
      await proxy.heal();
      // Nothing was closed or reset: TCP retransmits what was held back.
      await eventually("the watch hears the change after heal", () => watch.sawReplicas("web", changed), Boolean, 10_000);
      assert.equal(watch.ended, undefined);
    },
  );

  it(
    "silenced open connections: the same MemberClient recovers on a new connection after a timeout",
    // Over HTTP/2 (undici's default, which kube-apiserver takes) all requests of a client share
    // one connection and a timeout resets only its stream: every later probe failed on it.
    async () => {
      // A probe in flight (held by latency) when its connection goes silent.
      await proxy.latency(800);
      const pending = timed(() => client.probe());
      await sleep(300);
      assert.ok((await proxy.silenceOpenConnections()) >= 1);
      await proxy.removeToxics();
      const first = await pending;
      assert.equal(first.error?.failure, "Unreachable", first.error?.message ?? `the probe succeeded in ${first.ms} ms`);
      const second = await timed(() => client.probe());
      assert.equal(second.error, undefined, `after a timeout the client still fails: ${second.error?.message}`);
    },
  );
});
