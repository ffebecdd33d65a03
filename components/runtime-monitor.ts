/**
 * Monitoring of the hub's runtime through the Prometheus Operator (monitoring.coreos.com/v1):
 * a Service over the runtime pods' metrics port with a ServiceMonitor that scrapes it, and a
 * PrometheusRule with the alerts of runtime-alerts.ts. Each is asked for explicitly
 * (hub.monitoring in the stack config) rather than by looking for the operator's CRDs in
 * the hub: what a preview shows then depends on the config alone, and a missing CRD fails
 * `pulumi up` on that resource, naming its kind.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MANAGED_BY, RUNTIME_NAME } from "./labels";
import { runtimeAlertGroups } from "./runtime-alerts";

export interface RuntimeMonitoring {
  serviceMonitor: boolean;
  prometheusRule: boolean;
  /** Added to the ServiceMonitor and PrometheusRule: what the Prometheus' selectors ask for (e.g. release: prometheus). */
  labels?: Record<string, string>;
}

export interface RuntimeMonitorArgs extends RuntimeMonitoring {
  namespace: pulumi.Input<string>;
  metricsPort: number;
}

/** Scrapes every 30 s: /metrics is ~1.4 MB at 1,000 DSOs (README, "Limits worth knowing"). */
const SCRAPE_INTERVAL = "30s";

/** Registers the monitoring objects asked for, as children of `opts.parent`, through its provider. */
export function registerRuntimeMonitoring(name: string, args: RuntimeMonitorArgs, opts: pulumi.CustomResourceOptions): void {
  const selector = { "app.kubernetes.io/name": RUNTIME_NAME, "app.kubernetes.io/component": "metrics" };
  const labels = { ...MANAGED_BY, ...selector, ...args.labels };
  if (args.serviceMonitor) {
    // Headless, and listing pods that are not ready: a runtime whose /readyz fails (the hub
    // unreachable) is the one whose metrics matter most.
    new k8s.core.v1.Service(
      `${name}-metrics`,
      {
        metadata: { name: `${RUNTIME_NAME}-metrics`, namespace: args.namespace, labels: { ...MANAGED_BY, ...selector } },
        spec: {
          clusterIP: "None",
          publishNotReadyAddresses: true,
          selector: { "app.kubernetes.io/name": RUNTIME_NAME },
          ports: [{ name: "metrics", port: args.metricsPort, targetPort: "metrics" }],
        },
      },
      opts,
    );
    new k8s.apiextensions.CustomResource(
      `${name}-metrics`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: { name: RUNTIME_NAME, namespace: args.namespace, labels },
        spec: {
          selector: { matchLabels: selector },
          endpoints: [{ port: "metrics", path: "/metrics", interval: SCRAPE_INTERVAL }],
        },
      },
      opts,
    );
  }
  if (args.prometheusRule) {
    new k8s.apiextensions.CustomResource(
      `${name}-alerts`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name: RUNTIME_NAME, namespace: args.namespace, labels },
        spec: { groups: pulumi.output(args.namespace).apply((namespace) => runtimeAlertGroups({ namespace })) },
      },
      opts,
    );
  }
}
