/**
 * The hub: the DistributedScaledObject CRD and the scaler runtime that reconciles it,
 * running under its own least-privilege ServiceAccount. Its resources use the Kubernetes
 * provider given in `opts` (the hub's).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { dsoCrdManifest } from "../schema/crd";
import { DEFAULT_HUB_NAMESPACE, DEFAULT_RUNTIME_IMAGE, DEFAULT_RUNTIME_REPLICAS } from "../schema/stack-config";
import { runtimeClusterRules, runtimeNamespacedRules } from "./hub-rbac";
import { MANAGED_BY, RUNTIME_NAME } from "./labels";
import { type RuntimeMonitoring, registerRuntimeMonitoring } from "./runtime-monitor";

/** The runtime's V8 heap limit, under the container's 768 Mi with room for code and buffers. */
const RUNTIME_HEAP_MIB = 512;
export const HEALTH_PORT = 8080;
export const METRICS_PORT = 9090;

export interface ScalerHubArgs {
  /** The runtime's namespace, created here; member kubeconfig Secrets live in it too (default "fleetscale-system"). */
  namespace?: pulumi.Input<string>;
  /** The runtime image, built from this repository's Dockerfile (default ghcr.io/fleetscale/scaler:0.1.0). */
  image?: pulumi.Input<string>;
  /** Runtime pods; one leads at a time, the others stand by (default 2). */
  replicas?: pulumi.Input<number>;
  /** Nodes the runtime's pods may run on (a label selector, as a Deployment's nodeSelector). */
  nodeSelector?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /**
   * Delete the CRD when the hub is destroyed. Off by default: deleting a CRD deletes every
   * DistributedScaledObject of that kind in the cluster, this stack's or not.
   */
  deleteCrdOnDestroy?: boolean;
  /** Prometheus Operator objects for the runtime (runtime-monitor.ts); none when absent. */
  monitoring?: RuntimeMonitoring;
}

export class ScalerHub extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  readonly serviceAccountName: pulumi.Output<string>;
  /** DistributedScaledObjects must be created after it. */
  readonly crd: k8s.apiextensions.v1.CustomResourceDefinition;

  constructor(name: string, args: ScalerHubArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fleetscale:index:ScalerHub", name, {}, opts);
    const inHub = { parent: this };
    const labels = { ...MANAGED_BY, "app.kubernetes.io/name": RUNTIME_NAME };

    const { metadata, spec } = dsoCrdManifest();
    this.crd = new k8s.apiextensions.v1.CustomResourceDefinition(`${name}-dso-crd`, { metadata, spec }, { ...inHub, retainOnDelete: !args.deleteCrdOnDestroy });

    const namespace = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: args.namespace ?? DEFAULT_HUB_NAMESPACE, labels: { ...MANAGED_BY } } }, inHub);
    const inNamespace = { name: RUNTIME_NAME, namespace: namespace.metadata.name, labels };
    const serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-runtime`, { metadata: inNamespace }, inHub);
    const subjects = [{ kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace: serviceAccount.metadata.namespace }];

    const role = new k8s.rbac.v1.Role(`${name}-runtime`, { metadata: inNamespace, rules: runtimeNamespacedRules() }, inHub);
    new k8s.rbac.v1.RoleBinding(
      `${name}-runtime`,
      { metadata: inNamespace, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name }, subjects },
      inHub,
    );
    // Named after the namespace, like the member roles, so two hubs can share a cluster.
    const clusterRoleName = pulumi.interpolate`${RUNTIME_NAME}-${namespace.metadata.name}`;
    const clusterRole = new k8s.rbac.v1.ClusterRole(`${name}-runtime`, { metadata: { name: clusterRoleName, labels }, rules: runtimeClusterRules() }, inHub);
    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-runtime`,
      { metadata: { name: clusterRoleName, labels }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole.metadata.name }, subjects },
      inHub,
    );

    new k8s.apps.v1.Deployment(
      `${name}-runtime`,
      {
        metadata: inNamespace,
        spec: {
          replicas: args.replicas ?? DEFAULT_RUNTIME_REPLICAS,
          selector: { matchLabels: { "app.kubernetes.io/name": RUNTIME_NAME } },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: serviceAccount.metadata.name,
              ...(args.nodeSelector === undefined ? {} : { nodeSelector: args.nodeSelector }),
              // Two replicas on two nodes where there are two: one node lost takes no more than one.
              topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { "app.kubernetes.io/name": RUNTIME_NAME } } }],
              securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
              containers: [
                {
                  name: "runtime",
                  image: args.image ?? DEFAULT_RUNTIME_IMAGE,
                  command: ["node", "dist/runtime/main.js"],
                  env: [
                    { name: "FLEETSCALE_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                    // V8 sizes its heap from the machine, not the container: collect before the limit.
                    { name: "NODE_OPTIONS", value: `--max-old-space-size=${RUNTIME_HEAP_MIB}` },
                  ],
                  ports: [
                    { name: "health", containerPort: HEALTH_PORT },
                    { name: "metrics", containerPort: METRICS_PORT },
                  ],
                  livenessProbe: { httpGet: { path: "/healthz", port: "health" }, periodSeconds: 10 },
                  readinessProbe: { httpGet: { path: "/readyz", port: "health" }, periodSeconds: 5 },
                  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                  // From the scale benchmark (BENCHMARKS.md, "Scale"): ~180 MiB RSS with no DSO,
                  // ~0.35 MiB more per DSO idle, 644-757 MiB at the peak of a mass failover at
                  // 1,000 DSOs unconstrained. No CPU limit: throttling would delay the lease
                  // renewal and the probes exactly when a failover keeps the process busy.
                  resources: { requests: { cpu: "200m", memory: "256Mi" }, limits: { memory: "768Mi" } },
                  // Node writes to /tmp (e.g. diagnostic reports); the root filesystem is read-only.
                  volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                },
              ],
              volumes: [{ name: "tmp", emptyDir: {} }],
            },
          },
        },
      },
      inHub,
    );

    if (args.monitoring) registerRuntimeMonitoring(name, { ...args.monitoring, namespace: namespace.metadata.name, metricsPort: METRICS_PORT }, inHub);

    this.namespace = namespace.metadata.name;
    this.serviceAccountName = serviceAccount.metadata.name;
    this.registerOutputs({ namespace: this.namespace, serviceAccountName: this.serviceAccountName, crdName: this.crd.metadata.name });
  }
}
