/**
 * The whole fleet from one description, as data: the hub with its runtime, every member
 * onboarded (or handed over by its member stack), and a DistributedScaledObject per workload.
 * The shape is the stack config's (schema/stack-config.ts), with credentials as kubeconfig text
 * or Pulumi Outputs of it; the turnkey program (index.ts) reads the files and stack references.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { type FleetConfig, fleetArgsSchema, type hubConfigSchema, type memberConfigSchema, type workloadConfigSchema } from "../schema/stack-config";
import { parseOrThrow } from "../schema/validate";
import { DistributedWorkload } from "./distributed-workload";
import { kubeconfigServer } from "./kubeconfig";
import { MemberCluster } from "./member-cluster";
import { memberCredentialSecret } from "./member-credential";
import { ScalerHub } from "./scaler-hub";
import { dsoSpecForWorkload } from "./workload-spec";

type Credentials = "kubeconfig" | "kubeconfigPath" | "stack";

export type FleetHubArgs = Omit<z.input<typeof hubConfigSchema>, Credentials> & {
  /** Admin access to the hub: Pulumi installs the hub with it, and DistributedReplicas reads the hub. Kept secret. */
  kubeconfig: pulumi.Input<string>;
};

/** Exactly one of kubeconfig, scalerKubeconfig or inHub. */
export type FleetMemberArgs = Omit<z.input<typeof memberConfigSchema>, Credentials> & {
  /** The member's admin kubeconfig: Pulumi onboards the member with it (MemberCluster). Kept secret. */
  kubeconfig?: pulumi.Input<string>;
  /** The member was onboarded by its own stack (MemberOnboarding): its exported scaler kubeconfig. */
  scalerKubeconfig?: pulumi.Input<string>;
};

export interface FleetArgs {
  hub: FleetHubArgs;
  /** By member name, as workloads' memberClusters refer to them. */
  members: Record<string, FleetMemberArgs>;
  /** By DSO name. */
  workloads?: Record<string, z.input<typeof workloadConfigSchema>>;
}

export class Fleet extends pulumi.ComponentResource {
  readonly hubNamespace: pulumi.Output<string>;
  /** Member name to the API server URL the hub runtime uses for it. */
  readonly memberApiUrls: pulumi.Output<Record<string, string>>;
  /** `namespace/name` of every DistributedScaledObject in the hub. */
  readonly dsoNames: pulumi.Output<string[]>;
  /** Workload name to the replicas each member runs, as the last `pulumi up` or refresh found them. */
  readonly replicas: pulumi.Output<Record<string, Record<string, number | null>>>;

  constructor(name: string, args: FleetArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before anything is registered: a bad fleet fails the preview with no partial fleet.
    const config: FleetConfig = parseOrThrow(fleetArgsSchema, args, `Fleet ${name}`);
    super("fleetscale:index:Fleet", name, {}, opts);
    const { hub: hubConfig, members, workloads } = config;

    const hubKubeconfig = pulumi.secret(hubConfig.kubeconfig as pulumi.Input<string>);
    const hubProvider = new k8s.Provider(`${name}-hub`, { kubeconfig: hubKubeconfig }, { parent: this });
    const inHub = { parent: this, providers: [hubProvider] };
    // The Fleet's dependsOn (the workloads' Deployments, say) holds for the replicas it moves.
    const inHubAfter = { ...inHub, dependsOn: opts?.dependsOn };
    const hub = new ScalerHub(
      `${name}-hub`,
      { namespace: hubConfig.namespace, image: hubConfig.image, replicas: hubConfig.replicas, nodeSelector: hubConfig.nodeSelector, deleteCrdOnDestroy: hubConfig.deleteCrdOnDestroy, monitoring: hubConfig.monitoring },
      inHub,
    );

    const onboarded = Object.entries(members).map(([member, memberConfig]) => {
      const scalerKubeconfig = memberConfig.scalerKubeconfig as pulumi.Input<string> | undefined;
      if (scalerKubeconfig !== undefined) {
        // Onboarded by the member's own stack: the hub gets its scaler kubeconfig and nothing more.
        // Aliased to where MemberCluster kept it, so a member moved to its own stack keeps its hub
        // Secret in place instead of Pulumi creating a new one and deleting the old (the same object).
        const secret = memberCredentialSecret(
          `${name}-${member}`,
          { member, kubeconfig: scalerKubeconfig, hubNamespace: hub.namespace },
          { parent: this, provider: hubProvider, aliases: [{ parent: pulumi.createUrn(`${name}-${member}`, "fleetscale:index:MemberCluster", this) }] },
        );
        const apiUrl = pulumi.unsecret(pulumi.output(scalerKubeconfig).apply((text) => kubeconfigServer(text, `scaler kubeconfig of member ${member}`)));
        return { member, resource: secret as pulumi.Resource, apiUrl };
      }
      // An inHub member is onboarded with the hub's admin kubeconfig, but what the runtime
      // gets is the member-role token, so it holds no more power in the hub than in any member.
      const cluster = new MemberCluster(
        `${name}-${member}`,
        {
          member,
          adminKubeconfig: memberConfig.inHub ? hubKubeconfig : (memberConfig.kubeconfig as pulumi.Input<string>),
          apiUrl: memberConfig.apiUrl,
          namespace: memberConfig.namespace,
          credentialGeneration: memberConfig.credentialGeneration,
          hubNamespace: hub.namespace,
        },
        inHub,
      );
      return { member, resource: cluster as pulumi.Resource, apiUrl: cluster.apiUrl };
    });

    const dsos = Object.entries(workloads).map(
      ([workload, workloadConfig]) =>
        new DistributedWorkload(
          `${name}-${workload}`,
          {
            name: workload,
            namespace: workloadConfig.namespace,
            spec: dsoSpecForWorkload(workloadConfig, members),
            crd: hub.crd,
            replicas: { hubKubeconfig, hubNamespace: hub.namespace, members: onboarded.map((m) => m.resource) },
          },
          inHubAfter,
        ),
    );

    this.hubNamespace = hub.namespace;
    this.memberApiUrls = pulumi.all(Object.fromEntries(onboarded.map((m) => [m.member, m.apiUrl])));
    this.dsoNames = pulumi.all(dsos.map((dso) => dso.dsoName));
    this.replicas = pulumi.all(Object.fromEntries(Object.keys(workloads).map((workload, i) => [workload, dsos[i]!.replicas!])));
    this.registerOutputs({ hubNamespace: this.hubNamespace, memberApiUrls: this.memberApiUrls, dsoNames: this.dsoNames, replicas: this.replicas });
  }
}
