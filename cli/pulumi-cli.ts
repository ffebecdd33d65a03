/**
 * Which Pulumi CLI `fleetscale` runs, and with what environment. `fleetscale local` builds the
 * toolchain and applies the local stack; `fleetscale member` only looks for a CLI, and reaches
 * the local stack as `npm start` left it, from any terminal, whatever that terminal's environment.
 */
import { accessSync, constants, existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { parse } from "yaml";
import type { StackRef } from "./stack-config-store";

/** This package: bin/, node_modules/ (Node 22) and the Pulumi project `npm start` applies. */
export const packageRoot = resolve(__dirname, "../..");

/** The stack `npm start` applies. */
const LOCAL_STACK = "local";

export class PulumiNotFoundError extends Error {
  constructor(buildsDir: string) {
    super(`no Pulumi CLI: \`pulumi\` is not on PATH and none is built in ${buildsDir}; run \`npm run toolchain\` in ${packageRoot} to build it from Go modules, or install Pulumi`);
    this.name = "PulumiNotFoundError";
  }
}

/** Where `npm start` keeps the local stack's state: a file backend inside the project. */
export function localStateDir(projectDir: string): string {
  return join(projectDir, ".fleet", "state");
}

/**
 * The environment `npm start` runs pulumi with on the local stack of `projectDir`. `pulumiDir` is
 * the built toolchain, whose PULUMI_HOME holds the Kubernetes plugin; without it (a user's own
 * pulumi and no build), their own PULUMI_HOME serves, as nothing but config is read then.
 */
export function localStackEnv(projectDir: string, pulumiDir: string | undefined): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // The built language host first, then Node 22 for the program.
    PATH: [...(pulumiDir ? [join(pulumiDir, "bin")] : []), join(packageRoot, "node_modules/.bin"), process.env.PATH].join(delimiter),
    ...(pulumiDir ? { PULUMI_HOME: join(pulumiDir, "home") } : {}),
    PULUMI_BACKEND_URL: `file://${localStateDir(projectDir)}`,
    // The local stack holds no secret; its fixed passphrase matches the salt committed in
    // stacks/Pulumi.local.yaml, so `npm start` leaves the working tree as it was.
    PULUMI_CONFIG_PASSPHRASE: "fleetscale-local",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
}

export interface PulumiCli {
  command: string;
  env: NodeJS.ProcessEnv;
}

/**
 * The pulumi to run on a stack: the user's own on PATH, else the project's build. The local stack
 * gets `npm start`'s environment; any other stack the user's (backend, login, passphrase).
 */
export function pulumiCli(ref: StackRef): PulumiCli {
  const built = builtPulumiDir();
  const command = onPath("pulumi") ?? (built && join(built, "bin", "pulumi"));
  if (!command) throw new PulumiNotFoundError(pulumiBuildsDir());
  const project = projectDir(ref.cwd);
  const local = ref.stack === LOCAL_STACK && project !== undefined && projectName(project) === projectName(packageRoot);
  return { command, env: local ? localStackEnv(project, built) : process.env };
}

/** An executable file of that name in a PATH directory, as a shell would find it. */
function onPath(name: string): string | undefined {
  // An empty entry would mean the working directory: never run a pulumi that happens to lie there.
  for (const dir of (process.env.PATH ?? "").split(delimiter).filter(Boolean)) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not there, or not executable: the next directory
    }
  }
  return undefined;
}

/** Where test/pulumi/build.sh keeps its builds, with the script's own defaults. */
function pulumiBuildsDir(): string {
  const cache = process.env.FLEETSCALE_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "fleetscale");
  return join(cache, "pulumi");
}

/**
 * The newest build test/pulumi/build.sh completed (`npm start`, `npm test` and `npm run toolchain`
 * run it). Its cache key hashes build.sh's inputs, so finding the build of today's sources would
 * copy build.sh here; any build reads and edits stack config, and `npm start` builds (or finds)
 * the one it runs just before it runs it, which makes that one the newest.
 */
function builtPulumiDir(): string | undefined {
  const builds = pulumiBuildsDir();
  if (!existsSync(builds)) return undefined;
  const completed = (dir: string) => join(dir, ".complete");
  return readdirSync(builds)
    .filter((name) => !name.startsWith(".")) // .tmp-* are builds in progress
    .map((name) => join(builds, name))
    .filter((dir) => existsSync(completed(dir)) && existsSync(join(dir, "bin", "pulumi")))
    .sort((a, b) => statSync(completed(b)).mtimeMs - statSync(completed(a)).mtimeMs)[0];
}

/** The Pulumi project `dir` is in, found as pulumi finds it: the nearest Pulumi.yaml upwards. */
function projectDir(dir: string): string | undefined {
  for (let current = resolve(dir); ; current = dirname(current)) {
    if (existsSync(join(current, "Pulumi.yaml"))) return current;
    if (dirname(current) === current) return undefined;
  }
}

/** The project's name: a copy of this project (as tests use) is this project too, with its own .fleet. */
function projectName(dir: string): unknown {
  try {
    return (parse(readFileSync(join(dir, "Pulumi.yaml"), "utf8")) as { name?: unknown } | null)?.name;
  } catch {
    // Unreadable or not YAML: not this project, and pulumi itself will say what is wrong with it.
    return undefined;
  }
}
