/**
 * The runtime image built from the repository's Dockerfile (test/image/build.sh) and podman
 * with the settings these machines need (test/image/containers.conf).
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot, toolchainOutput } from "./fleet";

/** The image reference test/image/build.sh printed (built once per content, cached by podman). */
export function runtimeImage(): string {
  return toolchainOutput("test/image/build.sh");
}

/** Runs podman with the repository's settings; returns its stdout, throws with its stderr. */
export function podman(...args: string[]): string {
  return execFileSync("podman", args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CONTAINERS_CONF: join(repoRoot, "test", "image", "containers.conf") },
  });
}
