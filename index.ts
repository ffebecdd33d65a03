/**
 * The fleetscale Pulumi program: one stack, one fleet (stacks/Pulumi.<stack>.yaml).
 */
import * as pulumi from "@pulumi/pulumi";
import { Fleet } from "./components/fleet";
import { loadProgramConfig } from "./schema/stack-config";
import { ValidationError } from "./schema/validate";

const fleet = buildFleet();

function buildFleet(): Fleet {
  try {
    // Every config value, raw: pulumi.Config would warn on every secret read, and the kubeconfigs
    // that are secrets are wrapped in pulumi.secret by the components that use them.
    const config = loadProgramConfig(pulumi.runtime.allConfig());
    // Pulumi runs the program in the project directory, which kubeconfigPath values are relative
    // to. (getRootDirectory() would say so too, but the Node.js language host we build, v3.68,
    // does not pass it to the SDK.)
    return new Fleet("fleet", { config, baseDir: process.cwd() });
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    // One diagnostic per problem, then an error whose stack the CLI does not print: the
    // program stops before registering anything, so nothing is planned for deletion.
    for (const problem of error.problems) void pulumi.log.error(`${problem.path}: ${problem.message}`);
    const count = error.problems.length;
    throw new pulumi.RunError(`invalid ${error.subject}: ${count} ${count === 1 ? "problem" : "problems"}, listed above`);
  }
}

export const hubNamespace = fleet.hubNamespace;
export const memberApiUrls = fleet.memberApiUrls;
export const dsoNames = fleet.dsoNames;
/** What runs per member as the last up or refresh found it; the runtime changes it in between. */
export const replicas = fleet.replicas;
