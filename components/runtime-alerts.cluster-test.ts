/**
 * The runtime's alert rules through promtool (test/promtool): `check rules` on the rule file
 * ScalerHub installs, then `test rules` with input series and the alerts expected of them,
 * labels and rendered annotations included. A cluster test by name only: it needs the toolchain.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { promtool } from "../test/support/promtool";
import { type AlertRule, runtimeAlertGroups } from "./runtime-alerts";

const NAMESPACE = "fleetscale-system";
const groups = runtimeAlertGroups({ namespace: NAMESPACE });
const rules = new Map(groups.flatMap((g) => g.rules).map((r) => [r.alert, r]));

interface Expected {
  /** The alert's own labels (from its series), besides the rule's. */
  labels?: Record<string, string>;
  /** What {{ $value }} renders as. */
  value?: string;
}

interface Case {
  name: string;
  /** Series (in the hub's namespace unless they name another) and their values, promtool's expanding notation, one sample a minute. */
  series: Record<string, string>;
  /** At each time (minutes), every alert firing then; an alert not listed must not fire. */
  expect: Array<{ at: number; alert: string; firing: Expected[] }>;
}

/** promtool compares annotations exactly: render the rule's templates for the alert's labels and value. */
function rendered(rule: AlertRule, expected: Expected): Record<string, string> {
  const labels = { ...rule.labels, ...expected.labels };
  const render = (template: string) =>
    template.replace(/\{\{ \$(labels\.(\w+)|value) \}\}/g, (_, __, label: string | undefined) => {
      const text = label === undefined ? expected.value : labels[label as keyof typeof labels];
      if (text === undefined) throw new Error(`${rule.alert}: its annotation uses ${label ?? "$value"}, which this expectation does not give`);
      return text;
    });
  return { summary: render(rule.annotations.summary), description: render(rule.annotations.description) };
}

