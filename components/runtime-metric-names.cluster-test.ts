/**
 * The alert rules and the Grafana dashboard read only what a real runtime exports: a runtime
 * runs against the local fleet with a workload placed, one member refusing scale writes (a
 * ValidatingAdmissionPolicy) and one DSO whose total cannot be read, so that every series they
 * use has samples; then every metric name in their expressions must be sampled on /metrics,
 * with the labels they select on or group by.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { RuntimeHandle } from "../runtime/runtime";
import { dsoCrdManifest } from "../schema/crd";
import { declaredTotal } from "../schema/plan-input";
import { API_GROUP, API_VERSION } from "../schema/dso-names";
import { LocalFleet, repoRoot } from "../test/support/fleet";
import { onboardMember } from "../test/support/onboard";
import { metricNames } from "../test/support/promql";
import { startTestRuntime } from "../test/support/runtime";
import { deployment, eventually } from "../test/support/workloads";
import { runtimeAlertGroups } from "./runtime-alerts";

const HUB_NAMESPACE = "fleetscale-system";
/** Labels Prometheus puts on every series of a target (ServiceMonitor): not the runtime's to export. */
const TARGET_LABELS = new Set(["namespace", "instance", "job", "pod", "service", "endpoint", "container", "le"]);

/** Sample name to the label names seen on its samples, from the text exposition format. */
function sampled(exposition: string): Map<string, Set<string>> {
  const samples = new Map<string, Set<string>>();
  for (const line of exposition.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    assert.ok(match, `unparsable sample line: ${line}`);
    const labels = samples.get(match[1]!) ?? new Set<string>();
    for (const pair of (match[2] ?? "").matchAll(/([A-Za-z_][A-Za-z0-9_]*)="/g)) labels.add(pair[1]!);
    samples.set(match[1]!, labels);
  }
  return samples;
}

/** The label names an expression selects on (name{label=...}) or groups by (by/without/on (...)). */
function labelUses(expr: string): Array<{ metric?: string; label: string }> {
  const uses: Array<{ metric?: string; label: string }> = [];
  for (const m of expr.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)\{([^}]*)\}/g)) {
    for (const l of m[2]!.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)/g)) uses.push({ metric: m[1]!, label: l[1]! });
  }
  for (const m of expr.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) {
    for (const label of m[1]!.split(",").map((l) => l.trim()).filter((l) => l !== "")) uses.push({ label });
  }
  return uses;
}

/** Every PromQL expression of the dashboard: panel targets and the selectors of its label_values variables. */
function dashboardExpressions(dashboard: { panels: Array<{ targets?: Array<{ expr: string }> }>; templating: { list: Array<{ type: string; definition?: string }> } }): string[] {
  const targets = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  const variables = dashboard.templating.list
    .filter((v) => v.type === "query")
    .map((v) => {
      const match = /^label_values\((.*),\s*(\w+)\)$/.exec(v.definition ?? "");
      assert.ok(match, `variable query ${v.definition} is not label_values(selector, label)`);
      return `${match[1]} by (${match[2]})`;
    });
  return [...targets, ...variables];
}

function unexported(what: string, expressions: string[], scrape: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  for (const expr of expressions) {
    const names = metricNames(expr);
    assert.ok(names.length > 0, `${what}: no metric name found in ${expr}`);
    for (const name of names) if (!scrape.has(name)) problems.push(`${what}: ${name} is not exported (in ${expr})`);
    const labelsOfExpr = new Set(names.flatMap((n) => [...(scrape.get(n) ?? [])]));
    for (const { metric, label } of labelUses(expr)) {
      if (TARGET_LABELS.has(label)) continue;
      const known = metric === undefined ? labelsOfExpr : (scrape.get(metric) ?? new Set());
      if (!known.has(label)) problems.push(`${what}: label ${label}${metric ? ` of ${metric}` : ""} is not exported (in ${expr})`);
    }
  }
  return problems;
}

