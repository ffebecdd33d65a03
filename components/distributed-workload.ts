/**
 * A workload that runs in the member clusters, scaled as one: its DistributedScaledObject
 * in the hub, which the runtime reconciles into per-member replica counts. The DSO uses the
 * Kubernetes provider given in `opts` (the hub's).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { API_GROUP, API_VERSION, KIND, type DsoSpecInput, dsoSpecSchema } from "../schema/dso";
import { parseOrThrow } from "../schema/validate";
import { DistributedReplicas } from "../provider/distributed-replicas";
import { MANAGED_BY } from "./labels";

export interface DistributedWorkloadArgs {
  /** The DSO's name in the hub. */
  name: string;
  /** The DSO's namespace in the hub (default "default"). */
  namespace?: string;
  /**
   * The DSO spec, validated here. Plain data, not Inputs: it decides which resources exist
   * and whether `pulumi up` owns the total, so it must be known when the program runs.
   */
  spec: DsoSpecInput;
  /** The DSO CRD (ScalerHub's `crd`), when it is created in the same program: the DSO waits for it. */
  crd?: pulumi.Resource;
  /** Reconcile the members' replicas on every `pulumi up` (provider/DistributedReplicas). */
  replicas?: {
    hubKubeconfig: pulumi.Input<string>;
    /** Where the member kubeconfig Secrets live in the hub. */
    hubNamespace: pulumi.Input<string>;
    /** The member onboarding (their Secrets must exist before replicas can move). */
    members: pulumi.Resource[];
  };
}

export class DistributedWorkload extends pulumi.ComponentResource {
  /** `namespace/name` of the DSO in the hub. */
  readonly dsoName: pulumi.Output<string>;
  /**
   * spec.replicas per member as the last `pulumi up` or refresh found them (null: the member
   * could not be read), when the workload's replicas are reconciled by Pulumi.
   */
  readonly replicas?: pulumi.Output<Record<string, number | null>>;

  constructor(name: string, args: DistributedWorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before anything is registered: a bad spec fails the preview with no partial workload.
    const spec = parseOrThrow(dsoSpecSchema, args.spec, `DistributedWorkload ${name}`, "spec");
    const namespace = args.namespace ?? "default";
    super("fleetscale:index:DistributedWorkload", name, {}, opts);
    const dso = new k8s.apiextensions.CustomResource(
      `${name}-dso`,
      {
        apiVersion: `${API_GROUP}/${API_VERSION}`,
        kind: KIND,
        metadata: { name: args.name, namespace, labels: { ...MANAGED_BY } },
        spec,
      },
      {
        parent: this,
        dependsOn: args.crd === undefined ? [] : [args.crd],
        // With triggers, KEDA (or the runtime) owns the total; `pulumi up` must not reset it.
        ignoreChanges: spec.scaledObjectSpec.triggers.length > 0 ? ["spec.totalTargetReplicas"] : [],
      },
    );
    this.dsoName = pulumi.interpolate`${dso.metadata.namespace}/${dso.metadata.name}`;
    if (args.replicas) {
      const replicas = new DistributedReplicas(
        `${name}-replicas`,
        {
          hubKubeconfig: args.replicas.hubKubeconfig,
          hubNamespace: args.replicas.hubNamespace,
          dsoNamespace: namespace,
          dsoName: args.name,
          spec,
        },
        // The component's own dependsOn (the workload's Deployments, say) holds for the replicas it moves.
        { parent: this, dependsOn: [dso, ...args.replicas.members, ...dependencyList(opts?.dependsOn)] },
      );
      this.replicas = replicas.actual;
    }
    this.registerOutputs({ dsoName: this.dsoName, replicas: this.replicas });
  }
}

/**
 * A component's dependsOn as a list: Pulumi does not pass a component's dependencies on to the
 * resources inside it, so the ones that must wait say so themselves.
 */
export function dependencyList(dependsOn: pulumi.ComponentResourceOptions["dependsOn"]): pulumi.Input<pulumi.Resource>[] {
  if (dependsOn === undefined) return [];
  return Array.isArray(dependsOn) ? dependsOn : [dependsOn as pulumi.Input<pulumi.Resource>];
}
