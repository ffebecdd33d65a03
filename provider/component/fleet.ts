/**
 * The Fleet component as a Pulumi package (`fleetscale:index:Fleet`), for programs in any
 * language: its args are the stack config's three keys as plain data, which the SDK's
 * schema inference can describe, and are validated by the same schema as a stack's config.
 *
 * Why a second class: schema inference needs a class that extends ComponentResource directly
 * and whose args are an interface of inferable types; components/fleet.ts takes the validated
 * StackConfig (zod output types, unions), which it cannot describe.
 */
import * as pulumi from "@pulumi/pulumi";
import { Fleet as FleetResources } from "../../components/fleet";
import { stackConfigSchema } from "../../schema/stack-config";
import { ValidationError, fieldProblems } from "../../schema/validate";

export interface FleetArgs {
  /** As the stack config's `fleetscale:hub`: kubeconfig (text) or kubeconfigPath, namespace, image, replicas, nodeSelector, deleteCrdOnDestroy. */
  hub: { [field: string]: any };
  /** As `fleetscale:members`, by member name: kubeconfig (text), kubeconfigPath or inHub, apiUrl, namespace, weight, credentialGeneration. */
  members: { [member: string]: { [field: string]: any } };
  /** As `fleetscale:workloads`, by workload name: a DistributedScaledObject spec plus namespace. */
  workloads?: { [workload: string]: { [field: string]: any } };
}

const PLAIN_ONLY =
  "must be a plain value, not a secret (fn::secret) or another resource's output: the fleet is planned from these values " +
  "before anything is deployed, and fleetscale keeps every kubeconfig secret itself";

/** Where `value` holds a pulumi.Output (a secret or unknown input arrives as one), as field paths. */
function outputPaths(value: unknown, path = ""): string[] {
  if (pulumi.Output.isInstance(value)) return [path];
  if (Array.isArray(value)) return value.flatMap((item, index) => outputPaths(item, `${path}[${index}]`));
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, item]) => outputPaths(item, path === "" ? key : `${path}.${key}`));
}

/** One fleet: the hub with its runtime, every member onboarded, a DistributedScaledObject per workload. */
export class Fleet extends pulumi.ComponentResource {
  readonly hubNamespace: pulumi.Output<string>;
  /** Member name to the API server URL the hub runtime uses for it. */
  readonly memberApiUrls: pulumi.Output<{ [member: string]: string }>;
  /** `namespace/name` of every DistributedScaledObject in the hub. */
  readonly dsoNames: pulumi.Output<string[]>;
  /** Workload name to the replicas each member runs (null: not read), as the last up or refresh found them. */
  readonly replicas: pulumi.Output<{ [workload: string]: { [member: string]: any } }>;

  constructor(name: string, args: FleetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fleetscale:index:Fleet", name, {}, opts);
    const subject = `args of fleetscale:index:Fleet "${name}"`;
    const unresolved = outputPaths(args);
    if (unresolved.length > 0) throw new ValidationError(subject, unresolved.map((path) => ({ path, message: PLAIN_ONLY })));
    const parsed = stackConfigSchema.safeParse(args);
    if (!parsed.success) throw new ValidationError(subject, fieldProblems(parsed.error));
    // kubeconfigPath values are relative to the directory the engine starts this provider in: the program's.
    const fleet = new FleetResources(name, { config: parsed.data, baseDir: process.cwd() }, { parent: this });
    this.hubNamespace = fleet.hubNamespace;
    this.memberApiUrls = fleet.memberApiUrls;
    this.dsoNames = fleet.dsoNames;
    this.replicas = fleet.replicas;
    this.registerOutputs({ hubNamespace: this.hubNamespace, memberApiUrls: this.memberApiUrls, dsoNames: this.dsoNames, replicas: this.replicas });
  }
}
