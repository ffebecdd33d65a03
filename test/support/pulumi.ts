// Running the real Pulumi engine offline from tests.
//
// test/pulumi/build.sh builds the CLI (pkg/v3 v3.259.0), the Node.js and YAML language hosts and the
// Kubernetes resource plugin (4.25.0) from Go modules into a per-user cache, and prints that
// directory. `pulumiToolchain()` runs it once per process; if the toolchain cannot be built it
// THROWS (tests that need the engine must fail, not skip). See test/pulumi/README.md.
//
// `PulumiWorkspace` is a throwaway project (Pulumi.yaml + program + a symlink to the repo's
// node_modules) with its own file backend and PULUMI_HOME, driven through the CLI.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { exampleProjectName, installExample } from "./package";

/** Repository root: the nearest ancestor holding test/pulumi/build.sh (works from dist/ too). */
export function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "test", "pulumi", "build.sh"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no test/pulumi/build.sh above ${__dirname}`);
  }
}

export interface PulumiToolchain {
  /** The cache directory build.sh printed. */
  dir: string;
  /** Holds pulumi, pulumi-language-nodejs, pulumi-language-yaml and pulumi-resource-pulumi-nodejs. */
  binDir: string;
  /** The pulumi CLI. */
  pulumi: string;
  /** A PULUMI_HOME whose plugins/ holds the kubernetes resource plugin. Treat as read-only. */
  home: string;
}

let toolchain: PulumiToolchain | undefined;

/**
 * Runs test/pulumi/build.sh once per process and returns the toolchain's paths. A warm cache takes
 * well under a second; a cold build compiles the CLI and the Kubernetes provider (minutes).
 * Throws an Error with build.sh's output if the toolchain cannot be built.
 */
export function pulumiToolchain(): PulumiToolchain {
  if (toolchain) return toolchain;
  const script = path.join(repoRoot(), "test", "pulumi", "build.sh");
  const r = spawnSync("bash", [script], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
  const fail = (why: string): never => {
    throw new Error(
      `The Pulumi toolchain could not be built (${why}); tests that need the Pulumi engine cannot run.\n` +
        `Command: bash ${script}\nSee test/pulumi/README.md.\n--- build.sh stderr ---\n${(r.stderr ?? "").trim()}`,
    );
  };
  if (r.error) fail(`could not run bash: ${r.error.message}`);
  if (r.status !== 0) fail(r.signal ? `build.sh killed by ${r.signal}` : `build.sh exited ${r.status}`);
  const dir = (r.stdout ?? "").trim().split("\n").pop() ?? "";
  const tc: PulumiToolchain = {
    dir,
    binDir: path.join(dir, "bin"),
    pulumi: path.join(dir, "bin", "pulumi"),
    home: path.join(dir, "home"),
  };
  for (const f of [tc.pulumi, path.join(tc.binDir, "pulumi-language-nodejs"), path.join(tc.binDir, "pulumi-language-yaml"), path.join(tc.home, "plugins")]) {
    if (!fs.existsSync(f)) fail(`build.sh succeeded but ${f} is missing`);
  }
  toolchain = tc;
  return tc;
}

export const TEST_PASSPHRASE = "fleetscale-test-passphrase";

export interface PulumiEnvOptions {
  /** Directory for the file backend (PULUMI_BACKEND_URL=file://<dir>). */
  backendDir: string;
  /** PULUMI_HOME; defaults to the toolchain's shared (read-only) home. */
  home?: string;
  /** Extra variables, applied last. */
  extra?: Record<string, string>;
}

/**
 * Environment for running pulumi offline: our bin dir first on PATH, then the repo's
 * node_modules/.bin (Node 22 from the `node` devDependency), a file backend, a fixed passphrase,
 * no plugin downloads, no update check, and no Pulumi Cloud credentials.
 */
export function pulumiEnv(tc: PulumiToolchain, opts: PulumiEnvOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ["PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_STACK", "PULUMI_BACKEND_URL"]) delete env[k];
  return {
    ...env,
    PATH: [tc.binDir, path.join(repoRoot(), "node_modules", ".bin"), process.env["PATH"] ?? ""].join(path.delimiter),
    PULUMI_HOME: opts.home ?? tc.home,
    PULUMI_BACKEND_URL: `file://${opts.backendDir}`,
    PULUMI_CONFIG_PASSPHRASE: TEST_PASSPHRASE,
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    ...(opts.extra ?? {}),
  };
}

