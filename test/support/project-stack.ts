/**
 * The real fleetscale project (this repository's Pulumi.yaml and index.ts) on a throwaway
 * stack: its config in stacks/Pulumi.e2e-<id>.yaml (git-ignored, removed afterwards), its
 * state in a temporary file backend. Tests drive it with the real Pulumi CLI and engine.
 * Another checkout of the project can drive the same stack (sameStackIn, for benchmarks).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { type PulumiToolchain, type RunResult, check, pulumiEnv, pulumiToolchain, repoRoot } from "./pulumi";

export class ProjectStack {
  readonly stack: string;
  readonly configFile: string;
  readonly env: NodeJS.ProcessEnv;
  /** The stack's file backend: other workspaces share it for stack references. */
  readonly backendDir: string;
  /** Everything pulumi printed, for checks that no secret is ever logged. */
  readonly transcript: string[] = [];
  /** Whether cleanup() removes the state (false for a view from another checkout, sameStackIn). */
  private readonly ownsState: boolean;

  private constructor(
    private readonly toolchain: PulumiToolchain,
    private readonly root: string,
    /** The project directory pulumi runs in. */
    readonly projectDir: string,
    shared?: { stack: string; env: NodeJS.ProcessEnv },
  ) {
    this.ownsState = shared === undefined;
    this.stack = shared?.stack ?? `e2e-${randomBytes(4).toString("hex")}`;
    this.configFile = path.join(projectDir, "stacks", `Pulumi.${this.stack}.yaml`);
    this.backendDir = path.join(root, "backend");
    if (shared) {
      this.env = shared.env;
      return;
    }
    fs.mkdirSync(this.backendDir);
    fs.mkdirSync(path.join(root, "home"));
    fs.symlinkSync(path.join(toolchain.home, "plugins"), path.join(root, "home", "plugins"), "dir");
    this.env = pulumiEnv(toolchain, { backendDir: this.backendDir, home: path.join(root, "home") });
  }

  /** `config` is the stack's `fleetscale:` config: { hub, members, workloads }. */
  static async create(config: Record<string, unknown>): Promise<ProjectStack> {
    const stack = new ProjectStack(pulumiToolchain(), fs.mkdtempSync(path.join(os.tmpdir(), "fleetscale-e2e-")), repoRoot());
    try {
      check(await stack.run(["stack", "init", "--secrets-provider", "passphrase"]));
      stack.writeConfig(config);
    } catch (error) {
      stack.cleanup();
      throw error;
    }
    return stack;
  }

  /**
   * This stack (same state, same config) driven from another checkout of the project in
   * `projectDir`. Its cleanup() removes only its copy of the config; this one's removes the state.
   */
  sameStackIn(projectDir: string): ProjectStack {
    const other = new ProjectStack(this.toolchain, this.root, projectDir, { stack: this.stack, env: this.env });
    fs.mkdirSync(path.dirname(other.configFile), { recursive: true });
    fs.copyFileSync(this.configFile, other.configFile);
    return other;
  }

  /** Replaces the fleetscale config, keeping what `stack init` wrote (the encryption salt). */
  writeConfig(config: Record<string, unknown>): void {
    const existing = fs.existsSync(this.configFile) ? (parse(fs.readFileSync(this.configFile, "utf8")) ?? {}) : {};
    const values = Object.fromEntries(Object.entries(config).map(([key, value]) => [`fleetscale:${key}`, value]));
    fs.writeFileSync(this.configFile, stringify({ ...existing, config: values }));
  }

  run(args: string[], input?: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<RunResult> {
    const started = Date.now();
    const full = ["--non-interactive", ...args, "--stack", this.stack];
    return new Promise((resolve, reject) => {
      const child = spawn(this.toolchain.pulumi, full, { cwd: this.projectDir, env: { ...this.env, ...extraEnv }, stdio: ["pipe", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      child.stdin.end(input ?? "");
      child.on("error", reject);
      child.on("close", (status, signal) => {
        const result: RunResult = { args: full, status: status ?? -1, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), ms: Date.now() - started };
        this.transcript.push(result.stdout, result.stderr);
        resolve(result);
      });
    });
  }

  async preview(...flags: string[]): Promise<RunResult> {
    return check(await this.run(["preview", "--diff", ...flags]));
  }

  async up(): Promise<RunResult> {
    return check(await this.run(["up", "--yes", "--skip-preview"]));
  }

  async destroy(): Promise<RunResult> {
    return check(await this.run(["destroy", "--yes", "--skip-preview"]));
  }

  /** The stack's state as `pulumi stack export` gives it (secrets stay encrypted). */
  async exportState(): Promise<string> {
    return check(await this.run(["stack", "export"])).stdout;
  }

  cleanup(): void {
    fs.rmSync(this.configFile, { force: true });
    if (this.ownsState) fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** The changes a `pulumi preview` summary reports, e.g. { update: 2, same: 29 }. */
export function changeSummary(previewText: string): Record<string, number> {
  const summary: Record<string, number> = {};
  const block = previewText.slice(previewText.lastIndexOf("Resources:"));
  for (const match of block.matchAll(/^\s*(?:[+~-]\s+)?(\d+) (to create|to update|to delete|to replace|unchanged|created|updated|deleted|replaced)/gm)) {
    summary[match[2]!.replace(/^to /, "")] = Number(match[1]);
  }
  return summary;
}
