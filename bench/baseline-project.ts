/**
 * The whole project as it was at another git revision, extracted and built in a temporary
 * directory, for benchmarks that run the Pulumi program side by side with its older self
 * (same stack, same fleet: ProjectStack.sameStackIn). It shares this checkout's node_modules.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface BaselineProject {
  commit: string;
  dir: string;
  remove(): void;
}

export function checkoutBaselineProject(revision: string): BaselineProject {
  const root = join(__dirname, "..", "..");
  const commit = execFileSync("git", ["rev-parse", "--short", `${revision}^{commit}`], { cwd: root, encoding: "utf8" }).trim();
  const dir = mkdtempSync(join(tmpdir(), `fleetscale-project-${commit}-`));
  try {
    execFileSync("bash", ["-o", "pipefail", "-c", `git archive ${commit} | tar -x -C "${dir}"`], { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
    symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
    // Built as `npm run build` builds it: the program's provider module comes from dist/.
    execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot build the project at ${commit}: ${(error as Error).message}`);
  }
  return { commit, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