export interface RunResult {
  args: string[];
  /** Exit status; -1 if killed. */
  status: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time in ms. */
  ms: number;
}

/** One engine event of `pulumi up|refresh|destroy --json` (newline-delimited JSON). */
export type EngineEvent = Record<string, any> & { sequence?: number; timestamp?: number };

export interface OperationResult extends RunResult {
  events: EngineEvent[];
}

/** A step of `pulumi preview --json`. */
export interface PreviewStep {
  op: string;
  urn: string;
  provider?: string;
  oldState?: { type?: string; inputs?: Record<string, any>; outputs?: Record<string, any> };
  newState?: { type?: string; inputs?: Record<string, any>; outputs?: Record<string, any> };
  diffReasons?: string[];
  replaceReasons?: string[];
  /** Per-property diff: `{ "spec.replicas": { kind: "update", inputDiff: true } }`; null when the provider gives none. */
  detailedDiff?: Record<string, { kind: string; inputDiff?: boolean }> | null;
}

export interface PreviewResult extends RunResult {
  /** The parsed `--json` document, if stdout held one. */
  json?: {
    config?: Record<string, string>;
    steps?: PreviewStep[];
    diagnostics?: Array<{ message: string; severity: string; urn?: string }>;
    duration?: number;
    changeSummary?: Record<string, number>;
  };
  steps: PreviewStep[];
  changeSummary: Record<string, number>;
}

export type ConfigValue = string | { value: string; secret?: boolean; path?: boolean };

export interface WorkspaceOptions {
  /** Program source, written to index.ts (or index.js if `javascript` is set). Exactly one of `program`, `yaml` and `example`. */
  program?: string;
  /** A Pulumi YAML program: the whole Pulumi.yaml (`runtime: yaml`), written instead of a Node.js project. */
  yaml?: string;
  /**
   * An example program (a directory under examples/) installed as a user installs it: its own
   * Pulumi.yaml and package.json, fleetscale from the packed repository.
   */
  example?: string;
  /** A file backend shared with other workspaces, for stack references; default: its own. */
  backendDir?: string;
  javascript?: boolean;
  /** Other files to write into the project dir (relative path -> contents). */
  files?: Record<string, string>;
  project?: string;
  stack?: string;
  /** `pulumi config set` values; keys without a namespace get the project's. */
  config?: Record<string, ConfigValue>;
  /** PULUMI_NODEJS_TRANSPILE_ONLY=true: skip TypeScript type-checking (faster). Default false. */
  transpileOnly?: boolean;
  /** Extra environment for every pulumi command. */
  env?: Record<string, string>;
  /** Per-command timeout in ms (default 10 minutes); the command is sent SIGTERM, then SIGKILL. */
  timeoutMs?: number;
  toolchain?: PulumiToolchain;
}

/**
 * A throwaway Pulumi project + file backend under os.tmpdir(), using the repo's node_modules.
 * Each workspace has its own PULUMI_HOME whose plugins/ is a symlink to the toolchain's, so
 * workspaces can run in parallel without sharing mutable state.
 */
export class PulumiWorkspace {
  readonly root: string;
  readonly projectDir: string;
  readonly backendDir: string;
  readonly project: string;
  readonly stack: string;
  readonly env: NodeJS.ProcessEnv;
  readonly toolchain: PulumiToolchain;
  private readonly timeoutMs: number;

