/**
 * ScalerHub's monitoring objects against the Prometheus Operator's real CRDs (from its Go
 * module, test/prometheus-operator/crds.sh) in a real API server: the objects the component
 * registers are created with strict field validation, and read back unchanged (nothing pruned
 * by the CRDs' schemas).
 */
// recording-mocks first: it installs the Pulumi mocks before any component module loads.
import { build, promiseOf, registration } from "./recording-mocks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LocalFleet, fleetBinDir, repoRoot } from "../test/support/fleet";
import { ScalerHub } from "./scaler-hub";

const NAMESPACE = "monitored";
const RESOURCES: Record<string, string> = { Service: "services", ServiceMonitor: "servicemonitors.monitoring.coreos.com", PrometheusRule: "prometheusrules.monitoring.coreos.com" };
const CRD_FILES = ["monitoring.coreos.com_servicemonitors.yaml", "monitoring.coreos.com_prometheusrules.yaml"];

function operatorCrdDir(): string {
  const run = spawnSync(join(repoRoot, "test/prometheus-operator/crds.sh"), { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`test/prometheus-operator/crds.sh failed (${run.status}): ${run.stderr}`);
  return run.stdout.trim().split("\n").at(-1)!;
}

/** What a registration asks the API server for: its inputs as a manifest. */
function manifestOf(inputs: Record<string, any>, apiVersion: string, kind: string): Record<string, any> {
  const { apiVersion: _a, kind: _k, ...rest } = inputs;
  return { apiVersion, kind, ...rest };
}

describe("ScalerHub's ServiceMonitor and PrometheusRule against the Prometheus Operator's CRDs", () => {
  let fleet: LocalFleet;
  let manifests: Record<string, any>[];

  before(async () => {
    const dir = operatorCrdDir();
    fleet = LocalFleet.start({ clusters: ["hub"] });
    // create, not apply: apply's last-applied annotation can outgrow the limit on large CRDs.
    for (const file of CRD_FILES) fleet.kubectl("hub", "create", "-f", join(dir, file));
    fleet.kubectl("hub", "wait", "--for=condition=Established", "--timeout=60s", "crd/servicemonitors.monitoring.coreos.com", "crd/prometheusrules.monitoring.coreos.com");
    fleet.apply("hub", { apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } });

    const provider = new k8s.Provider("hub", { kubeconfig: pulumi.secret("hub-admin-kubeconfig") });
    await promiseOf(provider.urn);
    const built = await build(
      (opts) =>
        new ScalerHub("hub", { namespace: NAMESPACE, image: "registry.example/fleetscale:1.2.3", replicas: 2, monitoring: { serviceMonitor: true, prometheusRule: true, labels: { release: "prometheus" } } }, { ...opts, providers: [provider] }),
    );
    manifests = [
      manifestOf(registration(built, "kubernetes:core/v1:Service", "hub-metrics").inputs, "v1", "Service"),
      manifestOf(registration(built, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "hub-metrics").inputs, "monitoring.coreos.com/v1", "ServiceMonitor"),
      manifestOf(registration(built, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "hub-alerts").inputs, "monitoring.coreos.com/v1", "PrometheusRule"),
    ];
  });

  after(() => fleet?.down());

  it("are accepted with strict field validation and read back as sent", () => {
    for (const manifest of manifests) {
      execFileSync(join(fleetBinDir(), "kubectl"), ["--kubeconfig", fleet.cluster("hub").kubeconfig, "create", "--validate=strict", "-f", "-"], {
        input: JSON.stringify(manifest),
        stdio: ["pipe", "ignore", "pipe"],
      });
      const back = JSON.parse(fleet.kubectl("hub", "get", "-n", NAMESPACE, RESOURCES[manifest.kind]!, manifest.metadata.name, "-o", "json"));
      assert.deepEqual(back.metadata.labels, manifest.metadata.labels, `${manifest.kind} labels`);
      if (manifest.kind === "Service") {
        // The API server fills in defaults (clusterIPs, ipFamilies, protocol): compare what was sent.
        assert.equal(back.spec.clusterIP, "None");
        assert.equal(back.spec.publishNotReadyAddresses, true);
        assert.deepEqual(back.spec.selector, manifest.spec.selector);
        assert.deepEqual(back.spec.ports.map((p: { name: string; port: number; targetPort: string }) => [p.name, p.port, p.targetPort]), [["metrics", 9090, "metrics"]]);
      } else {
        assert.deepEqual(back.spec, manifest.spec, `${manifest.kind} spec`);
      }
    }
  });
});
