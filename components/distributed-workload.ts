/**
 * A workload that runs in the member clusters, scaled as one: its DistributedScaledObject
 * in the hub, which the runtime reconciles into per-member replica counts.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { API_GROUP, API_VERSION, KIND, type DsoSpec } from "../schema/dso";
import { MANAGED_BY } from "./labels";

export interface DistributedWorkloadArgs {
  provider: k8s.Provider;
  /** The DSO's name and namespace in the hub. */
  name: string;
  namespace: string;
  /** Already validated (schema/dso.ts), defaults filled. */
  spec: DsoSpec;
  crd: k8s.apiextensions.v1.CustomResourceDefinition;
}

export class DistributedWorkload extends pulumi.ComponentResource {
  /** `namespace/name` of the DSO in the hub. */
  readonly dsoName: pulumi.Output<string>;

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
      { parent: this, provider: args.provider, dependsOn: [args.crd] },
    );
    this.dsoName = pulumi.interpolate`${dso.metadata.namespace}/${dso.metadata.name}`;
    this.registerOutputs({ dsoName: this.dsoName });
  }
}
