/**
 * `fleetscale local up|down`: the main job on the embedded local fleet. Builds the real
 * components (cached), starts a hub and two members (real API servers) in .fleet/local, with
 * a real node (containerd and a kubelet) in the hub, loads the runtime image built from the
 * Dockerfile onto it, and applies the `local` stack with the real Pulumi engine (state in
 * .fleet/state): ScalerHub's Deployment then runs the runtime as the hub's pods on that node,
 * whose logs it follows.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { RUNTIME_NAME } from "../components/labels";
import { RUNTIME_LEASE_NAME } from "../schema/dso-names";
import { loadStackConfig } from "../schema/stack-config";
import { localStackEnv, localStateDir, packageRoot as root } from "./pulumi-cli";

const fleetDir = join(root, ".fleet", "local");
const stateDir = localStateDir(root);
const CLUSTERS = ["hub", "member-1", "member-2"];
const MEMBERS = CLUSTERS.filter((c) => c !== "hub");
/** The image the local stack's hub runs (stacks/Pulumi.local.yaml): the current build, loaded on the real node. */
const LOCAL_IMAGE = "localhost/fleetscale-scaler:local";
const RUNTIME_DEPLOYMENT = RUNTIME_NAME;
const RUNTIME_SELECTOR = `app.kubernetes.io/name=${RUNTIME_NAME}`;

/** What `local down` needs: the fleet launcher and the Pulumi CLI. */
interface Engine {
  fleetBin: string;
  pulumiDir: string;
}

interface Toolchain extends Engine {
  /** The runtime image test/image/build.sh built from the Dockerfile. */
  image: string;
  realNodeFlags: string[];
}

