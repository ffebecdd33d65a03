/**
 * The turnkey program's step from a stack config to the Fleet's args: kubeconfigPath files
 * read from the operator's machine, and members onboarded by their own stacks looked up in
 * those stacks' outputs. The Fleet component itself reads nothing.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, type StackConfig } from "../schema/stack-config";
import { ValidationError, type FieldProblem } from "../schema/validate";
import type { FleetArgs, FleetMemberArgs } from "./fleet";

export interface CredentialSources {
  readFile(file: string): string;
  /**
   * The scaler kubeconfig a member stack exports as `kubeconfig`, or undefined when it exports
   * none: the stack was destroyed, so its member leaves the fleet.
   */
  memberStackKubeconfig(stack: string): Promise<pulumi.Input<string> | undefined>;
}

export interface StackFleetArgs {
  args: FleetArgs;
  /** Members whose stack exports no kubeconfig any more, with the stack: left out of the fleet. */
  offboarded: { member: string; stack: string }[];
}

/**
 * Resolves every credential, reading kubeconfigPath files relative to `baseDir` (the project
 * directory). Throws a ValidationError naming the config path of every file that cannot be
 * read, so all of them are reported at once.
 */
export async function stackFleetArgs(config: StackConfig, baseDir: string, sources: CredentialSources): Promise<StackFleetArgs> {
  const problems: FieldProblem[] = [];
  const read = (credential: { kubeconfig?: string; kubeconfigPath?: string }, configPath: string): string => {
    if (credential.kubeconfig !== undefined) return credential.kubeconfig;
    const file = path.resolve(baseDir, credential.kubeconfigPath ?? "");
    try {
      return sources.readFile(file);
    } catch (error) {
      problems.push({ path: `${CONFIG_NAMESPACE}:${configPath}.kubeconfigPath`, message: `cannot read ${file}: ${(error as Error).message}` });
      return "";
    }
  };
  const { kubeconfig: _k, kubeconfigPath: _p, ...hub } = config.hub;
  const hubKubeconfig = read(config.hub, "hub");

  const offboarded: StackFleetArgs["offboarded"] = [];
  const members: Record<string, FleetMemberArgs> = {};
  // Stacks are looked up in parallel: each is a round trip to the backend.
  const resolved = await Promise.all(
    Object.entries(config.members).map(async ([name, member]) => {
      const { kubeconfig: _mk, kubeconfigPath: _mp, stack, ...rest } = member;
      if (stack !== undefined) {
        const scalerKubeconfig = await sources.memberStackKubeconfig(stack);
        if (scalerKubeconfig === undefined) offboarded.push({ member: name, stack });
        return [name, scalerKubeconfig === undefined ? undefined : { ...rest, scalerKubeconfig }] as const;
      }
      return [name, member.inHub ? rest : { ...rest, kubeconfig: read(member, `members.${name}`) }] as const;
    }),
  );
  if (problems.length > 0) throw new ValidationError("stack config", problems);
  for (const [name, member] of resolved) if (member !== undefined) members[name] = member;

  const gone = new Set(offboarded.map((o) => o.member));
  const workloads = Object.fromEntries(
    Object.entries(config.workloads).map(([name, workload]) => {
      const memberClusters = workload.memberClusters.filter((m) => !gone.has(m.name));
      // An empty list means "every member": a workload pinned to members that all left must not spread to the rest.
      if (workload.memberClusters.length > 0 && memberClusters.length === 0) {
        const left = workload.memberClusters.map((m) => `${m.name} (${offboarded.find((o) => o.member === m.name)!.stack})`).join(", ");
        problems.push({ path: `${CONFIG_NAMESPACE}:workloads.${name}.memberClusters`, message: `every member it lists has left the fleet, its stack exporting no kubeconfig: ${left}; list a member still in the fleet, or remove the workload` });
      }
      return [name, { ...workload, memberClusters }];
    }),
  );
  if (problems.length > 0) throw new ValidationError("stack config", problems);
  return { args: { hub: { ...hub, kubeconfig: hubKubeconfig }, members, workloads }, offboarded };
}

/** Files as they are on this machine. */
export const readFileText = (file: string) => fs.readFileSync(file, "utf8");