  private constructor(tc: PulumiToolchain, root: string, project: string, stack: string, opts: WorkspaceOptions) {
    this.toolchain = tc;
    this.root = root;
    this.projectDir = path.join(root, "project");
    this.backendDir = opts.backendDir ?? path.join(root, "backend");
    this.project = project;
    this.stack = stack;
    this.timeoutMs = opts.timeoutMs ?? 10 * 60 * 1000;
    const extra: Record<string, string> = { ...(opts.env ?? {}) };
    if (opts.transpileOnly) extra["PULUMI_NODEJS_TRANSPILE_ONLY"] = "true";
    this.env = pulumiEnv(tc, { backendDir: this.backendDir, home: path.join(root, "home"), extra });
  }

  /** Creates the project, `pulumi stack init`s the stack and sets the config. */
  static async create(opts: WorkspaceOptions): Promise<PulumiWorkspace> {
    const tc = opts.toolchain ?? pulumiToolchain();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "fleetscale-pulumi-"));
    const project = opts.project ?? (opts.example !== undefined ? exampleProjectName(opts.example) : "fleetscale-test");
    const ws = new PulumiWorkspace(tc, root, project, opts.stack ?? "test", opts);
    try {
      fs.mkdirSync(ws.backendDir, { recursive: true });
      fs.mkdirSync(path.join(root, "home"));
      fs.symlinkSync(path.join(tc.home, "plugins"), path.join(root, "home", "plugins"), "dir");
      if ([opts.program, opts.yaml, opts.example].filter((given) => given !== undefined).length !== 1) {
        throw new Error("PulumiWorkspace.create: give exactly one of program, yaml and example");
      }
      if (opts.example !== undefined) installExample(opts.example, ws.projectDir);
      else ws.writeProject(opts);
      check(await ws.run(["stack", "init", ws.stack]));
      for (const [k, v] of Object.entries(opts.config ?? {})) await ws.setConfig(k, v);
    } catch (err) {
      ws.cleanup();
      throw err;
    }
    return ws;
  }

  private writeProject(opts: WorkspaceOptions): void {
    const main = opts.javascript ? "index.js" : "index.ts";
    fs.mkdirSync(this.projectDir);
    if (opts.yaml !== undefined) {
      fs.writeFileSync(path.join(this.projectDir, "Pulumi.yaml"), opts.yaml);
    } else {
      fs.writeFileSync(
        path.join(this.projectDir, "Pulumi.yaml"),
        `name: ${this.project}\nruntime:\n  name: nodejs\n  options:\n    typescript: ${!opts.javascript}\nmain: ${main}\n`,
      );
      fs.writeFileSync(path.join(this.projectDir, "package.json"), JSON.stringify({ name: this.project, version: "0.0.0", private: true, main }, null, 2));
      fs.writeFileSync(path.join(this.projectDir, main), opts.program ?? "");
    }
    for (const [rel, text] of Object.entries(opts.files ?? {})) {
      const f = path.join(this.projectDir, rel);
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, text);
    }
    fs.symlinkSync(path.join(repoRoot(), "node_modules"), path.join(this.projectDir, "node_modules"), "dir");
  }

  /** Runs `pulumi --non-interactive <args>` in the project dir; resolves (never rejects) on exit. */
  run(args: string[]): Promise<RunResult> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn(this.toolchain.pulumi, ["--non-interactive", ...args], {
        cwd: this.projectDir,
        env: this.env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      let killer: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        err.push(Buffer.from(`\n[pulumi-helper] timed out after ${this.timeoutMs} ms; sending SIGTERM\n`));
        child.kill("SIGTERM");
        killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      }, this.timeoutMs);
      child.on("error", (e) => {
        clearTimeout(timer);
        if (killer) clearTimeout(killer);
        reject(e);
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (killer) clearTimeout(killer);
        resolve({
          args,
          status: code ?? -1,
          signal,
          stdout: Buffer.concat(out).toString("utf8"),
          stderr: Buffer.concat(err).toString("utf8"),
          ms: Date.now() - started,
        });
      });
    });
  }

  /** `pulumi config set [--secret] [--path] -- key value`. */
  async setConfig(key: string, value: ConfigValue): Promise<void> {
    const v = typeof value === "string" ? { value } : value;
    const flags = [...(v.secret ? ["--secret"] : []), ...(v.path ? ["--path"] : [])];
    check(await this.run(["config", "set", "--stack", this.stack, ...flags, "--", key, v.value]));
  }

  /** `pulumi preview --diff --json`: the per-resource steps (with detailedDiff) parsed. */
  async preview(extraArgs: string[] = []): Promise<PreviewResult> {
    const r = await this.run(["preview", "--diff", "--json", "--stack", this.stack, ...extraArgs]);
    let json: PreviewResult["json"];
    try {
      json = JSON.parse(r.stdout);
    } catch {
      json = undefined;
    }
    return { ...r, json, steps: json?.steps ?? [], changeSummary: json?.changeSummary ?? {} };
  }

  /** `pulumi up --yes --skip-preview --json`; events are the engine events. */
  up(extraArgs: string[] = []): Promise<OperationResult> {
    return this.operation(["up", "--yes", "--skip-preview", ...extraArgs]);
  }

  /** `pulumi refresh --yes --skip-preview --json`. */
  refresh(extraArgs: string[] = []): Promise<OperationResult> {
    return this.operation(["refresh", "--yes", "--skip-preview", ...extraArgs]);
  }

  /** `pulumi destroy --yes --skip-preview --json`. */
  destroy(extraArgs: string[] = []): Promise<OperationResult> {
    return this.operation(["destroy", "--yes", "--skip-preview", ...extraArgs]);
  }

  private async operation(args: string[]): Promise<OperationResult> {
    const r = await this.run([...args, "--json", "--stack", this.stack]);
    return { ...r, events: parseEvents(r.stdout) };
  }

  /** The stack's outputs (`pulumi stack output --json --show-secrets`). */
  async outputs(): Promise<Record<string, any>> {
    return JSON.parse(check(await this.run(["stack", "output", "--json", "--show-secrets", "--stack", this.stack])).stdout);
  }

  /** The stack's checkpoint (`pulumi stack export`; `showSecrets` decrypts secrets). */
  async exportStack(showSecrets = false): Promise<{ version: number; deployment: { resources?: Array<Record<string, any>> } & Record<string, any> }> {
    const args = ["stack", "export", "--stack", this.stack, ...(showSecrets ? ["--show-secrets"] : [])];
    return JSON.parse(check(await this.run(args)).stdout);
  }

  /** Removes the project, backend and home. Does not destroy resources: call destroy() first. */
  cleanup(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** Throws with the captured output unless the command succeeded. */
export function check<R extends RunResult>(r: R): R {
  if (r.status !== 0) {
    throw new Error(`pulumi ${r.args.join(" ")} exited ${r.signal ?? r.status}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
  }
  return r;
}

/** Parses newline-delimited engine events, ignoring lines that are not JSON objects. */
export function parseEvents(stdout: string): EngineEvent[] {
  const events: EngineEvent[] = [];
  for (const line of stdout.split("\n")) {
    const t = line.trim();
    if (!t.startsWith("{")) continue;
    try {
      events.push(JSON.parse(t));
    } catch {
      // not an event line
    }
  }
  return events;
}

/** The error diagnostics among engine events (program exceptions, provider failures). */
export function errorDiagnostics(events: EngineEvent[]): string[] {
  return events
    .map((e) => e["diagnosticEvent"])
    .filter((d): d is { severity: string; message: string } => !!d && d.severity === "error")
    .map((d) => d.message);
}
