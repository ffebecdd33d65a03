/** The `fleetscale` command. Subcommands live one per file; this wires them to argv. */
import { Command, CommanderError, Option } from "commander";
import { ValidationError } from "../schema/validate";
import { localDown, localUp } from "./local";
import { addMember, listMembers, removeMember } from "./member";
import { runPlan } from "./plan";
import { PulumiNotFoundError } from "./pulumi-cli";
import { printAll, runSimulate } from "./simulate";
import { PulumiCommandError } from "./stack-config-store";

/** Exit codes: 0 done, 2 invalid input or no Pulumi CLI (nothing was changed), 1 anything else. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command("fleetscale")
    .description("One scaling brain for a fleet of Kubernetes clusters")
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  program
    .command("plan")
    .description("print the steady-state plan the scaler would apply for a DistributedScaledObject")
    .requiredOption("-f, --file <dso.yaml>", "manifest with the DistributedScaledObject (fleetscale.io or keda.kedify.io)")
    .option("-t, --total <replicas>", "total replicas to distribute, kept within scaledObjectSpec's minReplicaCount..maxReplicaCount as KEDA would (default: spec.totalTargetReplicas)")
    .option("--down <member[=duration]>", "treat a member as unreachable for that long (default: its grace period); repeatable", collect, [])
    .option("--members <names>", "registered members, comma-separated, for a manifest whose memberClusters is empty")
    .option("--name <name>", "which DistributedScaledObject, when the file holds several")
    .addOption(new Option("-o, --output <format>", "output format").choices(["table", "json"]).default("table"))
    .action((options) => {
      const { stdout, notes } = runPlan(options);
      process.stdout.write(stdout);
      for (const note of notes) process.stderr.write(`note: ${note}\n`);
    });

  program
    .command("simulate")
    .description("play a scenario (outages, returns, total and weight changes) through the scaler over simulated time")
    .requiredOption("-f, --file <dso.yaml>", "manifest with the DistributedScaledObject (fleetscale.io or keda.kedify.io)")
    .requiredOption("--scenario <scenario.yaml>", "what happens when: total, step, duration, readyAfter and events (see examples/scenarios)")
    .option("--svg <file>", "also write a chart of ready replicas, outages and states over time")
    .option("--members <names>", "registered members, comma-separated, for a manifest whose memberClusters is empty")
    .option("--name <name>", "which DistributedScaledObject, when the file holds several")
    .addOption(new Option("-o, --output <format>", "output format").choices(["table", "json"]).default("table"))
    .action((options) => printAll(runSimulate(options)));

  const member = program.command("member").description("manage the stack's member clusters (the next `pulumi up` applies the change)");
  const stackOptions = (command: Command) =>
    command.option("-s, --stack <stack>", "Pulumi stack (default: the selected one)").option("-C, --cwd <dir>", "Pulumi project directory", process.cwd());
  stackOptions(
    member
      .command("add <name>")
      .description("add a member: its kubeconfig is stored as a Pulumi secret")
      .requiredOption("--kubeconfig <file>", "the member's admin kubeconfig, used by Pulumi to onboard it")
      .option("--api-url <url>", "how the hub reaches the member's API server, if not the kubeconfig's server")
      .option("--weight <n>", "weight in workloads that do not list their members", "1")
      .option("--by-path", "store the kubeconfig file's path instead of its content"),
  ).action((name: string, options) => void process.stdout.write(addMember(name, options)));
  stackOptions(member.command("list").description("list members with their health, weight and workloads"))
    .addOption(new Option("-o, --output <format>", "output format").choices(["table", "json"]).default("table"))
    .action(async (options) => void process.stdout.write(await listMembers(options)));
  stackOptions(member.command("remove <name>").description("remove a member; the next `pulumi up` offboards it and deletes its RBAC")).action(
    (name: string, options) => void process.stdout.write(removeMember(name, options)),
  );

  const local = program.command("local").description("the embedded local fleet: real API servers and the real Pulumi engine, built from Go modules");
  local
    .command("up")
    .description("start the local fleet with a real node in the hub, apply the local stack (the runtime runs as the hub's pods), then follow the runtime's logs")
    .option("--no-logs", "stop once the runtime's pods are ready")
    .action(async (options: { logs: boolean }) => localUp(options));
  local.command("down").description("destroy the local stack and stop the local fleet").action(() => localDown());

  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof ValidationError || error instanceof PulumiCommandError || error instanceof PulumiNotFoundError) {
      process.stderr.write(`fleetscale: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`fleetscale: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
