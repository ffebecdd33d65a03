/**
 * Test helper for the local fleet (test/fleet): real kube-apiservers with etcd,
 * controllers, a scheduler and kwok nodes, started by our `fleet` launcher.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { tokenKubeconfig } from "../../components/kubeconfig";

export const repoRoot = resolve(__dirname, "../../..");

export interface FleetCluster {
  name: string;
  server: string;
  kubeconfig: string;
  /** The URL pods on the fleet's real node reach this API server at (fleets with a real node only). */
  podServer?: string;
}

/** The fleet's real node (fleet.json "realNode"). */
export interface RealNode {
  name: string;
  /** Labels a nodeSelector can use to pick this node (kubernetes.io/hostname, fleetscale.local/real-node). */
  labels: Record<string, string>;
}

const toolchainOutputs = new Map<string, string>();

/** Runs a toolchain build script (repo-relative) once per process; returns its last stdout line (a bin directory, an image). */
export function toolchainOutput(script: string): string {
  let built = toolchainOutputs.get(script);
  if (built === undefined) {
    const output = execFileSync(join(repoRoot, script), { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    built = output.trim().split("\n").at(-1)!;
    toolchainOutputs.set(script, built);
  }
  return built;
}

/** The fleet binaries (cached across runs by test/fleet/build.sh). */
export function fleetBinDir(): string {
  return toolchainOutput("test/fleet/build.sh");
}

/** The launcher flags of a real node: the outputs of test/node's toolchain scripts (cached by content). */
/** How long a fleet with a real node waits for another fleet's real node to go. */
const REAL_NODE_WAIT_MS = 20 * 60_000;

function realNodeFlags(): string[] {
  return [
    "--real-node",
    "--node-kubelet-dir", toolchainOutput("test/node/build-kubelet.sh"),
    "--node-runtime-dir", toolchainOutput("test/node/fetch-runtime.sh"),
    "--node-images-dir", toolchainOutput("test/node/build-images.sh"),
  ];
}

export class LocalFleet {
  private constructor(
    readonly dir: string,
    private readonly removeDir: boolean,
  ) {}

  /**
   * Starts clusters (default: hub, member-1, member-2) in `dir`, or in a fresh temporary
   * directory; `nodes` kwok nodes per cluster (launcher default 1, 110 pods each). `realNode`
   * adds a real node (containerd, kubelet, kube-proxy) to the hub, which must be among the
   * clusters; only one can run per machine (root needed), and every API server of the fleet is
   * then reachable from its pods at `podServer(name)`.
   */
  static start(options: { clusters?: readonly string[]; dir?: string; nodes?: number; realNode?: boolean } = {}): LocalFleet {
    // Test files run in parallel where there are cores for it, and another checkout's tests may
    // run beside these: a fleet that needs the machine's one real node waits its turn.
    const waitUntil = Date.now() + REAL_NODE_WAIT_MS;
    for (;;) {
      const dir = options.dir ?? mkdtempSync(join(tmpdir(), "fleetscale-fleet-"));
      const fleet = new LocalFleet(dir, options.dir === undefined);
      const clusters = (options.clusters ?? ["hub", "member-1", "member-2"]).join(",");
      try {
        fleet.run(
          "up", "--dir", dir, "--clusters", clusters,
          ...(options.nodes === undefined ? [] : ["--nodes", String(options.nodes)]),
          ...(options.realNode ? realNodeFlags() : []),
        );
        return fleet;
      } catch (error) {
        fleet.down();
        const taken = options.realNode && /only one real node can run at a time/.test(String((error as Error).message));
        if (!taken || Date.now() > waitUntil) throw error;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5_000);
      }
    }
  }

  private state(): { clusters: FleetCluster[]; realNode?: RealNode } {
    return JSON.parse(readFileSync(join(this.dir, "fleet.json"), "utf8")) as { clusters: FleetCluster[]; realNode?: RealNode };
  }

  clusters(): FleetCluster[] {
    return this.state().clusters.map((c) => ({ name: c.name, server: c.server, kubeconfig: c.kubeconfig, ...(c.podServer ? { podServer: c.podServer } : {}) }));
  }

  /** The fleet's real node, or undefined for a fleet without one. */
  realNode(): RealNode | undefined {
    const node = this.state().realNode;
    return node ? { name: node.name, labels: { ...node.labels } } : undefined;
  }

  /**
   * The URL at which pods on the real node reach the cluster's API server (https://<host ip>:<port>;
   * its certificate names that address). Throws for a fleet without a real node.
   */
  podServer(name: string): string {
    const server = this.cluster(name).podServer;
    if (!server) throw new Error(`fleet ${this.dir} has no real node: its API servers listen on 127.0.0.1 only`);
    return server;
  }

  /**
   * Loads a podman image (e.g. runtimeImage()) into the real node's containerd (namespace k8s.io),
   * so that a pod with this exact reference and imagePullPolicy IfNotPresent or Never runs it
   * (a ":latest" tag would mean Always, and no registry is reachable).
   */
  loadImage(image: string): void {
    if (!this.realNode()) throw new Error(`fleet ${this.dir} has no real node to load ${image} into`);
    execFileSync(join(repoRoot, "test", "image", "load.sh"), [this.dir, image], { stdio: ["ignore", "ignore", "pipe"] });
  }

  /** `fleet status`'s output (clusters, the real node, their processes). */
  status(): string {
    return execFileSync(join(fleetBinDir(), "fleet"), ["status", "--dir", this.dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  }

  cluster(name: string): FleetCluster {
    const found = this.clusters().find((c) => c.name === name);
    if (!found) throw new Error(`no cluster ${name} in fleet ${this.dir}`);
    return found;
  }

  /** The admin kubeconfig's content. */
  kubeconfig(name: string): string {
    return readFileSync(this.cluster(name).kubeconfig, "utf8");
  }

  /** A kubeconfig for this cluster that authenticates with a bearer token (a ServiceAccount's, or a forged one). */
  tokenKubeconfig(name: string, token: string, namespace = "default"): string {
    const caData = /certificate-authority-data: (\S+)/.exec(this.kubeconfig(name))?.[1];
    if (!caData) throw new Error(`the admin kubeconfig of ${name} embeds no CA`);
    return tokenKubeconfig({ clusterName: name, server: this.cluster(name).server, caData, token, namespace });
  }

  /** Stops the cluster's API server (and the rest of its control plane); its data stays. */
  stop(name: string): void {
    this.run("stop", "--dir", this.dir, name);
  }

  /** Starts it again and waits until it answers. */
  start(name: string): void {
    this.run("start", "--dir", this.dir, name);
  }

  /** kubectl against one cluster, as its admin. */
  kubectl(name: string, ...args: string[]): string {
    return execFileSync(join(fleetBinDir(), "kubectl"), ["--kubeconfig", this.cluster(name).kubeconfig, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  }

  /** kubectl with another identity's kubeconfig (given as text) against whatever cluster it names. */
  kubectlAs(kubeconfig: string, ...args: string[]): string {
    const file = join(mkdtempSync(join(tmpdir(), "kubeconfig-")), "config");
    writeFileSync(file, kubeconfig, { mode: 0o600 });
    try {
      return execFileSync(join(fleetBinDir(), "kubectl"), ["--kubeconfig", file, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } finally {
      rmSync(dirname(file), { recursive: true, force: true });
    }
  }

  /** kubectl apply of Kubernetes objects (given as plain objects) to one cluster. */
  apply(name: string, ...objects: object[]): void {
    execFileSync(join(fleetBinDir(), "kubectl"), ["--kubeconfig", this.cluster(name).kubeconfig, "apply", "-f", "-"], {
      input: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }),
      stdio: ["pipe", "ignore", "inherit"],
    });
  }

  down(): void {
    spawnSync(join(fleetBinDir(), "fleet"), ["down", "--dir", this.dir], { stdio: "inherit" });
    if (this.removeDir) rmSync(this.dir, { recursive: true, force: true });
  }

  private run(...args: string[]): void {
    execFileSync(join(fleetBinDir(), "fleet"), args, { stdio: ["ignore", "inherit", "inherit"] });
  }
}
