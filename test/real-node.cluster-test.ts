/**
 * The local fleet's real node (fleet up --real-node, test/node): containerd, a real kubelet and
 * kube-proxy in the hub. A pod from the hello image (test/node/images/hello, a static Go binary)
 * runs there with the runtime Deployment's security context, turns Ready through the kubelet's
 * readiness probe, reaches the hub through the "kubernetes" Service with its ServiceAccount token
 * and CA (as an in-cluster client does), and member-1 at podServer("member-1"). Only one real
 * node runs per machine: LocalFleet.start waits while another fleet has it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { LocalFleet, type RealNode } from "./support/fleet";
import { runtimeImage } from "./support/image";

const hello = "fleetscale.local/hello:1"; // imported at `fleet up` (test/node/build-images.sh)

/** The runtime Deployment's pod and container security context (components/scaler-hub.ts). */
const podSecurity = { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } };
const containerSecurity = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } };

describe("real node: a real pod in the hub of the local fleet", () => {
  let fleet: LocalFleet;
  let node: RealNode;
  before(() => {
    fleet = LocalFleet.start({ clusters: ["hub", "member-1"], realNode: true });
    node = fleet.realNode()!;
    fleet.apply("hub", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "hello", namespace: "default", labels: { app: "hello" } },
      spec: {
        nodeSelector: node.labels,
        securityContext: podSecurity,
        // No cluster DNS: kubernetes.default names the "kubernetes" Service's ClusterIP here, as
        // cluster DNS would (the hub's certificate names kubernetes.default and 10.0.0.1).
        hostAliases: [{ ip: "10.0.0.1", hostnames: ["kubernetes.default", "kubernetes.default.svc"] }],
        containers: [
          {
            name: "hello",
            image: hello,
            imagePullPolicy: "Never",
            ports: [{ name: "health", containerPort: 8080 }],
            readinessProbe: { httpGet: { path: "/healthz", port: "health" }, periodSeconds: 1 },
            livenessProbe: { httpGet: { path: "/healthz", port: "health" }, periodSeconds: 10 },
            resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "32Mi" } },
            securityContext: containerSecurity,
            volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
          },
        ],
        volumes: [{ name: "tmp", emptyDir: {} }],
      },
    });
  });
  after(() => fleet?.down());

  const inPod = (url: string) => fleet.kubectl("hub", "exec", "hello", "--", "/hello", "get", url).trim();

  it("the fleet records the real node and per-cluster URLs for pods; fleet status lists the node", () => {
    assert.equal(node.labels["kubernetes.io/hostname"], node.name);
    for (const name of ["hub", "member-1"]) {
      assert.match(fleet.podServer(name), /^https:\/\/\d+\.\d+\.\d+\.\d+:\d+$/);
      assert.doesNotMatch(fleet.podServer(name), /127\.0\.0\.1/);
      assert.equal(new URL(fleet.podServer(name)).port, new URL(fleet.cluster(name).server).port);
    }
    const status = fleet.status();
    assert.match(status, new RegExp(`^${node.name}\\s+https://\\S+\\s+true\\s+3\\s`, "m"), status);
    for (const daemon of ["containerd", "kubelet", "kube-proxy"]) assert.match(status, new RegExp(`^\\s+${daemon}\\s+pid \\d+`, "m"), status);
    const ready = fleet.kubectl("hub", "get", "node", node.name, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}");
    assert.equal(ready, "True");
  });

  it("the pod runs on the real node and turns Ready through its readiness probe", () => {
    fleet.kubectl("hub", "wait", "--for=condition=Ready", "pod/hello", "--timeout=120s");
    assert.equal(fleet.kubectl("hub", "get", "pod", "hello", "-o", "jsonpath={.spec.nodeName}"), node.name);
    assert.match(fleet.kubectl("hub", "logs", "hello"), /listening on :8080/);
  });

  it("reaches the hub through https://kubernetes.default (kube-proxy), TLS verified with its ServiceAccount's CA, authenticated by its token", () => {
    assert.match(inPod("https://kubernetes.default/version"), /^TLS verified: 200 OK: .*"gitVersion": ?"v1\.\d+\.\d+"/);
    // The in-cluster configuration (what loadFromCluster() reads): 10.0.0.1:443.
    const host = fleet.kubectl("hub", "exec", "hello", "--", "/hello", "env", "KUBERNETES_SERVICE_HOST").trim();
    const port = fleet.kubectl("hub", "exec", "hello", "--", "/hello", "env", "KUBERNETES_SERVICE_PORT").trim();
    assert.match(inPod(`https://${host}:${port}/version`), /^TLS verified: 200 OK/);
    // The token is the pod's ServiceAccount's: RBAC (not authentication) refuses what default may not do.
    assert.match(inPod("https://kubernetes.default/api/v1/namespaces/default/secrets"), /^TLS verified: 403 Forbidden: .*system:serviceaccount:default:default/);
  });

  it("reaches member-1 at podServer(\"member-1\") (another CA, so the hub's CA does not verify it, and the hub's token is refused)", () => {
    const out = inPod(`${fleet.podServer("member-1")}/version`);
    assert.match(out, /^TLS check failed \(.*certificate signed by unknown authority.*\); unverified: 401 Unauthorized/, out);
    assert.match(inPod(`${fleet.podServer("hub")}/version`), /^TLS verified: 200 OK/);
  });

  it("loadImage makes a podman image runnable on the real node (the runtime image, imagePullPolicy Never)", () => {
    const image = runtimeImage();
    fleet.loadImage(image);
    fleet.apply("hub", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "runtime-image", namespace: "default" },
      spec: {
        nodeSelector: node.labels,
        restartPolicy: "Never",
        securityContext: podSecurity,
        containers: [
          {
            name: "node",
            image,
            imagePullPolicy: "Never",
            command: ["node", "-e", "console.log('node ' + process.version + ' uid ' + process.getuid())"],
            securityContext: containerSecurity,
          },
        ],
      },
    });
    fleet.kubectl("hub", "wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/runtime-image", "--timeout=120s");
    assert.match(fleet.kubectl("hub", "logs", "runtime-image"), /^node v22\.\d+\.\d+ uid 65532$/m);
  });
});
