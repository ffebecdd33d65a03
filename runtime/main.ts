/**
 * The scaler runtime's entry point, as the ScalerHub Deployment runs it
 * (`node dist/runtime/main.js`) and as it runs locally:
 * `node dist/runtime/main.js --kubeconfig hub.kubeconfig --namespace fleetscale-system`.
 */
import { CommanderError } from "commander";
import { type RuntimeOptions, parseOptions } from "./options";
import { startRuntime } from "./runtime";

async function main(): Promise<void> {
  let options: RuntimeOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    // --help and --version end here too, with exit code 0.
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
    throw error;
  }
  const runtime = await startRuntime(options);
  const shutdown = (signal: string) => {
    runtime.log.info({ signal }, "shutting down");
    runtime.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        runtime.log.error({ err: (error as Error).message }, "unclean shutdown");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

main().catch((error: unknown) => {
  process.stderr.write(`fleetscale-runtime: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
