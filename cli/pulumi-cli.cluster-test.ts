import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { tokenKubeconfig } from "../components/kubeconfig";
import { LocalFleet } from "../test/support/fleet";
import { pulumiEnv, pulumiToolchain, repoRoot } from "../test/support/pulumi";

/** A copy of the project's Pulumi side (Pulumi.yaml and the local stack's config), so that its .fleet is a throwaway one. */
function copyProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "fleetscale-project-"));
  mkdirSync(join(dir, "stacks"));
  cpSync(join(repoRoot(), "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
  cpSync(join(repoRoot(), "stacks/Pulumi.local.yaml"), join(dir, "stacks/Pulumi.local.yaml"));
  return dir;
}

/** A new terminal's environment: no pulumi on PATH, no PULUMI_* variables. */
function freshTerminalEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("PULUMI_")));
  const path = (process.env.PATH ?? "").split(delimiter).filter((dir) => !existsSync(join(dir, "pulumi")));
  return { ...env, PATH: path.join(delimiter), ...extra };
}

/** `fleetscale` as a user runs it, from the project directory (no --cwd). */
function fleetscale(project: string, env: NodeJS.ProcessEnv, ...args: string[]) {
  const run = spawnSync(process.execPath, [join(repoRoot(), "bin/fleetscale.js"), ...args], { cwd: project, env, encoding: "utf8" });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("fleetscale member on the local stack, from a fresh terminal", () => {
  let root: string;
  let project: string;
  let fleet: LocalFleet;
  const configFile = () => join(project, "stacks/Pulumi.local.yaml");

  before(() => {
    root = mkdtempSync(join(tmpdir(), "fleetscale-fresh-"));
    project = copyProject();
    // A hub at the path the local stack's config names, so that `list` reads it as after `npm start`.
    fleet = LocalFleet.start({ clusters: ["hub"], dir: join(project, ".fleet/local") });
    // The local stack as `npm start` creates it: a file backend in .fleet/state and the passphrase
    // of the salt committed in stacks/Pulumi.local.yaml; a PULUMI_HOME of its own.
    const toolchain = pulumiToolchain();
    const backendDir = join(project, ".fleet/state");
    mkdirSync(backendDir);
    mkdirSync(join(root, "home"));
    const env = pulumiEnv(toolchain, { backendDir, home: join(root, "home"), extra: { PULUMI_CONFIG_PASSPHRASE: "fleetscale-local" } });
    execFileSync(toolchain.pulumi, ["stack", "select", "local", "--create", "--non-interactive"], { cwd: project, env, stdio: ["ignore", "ignore", "pipe"] });
  });
  after(() => {
    fleet?.down();
    rmSync(project, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  });

  it("lists the members of the stack `npm start` applied, as its hint prints the command", () => {
    const listed = fleetscale(project, freshTerminalEnv(), "member", "list", "--stack", "local", "--output", "json");
    assert.equal(listed.code, 0, listed.stderr);
    const configured = (parse(readFileSync(configFile(), "utf8")) as { config: { "fleetscale:members": Record<string, { weight: number }> } }).config["fleetscale:members"];
    const rows = (JSON.parse(listed.stdout) as { name: string; weight: number; health: string }[]).map((m) => [m.name, m.weight, m.health]);
    assert.deepEqual(
      rows,
      Object.entries(configured).map(([name, m]) => [name, m.weight, "not onboarded (run pulumi up)"]),
    );
  });

  it("adds a member with its kubeconfig encrypted by the local stack's passphrase, and removes it", () => {
    const before = readFileSync(configFile(), "utf8");
    const added = fleetscale(project, freshTerminalEnv(), "member", "add", "member-3", "--kubeconfig", fleet.cluster("hub").kubeconfig, "--weight", "2", "--stack", "local");
    assert.equal(added.code, 0, added.stderr);
    assert.match(readFileSync(configFile(), "utf8"), /member-3:\s+kubeconfig:\s+secure: /);
    const listed = fleetscale(project, freshTerminalEnv(), "member", "list", "--stack", "local");
    assert.match(listed.stdout, /^member-3\s+-\s+not onboarded \(run pulumi up\)\s+2\s+web$/m, listed.stderr);

    const removed = fleetscale(project, freshTerminalEnv(), "member", "remove", "member-3", "--stack", "local");
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(readFileSync(configFile(), "utf8"), before);
  });

  it("runs the user's own pulumi from PATH when the project built none", () => {
    const toolchain = pulumiToolchain();
    const env = freshTerminalEnv({ PATH: `${toolchain.binDir}${delimiter}${freshTerminalEnv().PATH}`, FLEETSCALE_CACHE: join(root, "no-cache"), HOME: join(root, "user") });
    const listed = fleetscale(project, env, "member", "list", "--stack", "local");
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^member-1\s/m);
  });
});

describe("fleetscale member without any Pulumi CLI", () => {
  let project: string;
  before(() => {
    project = copyProject();
  });
  after(() => rmSync(project, { recursive: true, force: true }));

  it("exits 2 with one line saying what is missing and how to get it, changing nothing", () => {
    const env = freshTerminalEnv({ FLEETSCALE_CACHE: join(project, "no-cache") });
    const before = readFileSync(join(project, "stacks/Pulumi.local.yaml"), "utf8");
    const kubeconfig = join(project, "member-3.kubeconfig");
    writeFileSync(kubeconfig, tokenKubeconfig({ clusterName: "member-3", server: "https://127.0.0.1:1", caData: "", token: "t", namespace: "default" }));
    for (const args of [["list"], ["add", "member-3", "--kubeconfig", kubeconfig], ["remove", "member-1"]]) {
      const run = fleetscale(project, env, "member", ...args, "--stack", "local");
      assert.equal(run.code, 2, `member ${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, /^fleetscale: no Pulumi CLI: `pulumi` is not on PATH and none is built in \S+; run `npm run toolchain` in \S+ to build it from Go modules, or install Pulumi\n$/);
      assert.equal(run.stdout, "");
    }
    assert.equal(readFileSync(join(project, "stacks/Pulumi.local.yaml"), "utf8"), before);
  });
});
