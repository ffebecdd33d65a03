/**
 * The runtime image built from the repository's Dockerfile (test/image/build.sh), run in a real
 * container (podman, runc) as ScalerHub's Deployment runs it: user 65532, read-only root
 * filesystem with a writable /tmp, no capabilities, no privilege escalation, its memory limit,
 * and a hub credential for a ServiceAccount bound to the runtime's hub roles
 * (components/hub-rbac.ts) instead of an admin kubeconfig. On a real local fleet.
 *
 * The container shares the host's network (the fleet's API servers listen on 127.0.0.1). The
 * same image as the hub's pods on a real kubelet, deployed by ScalerHub: test/e2e/runtime-pod.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MemberClient, type WorkloadRef } from "../members/client";
import { HubClient } from "../members/hub";
import { dsoCrdManifest } from "../schema/crd";
import { API_GROUP, API_VERSION } from "../schema/dso-names";
import { LocalFleet } from "./support/fleet";
import { podman, runtimeImage } from "./support/image";
import { onboardMember } from "./support/onboard";
import { runtimeIdentity } from "./support/runtime";
import { freePort } from "./support/toxiproxy";
import { deployment, eventually } from "./support/workloads";

const HUB_NAMESPACE = "fleetscale-system";
const SERVICE_ACCOUNT = "fleetscale-runtime";
const MEMORY_LIMIT = "768m"; // ScalerHub's limit (components/scaler-hub.ts)
const web: WorkloadRef = { kind: "Deployment", namespace: "default", name: "web" };

// Run inside the container with the image's own Node.js: one GET with the mounted credential, printing the HTTP status.
const probeScript = `
const fs = require("fs"), https = require("https");
const k = require("/app/node_modules/yaml").parse(fs.readFileSync("/etc/fleetscale/hub.kubeconfig", "utf8"));
const url = new URL(k.clusters[0].cluster.server + process.argv[1]);
https.get(url, { ca: Buffer.from(k.clusters[0].cluster["certificate-authority-data"], "base64"), headers: { authorization: "Bearer " + k.users[0].user.token } }, (r) => { console.log(r.statusCode); r.resume(); }).on("error", (e) => { console.log("error " + e.message); });
`;

describe("the runtime image, built from the Dockerfile, in a container run as the Deployment runs it", () => {
  let fleet: LocalFleet;
  let image: string;
  let dir: string;
  let healthPort: number;
  let metricsPort: number;
  const container = `fleetscale-runtime-test-${randomBytes(4).toString("hex")}`;
  const replicas = (member: string) => new MemberClient(member, fleet.kubeconfig(member)).readReplicas(web);
  const inspect = (format: string) => podman("inspect", "--format", format, container).trim();
  const logs = () => podman("logs", container);

  before(async () => {
    image = runtimeImage();
    fleet = LocalFleet.start({ clusters: ["hub", "member-1", "member-2"] });
    for (const member of ["member-1", "member-2"]) {
      onboardMember(fleet, { hub: "hub", member, hubNamespace: HUB_NAMESPACE });
      fleet.apply(member, deployment("web", 1));
    }
    fleet.apply("hub", dsoCrdManifest(), ...runtimeIdentity(HUB_NAMESPACE, SERVICE_ACCOUNT));
    const crd = "distributedscaledobjects.fleetscale.io";
    await eventually("CRD established", () => fleet.kubectl("hub", "get", "crd", crd, "-o", 'jsonpath={.status.conditions[?(@.type=="Established")].status}'), (s) => s === "True");
    const token = fleet.kubectl("hub", "create", "token", SERVICE_ACCOUNT, "-n", HUB_NAMESPACE, "--duration", "1h").trim();
    dir = mkdtempSync(join(tmpdir(), "fleetscale-image-test-"));
    writeFileSync(join(dir, "hub.kubeconfig"), fleet.tokenKubeconfig("hub", token, HUB_NAMESPACE));
    chmodSync(join(dir, "hub.kubeconfig"), 0o644); // readable by the container's user, as a mounted Secret is
    [healthPort, metricsPort] = [await freePort(), await freePort()];
  });

  after(() => {
    try {
      podman("rm", "--force", "--time", "0", container);
    } catch {
      // never started
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    fleet?.down();
  });

  it("runs as 65532 on a read-only root filesystem with its hub roles only, turns ready and splits 10 replicas 4/6", async () => {
    podman(
      "run", "--detach", "--name", container,
      "--network", "host",
      "--user", "65532:65532", "--read-only", "--tmpfs", "/tmp:rw,size=64m",
      "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
      "--memory", MEMORY_LIMIT,
      "--volume", `${join(dir, "hub.kubeconfig")}:/etc/fleetscale/hub.kubeconfig:ro`,
      image,
      "--kubeconfig", "/etc/fleetscale/hub.kubeconfig", "--namespace", HUB_NAMESPACE,
      "--health-port", String(healthPort), "--metrics-port", String(metricsPort), "--identity", container,
    );
    await eventually("/readyz answers 200", () => fetch(`http://127.0.0.1:${healthPort}/readyz`).then((r) => r.status, () => 0), (s) => s === 200, 60_000).catch((error) => {
      throw new Error(`${(error as Error).message}\n--- container log ---\n${logs()}`);
    });
    fleet.apply("hub", {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: "DistributedScaledObject",
      metadata: { name: "web", namespace: "default" },
      spec: {
        memberClusters: [{ name: "member-1", weight: 4 }, { name: "member-2", weight: 6 }],
        scaledObjectSpec: { scaleTargetRef: { name: "web" } },
        totalTargetReplicas: 10,
      },
    });
    await eventually("4/6 placed", async () => [(await replicas("member-1")).desired, (await replicas("member-2")).desired], (r) => r[0] === 4 && r[1] === 6, 30_000);
    const hub = new HubClient(fleet.kubeconfig("hub"));
    await eventually("status Converged", async () => ((await hub.distributedScaledObject("default", "web"))?.status as { conditions?: { type: string; reason: string }[] } | undefined)?.conditions?.find((c) => c.type === "Ready")?.reason, (r) => r === "Converged", 30_000);
    assert.equal(await hub.runtimeLeader(HUB_NAMESPACE), container);

    assert.equal(inspect("{{.Config.User}}"), "65532:65532");
    assert.equal(inspect("{{.HostConfig.ReadonlyRootfs}}"), "true");
    assert.equal(podman("exec", container, "id", "-u").trim(), "65532");
    assert.throws(() => podman("exec", container, "touch", "/app/written"), /Read-only file system/);
    assert.equal(podman("exec", container, "sh", "-c", "echo ok > /tmp/written && cat /tmp/written").trim(), "ok");
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /^fleetscale_workqueue_depth /m);
    const usage = podman("stats", "--no-stream", "--format", "{{.MemUsage}}", container).trim();
    console.log(`# runtime container, 1 DSO: memory ${usage} (limit ${MEMORY_LIMIT}); image ${image}`);
    assert.doesNotMatch(logs(), /"level":(50|60)/, "no error or fatal line in the log");
  });

  it("its credential is refused outside the runtime's roles, seen from inside the container", () => {
    const get = (path: string) => podman("exec", container, "node", "-e", probeScript, path).trim();
    assert.equal(get(`/api/v1/namespaces/${HUB_NAMESPACE}/secrets`), "200", "member Secrets in its own namespace");
    assert.equal(get("/api/v1/namespaces/kube-system/secrets"), "403", "Secrets of another namespace");
    assert.equal(get("/api/v1/namespaces/default/pods"), "403", "pods");
    assert.equal(get("/apis/apps/v1/namespaces/default/deployments"), "403", "the hub's own Deployments");
  });

  it("stops on SIGTERM within the Deployment's grace period, exits 0 and releases its lease", async () => {
    const started = Date.now();
    podman("stop", "--time", "30", container);
    const seconds = (Date.now() - started) / 1000;
    assert.ok(seconds < 30, `stopped after ${seconds}s, so SIGKILL was needed`);
    assert.equal(inspect("{{.State.ExitCode}}"), "0", logs());
    assert.equal(await new HubClient(fleet.kubeconfig("hub")).runtimeLeader(HUB_NAMESPACE), undefined, "the lease is released, so a successor leads at once");
  });
});
