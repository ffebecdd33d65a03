/**
 * `fleetscale local up|down`: the main job on the embedded local fleet. Builds the real
 * components (cached), starts a hub and two members (real API servers) in .fleet/local,
 * applies the `local` stack with the real Pulumi engine (state in .fleet/state), then runs
 * the scaler runtime in the foreground against the hub, as the hub's Deployment would.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { DEFAULT_OPTIONS } from "../runtime/options";
import { startRuntime } from "../runtime/runtime";
import { loadStackConfig } from "../schema/stack-config";
import { localStackEnv, localStateDir, packageRoot as root } from "./pulumi-cli";

const fleetDir = join(root, ".fleet", "local");
const stateDir = localStateDir(root);
const CLUSTERS = ["hub", "member-1", "member-2"];

interface Toolchain {
  fleetBin: string;
  pulumiDir: string;
}

function toolchain(): Toolchain {
  process.stderr.write("Building the local toolchain from Go modules (cached; the first run takes 15-25 minutes)...\n");
  const output = execFileSync("bash", [join(root, "test/toolchain.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const path = (name: string) => new RegExp(`^${name}\\s+(\\S+)$`, "m").exec(output)![1]!;
  return { fleetBin: path("fleet"), pulumiDir: path("pulumi") };
}

function pulumiEnv(tools: Toolchain): NodeJS.ProcessEnv {
  return localStackEnv(root, tools.pulumiDir);
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  const result = spawnSync(command, args, { cwd: root, env, stdio: "inherit" });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status ?? result.signal})`);
}

/** Every local cluster answering (`fleet status` prints a HEALTHY column per cluster). */
function fleetIsUp(tools: Toolchain): boolean {
  if (!existsSync(join(fleetDir, "fleet.json"))) return false;
  const status = spawnSync(join(tools.fleetBin, "fleet"), ["status", "--dir", fleetDir], { encoding: "utf8" });
  return status.status === 0 && CLUSTERS.every((cluster) => new RegExp(`^${cluster}\\s+\\S+\\s+true\\b`, "m").test(status.stdout));
}

export async function localUp(options: { runtime: boolean }): Promise<void> {
  const tools = toolchain();
  if (!fleetIsUp(tools)) {
    // New clusters: state describing the old ones would make `pulumi up` skip what is gone.
    rmSync(stateDir, { recursive: true, force: true });
    run(join(tools.fleetBin, "fleet"), ["up", "--dir", fleetDir, "--clusters", CLUSTERS.join(",")]);
  }
  // The workload the local stack distributes must exist in the members, its load metric in the
  // hub. Created only when missing: applying them again would reset what fleetscale scaled.
  const createIfMissing = (cluster: string, kind: string, name: string, file: string) => {
    const kubectl = [join(tools.fleetBin, "kubectl"), "--kubeconfig", join(fleetDir, `${cluster}.kubeconfig`)] as const;
    if (spawnSync(kubectl[0], [...kubectl.slice(1), "get", kind, name, "-n", "default"], { stdio: "ignore" }).status !== 0) {
      run(kubectl[0], [...kubectl.slice(1), "create", "-f", join(root, "examples/local", file)]);
    }
  };
  for (const member of ["member-1", "member-2"]) createIfMissing(member, "deployment", "web", "web-deployment.yaml");
  createIfMissing("hub", "configmap", "web-load", "web-load.yaml");

  mkdirSync(stateDir, { recursive: true });
  const env = pulumiEnv(tools);
  run("pulumi", ["stack", "select", "local", "--create", "--non-interactive"], env);
  run("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", "local"], env);
  if (!options.runtime) return;

  const hubKubeconfig = join(fleetDir, "hub.kubeconfig");
  const kubectl = join(tools.fleetBin, "kubectl");
  // Each line runs as printed in a fresh terminal: the built tools by their paths, and
  // `npx fleetscale` from the project directory, the only place npx finds this project's bin.
  process.stderr.write(`
The fleet is up and the local stack applied. The scaler runtime now reconciles it (JSON logs below; Ctrl-C stops it).
Things to try in another terminal:
  ${kubectl} --kubeconfig ${hubKubeconfig} get dso -A                        # status: members, replicas, conditions
  ${kubectl} --kubeconfig ${hubKubeconfig} patch configmap web-load -p '{"data":{"value":"40"}}'   # more load -> more replicas
  ${join(tools.fleetBin, "fleet")} stop --dir ${fleetDir} member-2        # an outage: after 30s its share moves
  cd ${root} && npx fleetscale member list --stack local        # members: health, weight, workloads
`);
  const runtime = await startRuntime({ ...DEFAULT_OPTIONS, kubeconfig: hubKubeconfig, namespace: readHubNamespace(), healthPort: 0, metricsPort: 0, identity: "local" });
  await new Promise<void>((resolve) => {
    const stop = () => void runtime.stop().then(resolve);
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}

export function localDown(): void {
  const tools = toolchain();
  if (fleetIsUp(tools)) run("pulumi", ["destroy", "--yes", "--skip-preview", "--non-interactive", "--stack", "local"], pulumiEnv(tools));
  run(join(tools.fleetBin, "fleet"), ["down", "--dir", fleetDir]);
  // The state describes clusters that no longer exist; `npm start` would only discard it.
  rmSync(stateDir, { recursive: true, force: true });
}

/** The hub namespace the local stack installs the runtime into, read as the program reads it. */
function readHubNamespace(): string {
  const values = (parse(readFileSync(join(root, "stacks/Pulumi.local.yaml"), "utf8")) as { config: Record<string, unknown> }).config;
  return loadStackConfig((key) => (values[`fleetscale:${key}`] === undefined ? undefined : JSON.stringify(values[`fleetscale:${key}`]))).hub.namespace;
}
