// recording-mocks first: it installs the Pulumi mocks before any component module loads.
import { build, promiseOf, registration, structuralProblems } from "./recording-mocks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runtimeAlertGroups } from "./runtime-alerts";
import { ScalerHub } from "./scaler-hub";
import type { RuntimeMonitoring } from "./runtime-monitor";

const provider = new k8s.Provider("monitored-hub", { kubeconfig: pulumi.secret("hub-admin-kubeconfig") });
const hubWith = (name: string, monitoring?: RuntimeMonitoring) =>
  build((opts) => new ScalerHub(name, { namespace: `${name}-ns`, image: "registry.example/fleetscale:1.2.3", replicas: 2, monitoring }, { ...opts, providers: [provider] }));
const MONITORING = ["kubernetes:core/v1:Service", "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "kubernetes:monitoring.coreos.com/v1:PrometheusRule"];
const monitoringTypes = (built: Awaited<ReturnType<typeof hubWith>>) => built.registrations.map((r) => r.type).filter((type) => MONITORING.includes(type));

describe("ScalerHub monitoring", () => {
  it("installs nothing for Prometheus unless asked to", async () => {
    assert.deepEqual(monitoringTypes(await hubWith("plain")), []);
    assert.deepEqual(monitoringTypes(await hubWith("off", { serviceMonitor: false, prometheusRule: false })), []);
  });

  it("scrapes every runtime pod's metrics port, ready or not, through a Service the ServiceMonitor selects", async () => {
    await promiseOf(provider.urn);
    const built = await hubWith("scraped", { serviceMonitor: true, prometheusRule: false, labels: { release: "prometheus" } });
    assert.deepEqual(structuralProblems(built), []);
    assert.deepEqual(monitoringTypes(built), MONITORING.slice(0, 2));
    const service = registration(built, "kubernetes:core/v1:Service", "scraped-metrics").inputs;
    const monitor = registration(built, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "scraped-metrics").inputs;
    const pod = registration(built, "kubernetes:apps/v1:Deployment", "scraped-runtime").inputs["spec"].template;

    assert.equal(service.metadata.namespace, "scraped-ns");
    assert.equal(service.spec.publishNotReadyAddresses, true);
    for (const [key, value] of Object.entries(service.spec.selector)) assert.equal(pod.metadata.labels[key], value, `pod label ${key}`);
    const containerPorts = pod.spec.containers[0].ports.map((p: { name: string }) => p.name);
    assert.deepEqual(service.spec.ports.map((p: { targetPort: string }) => p.targetPort), ["metrics"]);
    assert.ok(containerPorts.includes("metrics"));

    assert.equal(monitor.metadata.namespace, "scraped-ns");
    assert.equal(monitor.metadata.labels.release, "prometheus");
    for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels)) assert.equal(service.metadata.labels[key], value, `Service label ${key}`);
    assert.deepEqual(monitor.spec.endpoints.map((e: { port: string }) => e.port), service.spec.ports.map((p: { name: string }) => p.name));
  });

  it("installs the alert rules of runtime-alerts.ts for the hub's namespace as a PrometheusRule", async () => {
    const built = await hubWith("alerting", { serviceMonitor: false, prometheusRule: true, labels: { release: "prometheus" } });
    assert.deepEqual(monitoringTypes(built), MONITORING.slice(2));
    const rule = registration(built, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "alerting-alerts").inputs;
    assert.equal(rule.metadata.namespace, "alerting-ns");
    assert.equal(rule.metadata.labels.release, "prometheus");
    assert.deepEqual(rule.spec.groups, runtimeAlertGroups({ namespace: "alerting-ns" }));
  });
});