describe("metric names of the alerts and the dashboard, against a real runtime's /metrics", () => {
  let fleet: LocalFleet;
  let runtime: RuntimeHandle;
  let text: string;
  let scrape: Map<string, Set<string>>;

  before(async () => {
    fleet = LocalFleet.start();
    for (const member of ["member-1", "member-2"]) {
      onboardMember(fleet, { hub: "hub", member, hubNamespace: HUB_NAMESPACE });
      fleet.apply(member, deployment("web", 1));
    }
    // member-2 refuses every scale write; its admin's own write tells when the policy is in force.
    fleet.apply(
      "member-2",
      {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicy",
        metadata: { name: "no-scaling" },
        spec: {
          failurePolicy: "Fail",
          matchConstraints: { resourceRules: [{ apiGroups: ["apps"], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["deployments/scale"] }] },
          validations: [{ expression: "false", message: "scaling is frozen here" }],
        },
      },
      { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", metadata: { name: "no-scaling" }, spec: { policyName: "no-scaling", validationActions: ["Deny"] } },
    );
    const refused = () => {
      try {
        fleet.kubectl("member-2", "scale", "deployment/web", "--replicas=1");
        return "";
      } catch (error) {
        return String((error as { stderr?: string }).stderr ?? error);
      }
    };
    await eventually("member-2 refuses scale writes", refused, (why) => why.includes("scaling is frozen here"), 30_000);
    fleet.apply("hub", dsoCrdManifest());
    await eventually("CRD established", () => fleet.kubectl("hub", "get", "crd", "distributedscaledobjects.fleetscale.io", "-o", 'jsonpath={.status.conditions[?(@.type=="Established")].status}'), (s) => s === "True");

    const dso = (name: string) => ({
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: "DistributedScaledObject",
      metadata: { name, namespace: "default" },
      spec: { memberClusters: [{ name: "member-1" }, { name: "member-2" }], scaledObjectSpec: { scaleTargetRef: { name: "web" } }, totalTargetReplicas: 4 },
    });
    runtime = await startTestRuntime(fleet.cluster("hub").kubeconfig, HUB_NAMESPACE, "metric-names", () => {}, {
      // The seam for total sources: one DSO's total cannot be read, so its reconciles fail.
      total: (d) => {
        if (d.metadata.name === "unreadable") throw new Error("total source unavailable");
        return declaredTotal(d.spec);
      },
    });
    fleet.apply("hub", dso("web"), dso("unreadable"));

    const url = `http://127.0.0.1:${runtime.metricsPort}/metrics`;
    const counterOf = (text: string, name: string) => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))].reduce((sum, m) => sum + Number(m[1]), 0);
    text = await eventually(
      "a placement, a refused write and a failed reconcile on /metrics",
      () => fetch(url).then((r) => r.text()),
      (t) => counterOf(t, "fleetscale_member_scale_writes_total") > 0 && counterOf(t, "fleetscale_member_scale_write_failures_total") > 0 && counterOf(t, "fleetscale_reconcile_errors_total") > 0,
      60_000,
    );
    scrape = sampled(text);
  });

  after(async () => {
    await runtime?.stop();
    fleet?.down();
  });

  it("counts the refused writes against the member that refused them, and the failed reconciles", () => {
    assert.match(text, /^fleetscale_member_scale_write_failures_total\{member="member-2",failure="\w+"\} [1-9]/m);
    assert.doesNotMatch(text, /^fleetscale_member_scale_write_failures_total\{member="member-1"/m);
    assert.match(text, /^fleetscale_member_scale_writes_total\{member="member-1"\} [1-9]/m);
    assert.match(text, /^fleetscale_reconcile_errors_total [1-9]/m);
    assert.match(text, /^fleetscale_workload_total_replicas\{workload="default\/web"\} 4$/m);
    assert.match(text, /^fleetscale_workload_converged\{workload="default\/web"\} [01]$/m);
    assert.doesNotMatch(text, /workload="default\/unreadable"/);
  });

  it("alert rules read only exported series and labels", () => {
    const expressions = runtimeAlertGroups({ namespace: HUB_NAMESPACE }).flatMap((g) => g.rules.map((r) => r.expr));
    assert.deepEqual(unexported("alert", expressions, scrape), []);
  });

  it("the dashboard reads only exported series and labels", () => {
    const dashboard = JSON.parse(readFileSync(join(repoRoot, "dashboards", "fleetscale-runtime.json"), "utf8"));
    assert.deepEqual(unexported("dashboard", dashboardExpressions(dashboard), scrape), []);
  });
});
