/**
 * Reads and edits a stack's config through the Pulumi CLI, so that secrets are
 * encrypted by the stack's own secrets provider and never written in plain text here.
 */
import { spawnSync } from "node:child_process";
import { CONFIG_KEYS, CONFIG_NAMESPACE } from "../schema/stack-config";
import { pulumiCli } from "./pulumi-cli";

export interface StackRef {
  /** The Pulumi project directory. */
  cwd: string;
  stack?: string | undefined;
}

export class PulumiCommandError extends Error {
  constructor(args: readonly string[], stderr: string) {
    super(`pulumi ${args.join(" ")} failed: ${stderr.trim() || "no output"}`);
    this.name = "PulumiCommandError";
  }
}

/** Runs pulumi on the stack; `value`, if given, goes last, after `--`, so it can start with a dash. */
function pulumi(ref: StackRef, args: string[], options: { input?: string; value?: string } = {}): string {
  const full = [...args, "--cwd", ref.cwd, ...(ref.stack ? ["--stack", ref.stack] : []), "--non-interactive", ...(options.value === undefined ? [] : ["--", options.value])];
  const input = options.input;
  const { command, env } = pulumiCli(ref);
  const run = spawnSync(command, full, { encoding: "utf8", input, env, maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw new PulumiCommandError(full, run.error.message);
  if (run.status !== 0) throw new PulumiCommandError(full, run.stderr);
  return run.stdout;
}

/**
 * The raw config the program would see, as JSON text per key (what loadStackConfig reads).
 * Decrypted: Pulumi hides a whole structured key behind "[secret]" when any leaf of it is
 * secret, and validating the structure needs it. The values stay in this process, unprinted.
 */
export function readRawConfig(ref: StackRef): Map<string, string> {
  const output = pulumi(ref, ["config", "--json", "--show-secrets"]);
  const values = JSON.parse(output) as Record<string, { value?: string; objectValue?: unknown; secret?: boolean }>;
  const raw = new Map<string, string>();
  for (const key of CONFIG_KEYS) {
    const entry = values[`${CONFIG_NAMESPACE}:${key}`];
    if (entry === undefined) continue;
    raw.set(key, entry.objectValue !== undefined ? JSON.stringify(entry.objectValue) : (entry.value ?? ""));
  }
  return raw;
}

export function setConfigPath(ref: StackRef, path: string, value: string | number, options: { secret?: boolean } = {}): void {
  const args = ["config", "set", "--path", `${CONFIG_NAMESPACE}:${path}`];
  if (options.secret) {
    // From stdin: a multi-line kubeconfig must never appear in a process list.
    pulumi(ref, [...args, "--secret"], { input: String(value) });
  } else {
    pulumi(ref, [...args, "--plaintext"], { value: String(value) });
  }
}

export function removeConfigPath(ref: StackRef, path: string): void {
  pulumi(ref, ["config", "rm", "--path", `${CONFIG_NAMESPACE}:${path}`]);
}

/** One secret value, decrypted (for the hub kubeconfig `member list` needs). */
export function getConfigPath(ref: StackRef, path: string): string {
  return pulumi(ref, ["config", "get", "--path", `${CONFIG_NAMESPACE}:${path}`]).replace(/\n$/, "");
}
