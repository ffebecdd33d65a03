/** promtool (Prometheus' rule checker and rule unit-test runner), built by test/promtool/build.sh. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { toolchainOutput } from "./fleet";

export function promtoolPath(): string {
  return join(toolchainOutput("test/promtool/build.sh"), "promtool");
}

/** Runs promtool; its output whatever the outcome, and whether it exited 0. */
export function promtool(args: string[], cwd: string): { ok: boolean; output: string } {
  const result = spawnSync(promtoolPath(), args, { cwd, encoding: "utf8", timeout: 120_000 });
  if (result.error) throw result.error;
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}