/** The hub's namespace label, unless the series names another. */
function withNamespace(series: string): string {
  return /\bnamespace="/.test(series) ? series : series.replace("{", `{namespace="${NAMESPACE}", `);
}

function unitTest(c: Case) {
  return {
    name: c.name,
    interval: "1m",
    input_series: Object.entries(c.series).map(([series, values]) => ({ series: withNamespace(series), values })),
    alert_rule_test: c.expect.map(({ at, alert, firing }) => {
      const rule = rules.get(alert);
      if (rule === undefined) throw new Error(`no rule ${alert}`);
      return {
        eval_time: `${at}m`,
        alertname: alert,
        exp_alerts: firing.map((e) => ({ exp_labels: { ...rule.labels, ...e.labels }, exp_annotations: rendered(rule, e) })),
      };
    }),
  };
}

const cases: Case[] = [
  {
    name: "no leader: fires after 2 minutes with every runtime a standby, not while one leads or across a handover",
    series: {
      'fleetscale_leader{instance="a"}': "0x20",
      'fleetscale_leader{instance="b"}': "0x20",
    },
    expect: [
      { at: 1, alert: "FleetscaleNoLeader", firing: [] },
      { at: 3, alert: "FleetscaleNoLeader", firing: [{}] },
    ],
  },
  {
    name: "no leader: one leads, and a handover of a minute",
    series: {
      'fleetscale_leader{instance="a"}': "1x5 0x15",
      'fleetscale_leader{instance="b"}': "0x6 1x14",
    },
    expect: [
      { at: 4, alert: "FleetscaleNoLeader", firing: [] },
      { at: 7, alert: "FleetscaleNoLeader", firing: [] },
      { at: 15, alert: "FleetscaleNoLeader", firing: [] },
    ],
  },
  {
    name: "no leader: no runtime of this namespace scraped at all (another hub's leads)",
    series: { 'fleetscale_leader{namespace="other-hub", instance="x"}': "1x20" },
    expect: [{ at: 5, alert: "FleetscaleNoLeader", firing: [{}] }],
  },
  {
    name: "member excluded: one alert per member with its count of workloads, from the leader's series only",
    series: {
      'fleetscale_leader{instance="a"}': "1x10",
      'fleetscale_leader{instance="b"}': "0x10",
      'fleetscale_member_state{instance="a", workload="shop/web", member="m1", state="Ready"}': "1x10",
      'fleetscale_member_state{instance="a", workload="shop/web", member="m2", state="Excluded"}': "_x2 1x8",
      'fleetscale_member_state{instance="a", workload="shop/api", member="m2", state="Excluded"}': "_x2 1x8",
      // The standby's gauges from its last term: stale, not alerted on.
      'fleetscale_member_state{instance="b", workload="shop/web", member="m3", state="Excluded"}': "1x10",
    },
    expect: [
      { at: 1, alert: "FleetscaleMemberExcluded", firing: [] },
      { at: 5, alert: "FleetscaleMemberExcluded", firing: [{ labels: { member: "m2" }, value: "2" }] },
    ],
  },
  {
    name: "workload not converged: after 15 minutes, across a leader handover; not one that converges; not a standby's stale gauges",
    series: {
      'fleetscale_leader{instance="a"}': "1x10 0x15",
      'fleetscale_leader{instance="b"}': "0x10 1x15",
      'fleetscale_workload_converged{instance="a", workload="shop/web"}': "0x25",
      'fleetscale_workload_converged{instance="b", workload="shop/web"}': "_x10 0x15",
      'fleetscale_workload_converged{instance="a", workload="shop/api"}': "0x5 1x20",
      // A runtime that has been a standby throughout, with its last term's gauges.
      'fleetscale_leader{instance="c"}': "0x25",
      'fleetscale_workload_converged{instance="c", workload="shop/old"}': "0x25",
    },
    expect: [
      { at: 14, alert: "FleetscaleWorkloadNotConverged", firing: [] },
      { at: 20, alert: "FleetscaleWorkloadNotConverged", firing: [{ labels: { workload: "shop/web" } }] },
    ],
  },
  {
    name: "reconcile errors: errors every minute for 10 minutes fire; a single error does not",
    series: {
      'fleetscale_reconcile_errors_total{instance="a"}': "0+2x30",
      'fleetscale_reconcile_errors_total{instance="b"}': "0x30",
    },
    expect: [
      { at: 8, alert: "FleetscaleReconcileErrors", firing: [] },
      { at: 15, alert: "FleetscaleReconcileErrors", firing: [{}] },
    ],
  },
  {
    name: "reconcile errors: one error",
    series: { 'fleetscale_reconcile_errors_total{instance="a"}': "0x3 1x27" },
    expect: [
      { at: 6, alert: "FleetscaleReconcileErrors", firing: [] },
      { at: 20, alert: "FleetscaleReconcileErrors", firing: [] },
    ],
  },
  {
    name: "member writes failing: per member and failure, once they have failed for 10 minutes",
    series: {
      'fleetscale_member_scale_write_failures_total{instance="a", member="m2", failure="Unauthorized"}': "0+1x30",
      'fleetscale_member_scale_write_failures_total{instance="a", member="m1", failure="Unreachable"}': "0 1 2 2x27",
    },
    expect: [
      { at: 5, alert: "FleetscaleMemberWritesFailing", firing: [] },
      { at: 20, alert: "FleetscaleMemberWritesFailing", firing: [{ labels: { member: "m2", failure: "Unauthorized" } }] },
    ],
  },
  {
    name: "event-loop delay: sustained on a runtime, standby or not; not a failover's two-minute stall, nor another process in the namespace",
    series: {
      'fleetscale_leader{instance="a"}': "1x30",
      'fleetscale_leader{instance="b"}': "0x30",
      'nodejs_eventloop_lag_p99_seconds{instance="a"}': "0.1x5 2 2 0.1x22",
      // Each scrape's p99 is of that interval alone: a runtime that keeps falling behind shows it in some intervals, not all.
      'nodejs_eventloop_lag_p99_seconds{instance="b"}': `0.1x10 ${Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? "0.9" : "0.3")).join(" ")}`,
      'nodejs_eventloop_lag_p99_seconds{instance="other-app"}': "3x30",
    },
    expect: [
      { at: 9, alert: "FleetscaleEventLoopDelayHigh", firing: [] },
      { at: 12, alert: "FleetscaleEventLoopDelayHigh", firing: [] },
      { at: 25, alert: "FleetscaleEventLoopDelayHigh", firing: [{ labels: { instance: "b" } }] },
    ],
  },
];

describe("runtime alert rules under promtool", () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "fleetscale-alerts-"));
    writeFileSync(join(dir, "rules.yaml"), stringify({ groups }));
    writeFileSync(join(dir, "tests.yaml"), stringify({ rule_files: ["rules.yaml"], evaluation_interval: "1m", tests: cases.map(unitTest) }));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("are valid rules (promtool check rules)", () => {
    const { ok, output } = promtool(["check", "rules", "rules.yaml"], dir);
    assert.ok(ok, output);
    assert.match(output, new RegExp(`SUCCESS: ${rules.size} rules found`));
  });

  it("every rule is tested firing and not firing", () => {
    for (const alert of rules.keys()) {
      const checks = cases.flatMap((c) => c.expect).filter((e) => e.alert === alert);
      assert.ok(checks.some((e) => e.firing.length > 0), `${alert} is never expected to fire`);
      assert.ok(checks.some((e) => e.firing.length === 0), `${alert} is never expected to stay quiet`);
    }
  });

  it("fire exactly as expected (promtool test rules)", () => {
    const { ok, output } = promtool(["test", "rules", "tests.yaml"], dir);
    assert.ok(ok, output);
    assert.match(output, /SUCCESS/);
  });
});
