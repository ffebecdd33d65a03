/**
 * A workload that runs in the member clusters, scaled as one: its DistributedScaledObject
 * in the hub, which the runtime reconciles into per-member replica counts.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { API_GROUP, API_VERSION, KIND, type DsoSpec } from "../schema/dso";
import { DistributedReplicas } from "../provider/distributed-replicas";
import { MANAGED_BY } from "./labels";

export interface DistributedWorkloadArgs {
  provider: k8s.Provider;
  /** The DSO's name and namespace in the hub. */
  name: string;
  namespace: string;
  /** Already validated (schema/dso.ts), defaults filled. */
  spec: DsoSpec;
  crd: k8s.apiextensions.v1.CustomResourceDefinition;
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
    super("fleetscale:index:DistributedWorkload", name, {}, opts);
    const dso = new k8s.apiextensions.CustomResource(
      `${name}-dso`,
      {
        apiVersion: `${API_GROUP}/${API_VERSION}`,
        kind: KIND,
        metadata: { name: args.name, namespace: args.namespace, labels: { ...MANAGED_BY } },
        spec: args.spec,
      },
      {
        parent: this,
        provider: args.provider,
        dependsOn: [args.crd],
        // With triggers, KEDA (or the runtime) owns the total; `pulumi up` must not reset it.
        ignoreChanges: args.spec.scaledObjectSpec.triggers.length > 0 ? ["spec.totalTargetReplicas"] : [],
      },
    );
    this.dsoName = pulumi.interpolate`${dso.metadata.namespace}/${dso.metadata.name}`;
    if (args.replicas) {
      const replicas = new DistributedReplicas(
        `${name}-replicas`,
        {
          hubKubeconfig: args.replicas.hubKubeconfig,
          hubNamespace: args.replicas.hubNamespace,
          dsoNamespace: args.namespace,
          dsoName: args.name,
          spec: args.spec,
        },
        { parent: this, dependsOn: [dso, ...args.replicas.members] },
      );
      this.replicas = replicas.actual;
    }
    this.registerOutputs({ dsoName: this.dsoName, replicas: this.replicas });
  }
}