function toolchain(): Toolchain {
  process.stderr.write("Building the local toolchain from Go modules and the runtime image (cached; the first run takes 25-35 minutes)...\n");
  const output = execFileSync("bash", [join(root, "test/toolchain.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const path = (name: string) => new RegExp(`^${name}\\s+(\\S+)$`, "m").exec(output)![1]!;
  return {
    fleetBin: path("fleet"),
    pulumiDir: path("pulumi"),
    image: path("image"),
    realNodeFlags: ["--real-node", "--node-kubelet-dir", path("kubelet"), "--node-runtime-dir", path("node-rt"), "--node-images-dir", path("node-img")],
  };
}

interface FleetFile {
  clusters: { name: string; podServer?: string }[];
  realNode?: { name: string };
}

/** The launcher and the Pulumi CLI alone (cached), without the image and the real node's parts. */
function engine(): Engine {
  const built = (script: string) => execFileSync("bash", [join(root, script)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim().split("\n").at(-1)!;
  return { fleetBin: built("test/fleet/build.sh"), pulumiDir: built("test/pulumi/build.sh") };
}

function fleetFile(): FleetFile {
  return JSON.parse(readFileSync(join(fleetDir, "fleet.json"), "utf8")) as FleetFile;
}

function pulumiEnv(tools: Engine): NodeJS.ProcessEnv {
  return localStackEnv(root, tools.pulumiDir);
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  const result = spawnSync(command, args, { cwd: root, env, stdio: "inherit" });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status ?? result.signal})`);
}

/** Every local cluster answering, and the real node Ready with its daemons when `withNode` (`fleet status` prints a HEALTHY column for each). */
function fleetIsUp(tools: Engine, withNode = false): boolean {
  if (!existsSync(join(fleetDir, "fleet.json"))) return false;
  const node = fleetFile().realNode?.name;
  if (withNode && node === undefined) return false;
  const status = spawnSync(join(tools.fleetBin, "fleet"), ["status", "--dir", fleetDir], { encoding: "utf8" });
  const names = withNode ? [...CLUSTERS, node!] : CLUSTERS;
  return status.status === 0 && names.every((name) => new RegExp(`^${name}\\s+\\S+\\s+true\\b`, "m").test(status.stdout));
}

/**
 * The members' admin kubeconfigs as the hub's pods must use them: at the address the API
 * server has on the host's network, not 127.0.0.1 (a pod's own). The local stack reads these,
 * so the credentials stored in the hub name it too, as a real fleet's would name each member's
 * endpoint.
 */
function writePodKubeconfigs(): void {
  for (const member of MEMBERS) {
    const podServer = fleetFile().clusters.find((c) => c.name === member)?.podServer;
    if (!podServer) throw new Error(`fleet.json in ${fleetDir} has no podServer for ${member}: not a fleet with a real node`);
    const admin = readFileSync(join(fleetDir, `${member}.kubeconfig`), "utf8");
    const local = /server: https:\/\/127\.0\.0\.1:\d+/g;
    if (!local.test(admin)) throw new Error(`${member}.kubeconfig in ${fleetDir} names no https://127.0.0.1 server to replace with ${podServer}`);
    writeFileSync(join(fleetDir, `${member}.pod.kubeconfig`), admin.replace(local, `server: ${podServer}`), { mode: 0o600 });
  }
}

/**
 * Tags the current build as the local stack's image and loads it onto the real node. Returns
 * a function that records it as running, to call once the runtime's pods run it, or undefined
 * when the node already has it; `restart` tells whether pods of an older image may be running.
 */
function loadLocalImage(tools: Toolchain): { restart: boolean; running: () => void } | undefined {
  const podman = (...args: string[]) => execFileSync("podman", args, { encoding: "utf8", env: { ...process.env, CONTAINERS_CONF: join(root, "test/image/containers.conf") } }).trim();
  const built = podman("image", "inspect", "--format", "{{.Id}}", tools.image);
  const marker = join(fleetDir, "runtime-image.id");
  const loaded = existsSync(marker) ? readFileSync(marker, "utf8").trim() : undefined;
  if (loaded === built) return undefined;
  podman("tag", tools.image, LOCAL_IMAGE);
  run(join(root, "test/image/load.sh"), [fleetDir, LOCAL_IMAGE]);
  return { restart: loaded !== undefined, running: () => writeFileSync(marker, built) };
}

export async function localUp(options: { logs: boolean }): Promise<void> {
  const tools = toolchain();
  if (!fleetIsUp(tools, true)) {
    // New clusters: state describing the old ones would make `pulumi up` skip what is gone.
    rmSync(stateDir, { recursive: true, force: true });
    if (existsSync(join(fleetDir, "fleet.json"))) run(join(tools.fleetBin, "fleet"), ["down", "--dir", fleetDir]);
    run(join(tools.fleetBin, "fleet"), ["up", "--dir", fleetDir, "--clusters", CLUSTERS.join(","), ...tools.realNodeFlags]);
  }
  writePodKubeconfigs();
  const newImage = loadLocalImage(tools);
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
  const hubKubeconfig = join(fleetDir, "hub.kubeconfig");
  const kubectl = join(tools.fleetBin, "kubectl");
  const namespace = readHubNamespace();
  const inHub = ["--kubeconfig", hubKubeconfig, "-n", namespace];
  // Same reference, new image: the Deployment's spec did not change, so its pods are replaced here.
  if (newImage?.restart) run(kubectl, [...inHub, "rollout", "restart", `deployment/${RUNTIME_DEPLOYMENT}`]);
  run(kubectl, [...inHub, "rollout", "status", `deployment/${RUNTIME_DEPLOYMENT}`, "--timeout=180s"]);
  newImage?.running();
  if (!options.logs) return;

  // Each line runs as printed in a fresh terminal: the built tools by their paths, and
  // `npx fleetscale` from the project directory, the only place npx finds this project's bin.
  const logs = [kubectl, ...inHub, "logs", "-f", "--prefix", "-l", RUNTIME_SELECTOR, "--max-log-requests", "10"];
  process.stderr.write(`
The fleet is up and the local stack applied. The scaler runtime runs as the hub's pods on the real node ${fleetFile().realNode?.name}:
  ${kubectl} ${inHub.join(" ")} get pods -o wide
Its logs follow (JSON; Ctrl-C stops following, the runtime keeps running; pods started later are not followed: run again ${logs.join(" ")}).
Things to try in another terminal:
  ${kubectl} --kubeconfig ${hubKubeconfig} get dso -A                        # status: members, replicas, conditions
  ${kubectl} --kubeconfig ${hubKubeconfig} patch configmap web-load -p '{"data":{"value":"40"}}'   # more load -> more replicas
  ${join(tools.fleetBin, "fleet")} stop --dir ${fleetDir} member-2        # an outage: after 30s its share moves
  ${kubectl} ${inHub.join(" ")} delete pod $(${kubectl} ${inHub.join(" ")} get lease ${RUNTIME_LEASE_NAME} -o jsonpath='{.spec.holderIdentity}' | sed 's/-[0-9]*$//')   # the leader goes: the other pod takes over
  cd ${root} && npx fleetscale member list --stack local        # members: health, weight, workloads
`);
  const follower = spawn(logs[0]!, logs.slice(1), { stdio: ["ignore", "inherit", "inherit"] });
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => follower.kill("SIGINT"));
    follower.once("exit", () => resolve());
  });
}

export function localDown(): void {
  const tools = engine();
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
