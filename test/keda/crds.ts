/**
 * KEDA's real CRDs for tests, from the KEDA Go module (see crds.sh): the API server then
 * validates our ScaledObjects against exactly the schema a KEDA install would.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { type LocalFleet, repoRoot } from "../support/fleet";

export interface KedaCrds {
  /** The module's config/crd/bases directory. */
  dir: string;
  /** The KEDA version they come from, e.g. v2.21.0. */
  version: string;
}

let cached: KedaCrds | undefined;

/** Downloads (once; the Go module cache keeps it) and locates KEDA's CRDs. */
export function kedaCrds(): KedaCrds {
  if (cached === undefined) {
    const run = spawnSync(join(repoRoot, "test/keda/crds.sh"), { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`test/keda/crds.sh failed (${run.status}): ${run.stderr}`);
    const dir = run.stdout.trim().split("\n").at(-1)!;
    const version = /KEDA (v\S+)/.exec(run.stderr)?.[1] ?? "unknown";
    cached = { dir, version };
  }
  return cached;
}

/**
 * Installs KEDA's CRDs (ScaledObject by default) into one cluster of a fleet and waits
 * until the API server serves them. Only the CRDs: no KEDA operator runs.
 */
export function installKedaCrds(fleet: LocalFleet, cluster: string, files = ["keda.sh_scaledobjects.yaml"]): KedaCrds {
  const crds = kedaCrds();
  for (const file of files) {
    // create, not apply: apply's last-applied annotation can outgrow the limit on large CRDs.
    fleet.kubectl(cluster, "create", "-f", join(crds.dir, file));
  }
  fleet.kubectl(cluster, "wait", "--for=condition=Established", "--timeout=60s", ...files.map(crdNameOf));
  return crds;
}

/** KEDA's files are named <group>_<plural>.yaml; the CRD is <plural>.<group>. */
function crdNameOf(file: string): string {
  const match = /^(.+)_([^_]+)\.yaml$/.exec(file);
  if (!match) throw new Error(`not a KEDA CRD file name: ${file}`);
  return `crd/${match[2]}.${match[1]}`;
}
