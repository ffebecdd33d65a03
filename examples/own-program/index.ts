/**
 * A platform team's own program: it already deploys its app to every member cluster, and adds
 * a fleetscale fleet that scales the app across them as one. Config (all per stack):
 *   hubKubeconfig     (secret)  admin kubeconfig of the hub cluster
 *   memberKubeconfigs (secret)  member name -> admin kubeconfig
 *   memberWeights               member name -> weight
 *   totalReplicas               the app's replicas across the fleet
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Fleet, type FleetMemberArgs } from "fleetscale";

const config = new pulumi.Config();
const hubKubeconfig = config.requireSecret("hubKubeconfig");
const memberKubeconfigs = config.requireSecretObject<Record<string, string>>("memberKubeconfigs");
const memberWeights = config.requireObject<Record<string, number>>("memberWeights");
const totalReplicas = config.requireNumber("totalReplicas");

// What the program had before fleetscale: the app in every member, through its own providers.
// fleetscale owns spec.replicas from now on, as an HPA would, so `pulumi up` must not reset it.
const members: Record<string, FleetMemberArgs> = {};
const apps: k8s.apps.v1.Deployment[] = [];
for (const [member, weight] of Object.entries(memberWeights)) {
  const kubeconfig = memberKubeconfigs.apply((all) => all[member] ?? "");
  const provider = new k8s.Provider(`app-${member}`, { kubeconfig });
  const app = new k8s.apps.v1.Deployment(
    `app-${member}`,
    {
      metadata: { name: "app", namespace: "default" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "app" } },
        template: { metadata: { labels: { app: "app" } }, spec: { containers: [{ name: "app", image: "registry.example/app:1.0.0" }] } },
      },
    },
    { provider, ignoreChanges: ["spec.replicas"] },
  );
  apps.push(app);
  members[member] = { kubeconfig, weight };
}

// The fleet, as data: the hub, the members (their credentials as Outputs), the workload. Its
// replicas move once the app exists in every member.
const fleet = new Fleet("fleet", {
  hub: { kubeconfig: hubKubeconfig, replicas: 1 },
  members,
  workloads: { app: { totalTargetReplicas: totalReplicas, scaledObjectSpec: { scaleTargetRef: { name: "app" } } } },
}, { dependsOn: apps });

export const dsoNames = fleet.dsoNames;
export const replicas = fleet.replicas;
