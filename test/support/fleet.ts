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

export class LocalFleet {
  private constructor(
    readonly dir: string,
    private readonly removeDir: boolean,
  ) {}

  /**
   * Starts clusters (default: hub, member-1, member-2) in `dir`, or in a fresh temporary
   * directory; `nodes` kwok nodes per cluster (launcher default 1, 110 pods each).
   */
  static start(options: { clusters?: readonly string[]; dir?: string; nodes?: number } = {}): LocalFleet {
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), "fleetscale-fleet-"));
    const fleet = new LocalFleet(dir, options.dir === undefined);
    const clusters = (options.clusters ?? ["hub", "member-1", "member-2"]).join(",");
    try {
      fleet.run("up", "--dir", dir, "--clusters", clusters, ...(options.nodes === undefined ? [] : ["--nodes", String(options.nodes)]));
    } catch (error) {
      fleet.down();
      throw error;
    }
    return fleet;
  }

  clusters(): FleetCluster[] {
    const state = JSON.parse(readFileSync(join(this.dir, "fleet.json"), "utf8")) as { clusters: FleetCluster[] };
    return state.clusters.map((c) => ({ name: c.name, server: c.server, kubeconfig: c.kubeconfig }));
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
