/**
 * The whole fleet from one validated stack config: the hub with its runtime, every
 * member onboarded, and a DistributedScaledObject per workload.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../schema/stack-config";
import { readAdminKubeconfigs } from "./admin-kubeconfigs";
import { DistributedWorkload } from "./distributed-workload";
import { MemberCluster } from "./member-cluster";
import { ScalerHub } from "./scaler-hub";
import { dsoSpecForWorkload } from "./workload-spec";

export interface FleetArgs {
  config: StackConfig;
  /** kubeconfigPath values are relative to it: the project directory. */
  baseDir: string;
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
    // Read before anything is registered: a missing file fails the preview with no partial fleet.
    const kubeconfigs = readAdminKubeconfigs(args.config, args.baseDir);
    super("fleetscale:index:Fleet", name, {}, opts);
    const { hub: hubConfig, members, workloads } = args.config;

    const hubProvider = new k8s.Provider(`${name}-hub`, { kubeconfig: pulumi.secret(kubeconfigs.hub) }, { parent: this });
    const hub = new ScalerHub(
      `${name}-hub`,
      { provider: hubProvider, namespace: hubConfig.namespace, image: hubConfig.image, replicas: hubConfig.replicas, nodeSelector: hubConfig.nodeSelector, deleteCrdOnDestroy: hubConfig.deleteCrdOnDestroy, monitoring: hubConfig.monitoring },
      { parent: this },
    );

    // An inHub member is onboarded with the hub's admin kubeconfig, but what the runtime
    // gets is the member-role token, so it holds no more power in the hub than in any member.
    const memberClusters = Object.entries(members).map(
      ([member, memberConfig]) =>
        [
          member,
          new MemberCluster(
            `${name}-${member}`,
            {
              member,
              adminKubeconfig: kubeconfigs.members[member]!,
              apiUrl: memberConfig.apiUrl,
              namespace: memberConfig.namespace,
              credentialGeneration: memberConfig.credentialGeneration,
              hubProvider,
              hubNamespace: hub.namespace,
            },
            { parent: this },
          ),
        ] as const,
    );

    const dsos = Object.entries(workloads).map(
      ([workload, workloadConfig]) =>
        new DistributedWorkload(
          `${name}-${workload}`,
          {
            provider: hubProvider,
            name: workload,
            namespace: workloadConfig.namespace,
            spec: dsoSpecForWorkload(workloadConfig, members),
            crd: hub.crd,
            replicas: { hubKubeconfig: pulumi.secret(kubeconfigs.hub), hubNamespace: hub.namespace, members: memberClusters.map(([, cluster]) => cluster) },
          },
          { parent: this },
        ),
    );

    this.hubNamespace = hub.namespace;
    this.memberApiUrls = pulumi.all(Object.fromEntries(memberClusters.map(([member, cluster]) => [member, cluster.apiUrl])));
    this.dsoNames = pulumi.all(dsos.map((dso) => dso.dsoName));
    this.replicas = pulumi.all(Object.fromEntries(Object.keys(workloads).map((workload, i) => [workload, dsos[i]!.replicas!])));
    this.registerOutputs({ hubNamespace: this.hubNamespace, memberApiUrls: this.memberApiUrls, dsoNames: this.dsoNames, replicas: this.replicas });
  }
}
