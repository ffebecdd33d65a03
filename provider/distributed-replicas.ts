/**
 * DistributedReplicas: one workload's replicas across the fleet, reconciled on every
 * `pulumi up` by the same engine the hub runtime uses. Its args are validated here, in
 * the program, with the DistributedScaledObject schema, so nothing invalid ever reaches
 * the provider. The provider runs in Pulumi's provider process from the compiled module
 * (replicas-provider-loader.ts), so the project must be built before `pulumi up`.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { dnsLabel, dsoSpecSchema } from "../schema/dso";
import { declaredTotal } from "../schema/plan-input";
import { parseOrThrow } from "../schema/validate";
import { installedProviderLoader } from "./replicas-provider-loader";
import type { MemberState, ReplicasInputs } from "./replicas-provider";

const argsSchema = z.strictObject({
  dsoNamespace: dnsLabel,
  dsoName: dnsLabel,
  spec: dsoSpecSchema,
  timeoutSeconds: z.int().min(1).max(3600).default(300),
  scaleToZeroOnDelete: z.boolean().default(false),
});

export interface DistributedReplicasArgs extends z.input<typeof argsSchema> {
  /** Admin access to the hub, to read the member Secrets and the live DSO. Stored encrypted. */
  hubKubeconfig: pulumi.Input<string>;
  /** The hub namespace holding the member kubeconfig Secrets (ScalerHub's namespace). */
  hubNamespace: pulumi.Input<string>;
}

export class DistributedReplicas extends pulumi.dynamic.Resource {
  /** The weighted split of the declared total with every member healthy: what preview diffs. */
  declare readonly plan: pulumi.Output<Record<string, number>>;
  /** The live total the last up converged on. */
  declare readonly totalReplicas: pulumi.Output<number>;
  /** Replicas per member as last written or read (null where the member could not be read). */
  declare readonly actual: pulumi.Output<Record<string, number | null>>;
  declare readonly memberStates: pulumi.Output<Record<string, MemberState>>;

  constructor(name: string, args: DistributedReplicasArgs, opts?: pulumi.CustomResourceOptions) {
    if (opts?.import !== undefined) {
      // Pulumi's dynamic-provider process reads a resource to import without its provider, and fails.
      throw new pulumi.RunError(
        `DistributedReplicas ${name} cannot be imported (Pulumi's dynamic providers cannot import). Remove the import option: ` +
          "pulumi up adopts the workload as it runs, writing only members whose replicas differ from the split its preview shows.",
      );
    }
    const { hubKubeconfig, hubNamespace, ...rest } = args;
    const valid = parseOrThrow(argsSchema, rest, `DistributedReplicas ${name}`);
    const spec = valid.spec;
    const inputs: Record<keyof ReplicasInputs, unknown> & Record<string, unknown> = {
      hubKubeconfig: pulumi.secret(hubKubeconfig),
      hubNamespace,
      dsoNamespace: valid.dsoNamespace,
      dsoName: valid.dsoName,
      members: spec.memberClusters.map((m) => ({ ...m })),
      gracePeriod: spec.rebalancingPolicy.gracePeriod,
      maxRebalancePercentage: spec.rebalancingPolicy.maxRebalancePercentage,
      targetKind: spec.scaledObjectSpec.scaleTargetRef.kind,
      targetName: spec.scaledObjectSpec.scaleTargetRef.name,
      declaredTotal: declaredTotal(spec),
      timeoutSeconds: valid.timeoutSeconds,
      scaleToZeroOnDelete: valid.scaleToZeroOnDelete,
      plan: undefined,
      totalReplicas: undefined,
      actual: undefined,
      memberStates: undefined,
      records: undefined,
      converged: undefined,
    };
    super(installedProviderLoader(), name, inputs, { ...opts, additionalSecretOutputs: ["hubKubeconfig"] }, "fleetscale", "DistributedReplicas");
  }
}
