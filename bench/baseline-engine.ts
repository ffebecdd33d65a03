/**
 * The engine as it was at another git revision, compiled on the fly, for benchmarks that
 * compare side by side in one process. Only engine/ is taken: it imports nothing else.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Plan, PlanInput } from "../engine/plan";

export interface BaselineEngine {
  commit: string;
  plan: (input: PlanInput) => Plan;
}

export function loadBaselineEngine(revision: string): BaselineEngine {
  const root = join(__dirname, "..", "..");
  const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
  const commit = git("rev-parse", "--short", `${revision}^{commit}`).trim();
  const dir = mkdtempSync(join(tmpdir(), `fleetscale-engine-${commit}-`));
  const files = git("ls-tree", "-r", "--name-only", commit, "engine/").split("\n").filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), git("show", `${commit}:${file}`));
  }
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  // Type errors from files outside engine/ that an old revision referred to do not stop the emit.
  try {
    execFileSync(process.execPath, [tsc, "--outDir", join(dir, "out"), "--module", "commonjs", "--target", "es2022", "--skipLibCheck", "--types", "node", join(dir, "engine", "plan.ts")], { stdio: "pipe" });
  } catch {
    // tsc exits non-zero on type errors but still writes the JavaScript.
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { plan } = require(join(dir, "out", "plan.js")) as { plan: BaselineEngine["plan"] };
  return { commit, plan };
}
