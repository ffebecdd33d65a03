/**
 * What Pulumi stores as the DistributedReplicas provider: a loader of about a kilobyte that
 * requires the compiled provider module installed with the program, not the provider's code.
 *
 * Pulumi serializes a dynamic provider into every resource's state, twice (inputs and outputs),
 * and runs refresh and destroy with the copy in state. Serialized by value, the provider carried
 * the engine, the member client and the reconcile loop: ~68 KB per copy, frozen at the version
 * that last changed the resource. Through the loader every operation runs the version installed
 * now, and a state holds only a path.
 *
 * The path is relative to the program's directory, which is where Pulumi starts the dynamic
 * provider process and where that process resolves `require`, so a state stays valid when the
 * project is checked out elsewhere (another machine, CI).
 */
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";

/** The package export of the provider module (package.json "exports"). */
export const PROVIDER_MODULE = "fleetscale/replicas-provider";

/** The compiled provider module as a path from the program's directory (the provider process's cwd). */
export function providerModulePath(): string {
  let resolved: string;
  try {
    resolved = require.resolve(PROVIDER_MODULE);
  } catch (error) {
    throw new Error(`the DistributedReplicas provider ${PROVIDER_MODULE} is not built; build the project (npm run build) or install fleetscale: ${(error as Error).message.split("\n")[0]}`);
  }
  return `./${path.relative(process.cwd(), resolved)}`;
}

let installed: pulumi.dynamic.ResourceProvider | undefined;

/** The loader of the installed provider module: one object, which Pulumi serializes once per program. */
export function installedProviderLoader(): pulumi.dynamic.ResourceProvider {
  installed ??= replicasProviderLoader(providerModulePath());
  return installed;
}

/** A provider that forwards every call to the module at `modulePath`, loaded in the provider process. */
export function replicasProviderLoader(modulePath: string): pulumi.dynamic.ResourceProvider {
  // Everything below is serialized by Pulumi: it may capture only `modulePath`.
  const load = (): Required<pulumi.dynamic.ResourceProvider> => {
    try {
      return require(modulePath).replicasProvider;
    } catch (error) {
      throw new Error(`the DistributedReplicas provider cannot load ${modulePath} from ${process.cwd()}; build the project (npm run build) or install fleetscale there: ${(error as Error).message.split("\n")[0]}`);
    }
  };
  return {
    check: async (olds, news) => load().check(olds, news),
    diff: async (id, olds, news) => load().diff(id, olds, news),
    create: async (inputs) => load().create(inputs),
    update: async (id, olds, news) => load().update(id, olds, news),
    read: async (id, props) => load().read(id, props),
    delete: async (id, props) => load().delete(id, props),
  };
}
