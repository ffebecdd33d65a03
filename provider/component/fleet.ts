/**
 * The Fleet component as a Pulumi package (`fleetscale:index:Fleet`), for programs in any
 * language: its args are the Fleet's (components/fleet.ts) as loosely typed data, which the SDK's
 * schema inference can describe, and are validated by the Fleet's own schema.
 *
 * Why a second class: schema inference needs a class that extends ComponentResource directly
 * and whose args are an interface of inferable types; components/fleet.ts types its args from
 * the zod schema (mapped types, unions), which it cannot describe.
 */
import * as pulumi from "@pulumi/pulumi";
import { Fleet as FleetResources, type FleetArgs as FleetResourcesArgs } from "../../components/fleet";
import { ValidationError } from "../../schema/validate";

export interface FleetArgs {
  /** As the Fleet's `hub`: kubeconfig (text, may be a secret), namespace, image, replicas, nodeSelector, deleteCrdOnDestroy. */
  hub: { [field: string]: any };
  /** As the Fleet's `members`, by member name: kubeconfig (admin), scalerKubeconfig or inHub, apiUrl, namespace, weight, credentialGeneration. */
  members: { [member: string]: { [field: string]: any } };
  /** As the Fleet's `workloads`, by workload name: a DistributedScaledObject spec plus namespace. */
  workloads?: { [workload: string]: { [field: string]: any } };
}

const PLAIN_ONLY =
  "must be a plain value, not another resource's output: the fleet is planned from these values before anything is deployed " +
  "(only kubeconfigs may be secrets or outputs)";

/** A credential: the one kind of arg that may be a secret or another resource's output. */
const CREDENTIAL = /(^|\.)(kubeconfig|scalerKubeconfig)$/;

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
    const unresolved = outputPaths(args).filter((path) => !CREDENTIAL.test(path));
    if (unresolved.length > 0) throw new ValidationError(`args of fleetscale:index:Fleet "${name}"`, unresolved.map((path) => ({ path, message: PLAIN_ONLY })));
    super("fleetscale:index:Fleet", name, {}, opts);
    // The program's dependsOn holds for the replicas the inner Fleet moves (it passes it on).
    const fleet = new FleetResources(name, args as FleetResourcesArgs, { parent: this, dependsOn: opts?.dependsOn });
    this.hubNamespace = fleet.hubNamespace;
    this.memberApiUrls = fleet.memberApiUrls;
    this.dsoNames = fleet.dsoNames;
    this.replicas = fleet.replicas;
    this.registerOutputs({ hubNamespace: this.hubNamespace, memberApiUrls: this.memberApiUrls, dsoNames: this.dsoNames, replicas: this.replicas });
  }
}
