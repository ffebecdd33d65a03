/**
 * The runtime's Prometheus alert rules, as plain data: ScalerHub installs them as a
 * PrometheusRule, and components/runtime-alerts.cluster-test.ts runs them through promtool.
 *
 * Every expression reads only series the runtime exports (runtime/metrics.ts, and prom-client's
 * default Node metrics), scoped to the hub namespace's `namespace` label, which a ServiceMonitor
 * (or any Kubernetes service discovery) puts on each scraped series. A standby runtime keeps
 * exporting the plan gauges of its last term as leader, so the per-workload and per-member
 * rules read only the series of the instance that leads now (`and on (instance)` the leader).
 */

export interface AlertRule {
  alert: string;
  expr: string;
  /** How long the condition must hold before the alert fires; absent: at once. */
  for?: string;
  labels: Record<string, string>;
  annotations: { summary: string; description: string };
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

export const ALERT_GROUP_NAME = "fleetscale-runtime";

/**
 * A sustained event-loop delay above this means the process cannot keep up: the goal is a p99
 * under 250 ms, and a mass failover at 1,000 DSOs stalls it for 1-2 s for a minute or two
 * (BENCHMARKS.md, "Scale"), which the 5-minute average and `for` ride out.
 */
const EVENT_LOOP_P99_SECONDS = 0.5;

export function runtimeAlertGroups(hub: { namespace: string }): RuleGroup[] {
  const ns = `namespace="${hub.namespace}"`;
  const leading = `on (instance) fleetscale_leader{${ns}} == 1`;
  const labels = (severity: "critical" | "warning") => ({ severity, namespace: hub.namespace });
  return [
    {
      name: ALERT_GROUP_NAME,
      rules: [
        {
          alert: "FleetscaleNoLeader",
          // No runtime scraped at all counts as no leader: nothing reconciles either way.
          expr: `(max(fleetscale_leader{${ns}}) or vector(0)) < 1`,
          for: "2m",
          labels: labels("critical"),
          annotations: {
            summary: `No fleetscale runtime leads in ${hub.namespace}`,
            description:
              `No runtime in ${hub.namespace} has held the leader lease for 2 minutes (or none is scraped): ` +
              "no DistributedScaledObject is reconciled and no member is failed over. Check the runtime pods " +
              "(kubectl get pods), their logs, and /readyz: a runtime that cannot reach the hub API server does not lead.",
          },
        },
        {
          alert: "FleetscaleMemberExcluded",
          // One alert per member, however many workloads it was excluded from.
          expr: `count by (member) (fleetscale_member_state{${ns}, state="Excluded"} == 1 and ${leading}) > 0`,
          labels: labels("warning"),
          annotations: {
            summary: "Member cluster {{ $labels.member }} is excluded",
            description:
              "{{ $labels.member }} failed for longer than the grace period and is excluded from {{ $value }} workloads: " +
              "its replicas now run on the other members. Find why it fails (the DSO status and Events name Unreachable, " +
              "Unauthorized, WorkloadMissing or NotReady) and repair it; it returns after its probation.",
          },
        },
        {
          alert: "FleetscaleWorkloadNotConverged",
          expr: `min by (workload) (fleetscale_workload_converged{${ns}} and ${leading}) == 0`,
          for: "15m",
          labels: labels("warning"),
          annotations: {
            summary: "{{ $labels.workload }} has not reached its placement for 15 minutes",
            description:
              "Replicas of {{ $labels.workload }} are still moving toward the weighted shares after 15 minutes: " +
              "usually a scale-down waits for replacements that do not become ready (pods pending or crashing on a member). " +
              "The DSO's Ready condition and each member's description say what waits.",
          },
        },
        {
          alert: "FleetscaleReconcileErrors",
          expr: `sum(rate(fleetscale_reconcile_errors_total{${ns}}[5m])) > 0`,
          for: "10m",
          labels: labels("warning"),
          annotations: {
            summary: `fleetscale reconciles in ${hub.namespace} keep failing`,
            description:
              "Reconciles of DistributedScaledObjects have failed for 10 minutes (retried with backoff). " +
              'The runtime logs each ("reconcile failed", or "total replicas kept" with the DSO and the error): typically ' +
              "KEDA's ScaledObject cannot be read or written, or the hub API server refuses requests.",
          },
        },
        {
          alert: "FleetscaleMemberWritesFailing",
          expr: `sum by (member, failure) (rate(fleetscale_member_scale_write_failures_total{${ns}}[5m])) > 0`,
          for: "10m",
          labels: labels("warning"),
          annotations: {
            summary: "Replica writes to {{ $labels.member }} fail ({{ $labels.failure }})",
            description:
              "Scale writes to workloads in {{ $labels.member }} have failed for 10 minutes ({{ $labels.failure }}): " +
              "the member does not get the replicas the plan gives it. Check the member credential and role " +
              "(Unauthorized), an admission webhook or policy refusing the scale subresource, or the connection (Unreachable); " +
              '"scale failed" log lines name the workload and the error.',
          },
        },
        {
          alert: "FleetscaleEventLoopDelayHigh",
          expr: `avg_over_time(nodejs_eventloop_lag_p99_seconds{${ns}}[5m]) > ${EVENT_LOOP_P99_SECONDS} and on (instance) fleetscale_leader{${ns}}`,
          for: "5m",
          labels: labels("warning"),
          annotations: {
            summary: "fleetscale runtime {{ $labels.instance }} is falling behind",
            description:
              `Its event-loop delay p99, averaged over 5 minutes, has stayed above ${EVENT_LOOP_P99_SECONDS * 1000} ms for 5 minutes: reconciles, ` +
              "probes and lease renewals wait, members may be taken for failed and leadership lost. Look at its CPU " +
              "(is it throttled or starved) and at the number of DSOs and members (README, \"Limits worth knowing\").",
          },
        },
      ],
    },
  ];
}
