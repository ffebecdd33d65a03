/**
 * The turnkey fleetscale program: one stack, one fleet (stacks/Pulumi.<stack>.yaml). It is a
 * consumer of the package (fleetscale.ts) like any user's program: it reads the stack config,
 * the kubeconfig files and the member stacks' outputs, and hands the Fleet its args as data.
 */
import * as pulumi from "@pulumi/pulumi";
import { Fleet } from "./components/fleet";
import { readFileText, stackFleetArgs } from "./components/stack-fleet-args";
import { loadProgramConfig } from "./schema/stack-config";
import { ValidationError } from "./schema/validate";

export = async () => {
  const fleet = await buildFleet();
  return {
    hubNamespace: fleet.hubNamespace,
    memberApiUrls: fleet.memberApiUrls,
    dsoNames: fleet.dsoNames,
    /** What runs per member as the last up or refresh found it; the runtime changes it in between. */
    replicas: fleet.replicas,
  };
};

async function buildFleet(): Promise<Fleet> {
  try {
    // Every config value, raw: pulumi.Config would warn on every secret read, and the kubeconfigs
    // that are secrets are wrapped in pulumi.secret by the components that use them.
    const config = loadProgramConfig(pulumi.runtime.allConfig());
    // Pulumi runs the program in the project directory, which kubeconfigPath values are relative
    // to. (getRootDirectory() would say so too, but the Node.js language host we build, v3.68,
    // does not pass it to the SDK.)
    const { args, offboarded } = await stackFleetArgs(config, process.cwd(), { readFile: readFileText, memberStackKubeconfig });
    for (const { member, stack } of offboarded) {
      void pulumi.log.warn(`member ${member}: stack ${stack} exports no kubeconfig (destroyed?), so ${member} leaves the fleet: its hub credential is deleted and its replicas move to the other members`);
    }
    return new Fleet("fleet", args);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    // One diagnostic per problem, then an error whose stack the CLI does not print: the
    // program stops before registering anything, so nothing is planned for deletion.
    for (const problem of error.problems) void pulumi.log.error(`${problem.path}: ${problem.message}`);
    const count = error.problems.length;
    throw new pulumi.RunError(`invalid ${error.subject}: ${count} ${count === 1 ? "problem" : "problems"}, listed above`);
  }
}

const memberStacks = new Map<string, pulumi.StackReference>();

/** A member stack's `kubeconfig` output (MemberOnboarding's), kept secret; undefined when it has none. */
async function memberStackKubeconfig(stack: string): Promise<pulumi.Input<string> | undefined> {
  // One reference per stack, however many members name it.
  const reference = memberStacks.get(stack) ?? new pulumi.StackReference(`member-stack-${stack}`, { name: stack });
  memberStacks.set(stack, reference);
  const output = await reference.getOutputDetails("kubeconfig");
  const text = output.secretValue ?? output.value;
  return typeof text === "string" && text.length > 0 ? pulumi.secret(text) : undefined;
}
