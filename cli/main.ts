/** The `fleetscale` command. Subcommands live one per file; this wires them to argv. */
import { Command, CommanderError, Option } from "commander";
import { ValidationError } from "../schema/validate";
import { runPlan } from "./plan";

/** Exit codes: 0 done, 2 invalid input (nothing was changed), 1 anything else. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command("fleetscale")
    .description("One scaling brain for a fleet of Kubernetes clusters")
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  program
    .command("plan")
    .description("print the steady-state plan the scaler would apply for a DistributedScaledObject")
    .requiredOption("-f, --file <dso.yaml>", "manifest with the DistributedScaledObject (fleetscale.io or keda.kedify.io)")
    .option("-t, --total <replicas>", "total replicas to distribute (default: spec.totalTargetReplicas)")
    .option("--down <member[=duration]>", "treat a member as unreachable for that long (default: its grace period); repeatable", collect, [])
    .option("--members <names>", "registered members, comma-separated, for a manifest whose memberClusters is empty")
    .option("--name <name>", "which DistributedScaledObject, when the file holds several")
    .addOption(new Option("-o, --output <format>", "output format").choices(["table", "json"]).default("table"))
    .action((options) => {
      const { stdout, notes } = runPlan(options);
      process.stdout.write(stdout);
      for (const note of notes) process.stderr.write(`note: ${note}\n`);
    });

  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof ValidationError) {
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
