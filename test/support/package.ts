/**
 * fleetscale as a user's program gets it: the repository packed as npm would publish it, and
 * an example program installed with its own package.json, fleetscale coming from that pack.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot } from "./pulumi";

let packed: string | undefined;

/** `npm pack` of the built repository (dist must be built), once per process: the tarball's path. */
export function packedFleetscale(): string {
  if (packed) return packed;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleetscale-pack-"));
  // --ignore-scripts: `prepare` would rebuild dist, which the test process is running from.
  const name = execFileSync("npm", ["pack", "--ignore-scripts", "--pack-destination", dir], { cwd: repoRoot(), encoding: "utf8", env: npmEnv() }).trim().split("\n").pop()!;
  packed = path.join(dir, name);
  return packed;
}

/**
 * Copies examples/<example> into `dir` and runs `npm install` there, with its fleetscale
 * dependency pointed at the packed repository (never a registry package of that name).
 */
export function installExample(example: string, dir: string): void {
  fs.cpSync(path.join(repoRoot(), "examples", example), dir, { recursive: true });
  const manifestFile = path.join(dir, "package.json");
  const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
  manifest.dependencies.fleetscale = `file:${packedFleetscale()}`;
  fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
  // --ignore-scripts: @pulumi/kubernetes' install script would download a provider plugin; the
  // toolchain's is used. --prefer-offline: the repository's own install filled npm's cache.
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"], env: npmEnv() });
}

/** The project name in the example's Pulumi.yaml: stack references name it. */
export function exampleProjectName(example: string): string {
  const name = /^name:\s*(\S+)\s*$/m.exec(fs.readFileSync(path.join(repoRoot(), "examples", example, "Pulumi.yaml"), "utf8"))?.[1];
  if (name === undefined) throw new Error(`examples/${example}/Pulumi.yaml has no name`);
  return name;
}

/** npm run by the project's Node 22 (node_modules/.bin first), as `npm test` runs it. */
function npmEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: [path.join(repoRoot(), "node_modules", ".bin"), process.env["PATH"] ?? ""].join(path.delimiter) };
}
