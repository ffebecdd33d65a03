/**
 * Prometheus metrics. One registry per runtime instance (not prom-client's global one),
 * so two runtimes in one process, as in the tests, keep their numbers apart. prom-client's
 * default metrics come along: process memory (process_resident_memory_bytes) and the
 * event-loop delay (nodejs_eventloop_lag_p99_seconds and friends), the two numbers that
 * say whether this process keeps up with a mass failover.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Observation } from "../engine/health";
import type { Plan } from "../engine/plan";

export class RuntimeMetrics {
  readonly registry = new Registry();
  readonly desiredReplicas = new Gauge({
    name: "fleetscale_member_desired_replicas",
    help: "Replicas the plan gives a member for a workload",
    labelNames: ["workload", "member"],
    registers: [this.registry],
  });
  readonly currentReplicas = new Gauge({
    name: "fleetscale_member_current_replicas",
    help: "Replicas that exist in a member for a workload (status.replicas)",
    labelNames: ["workload", "member"],
    registers: [this.registry],
  });
  readonly memberHealthy = new Gauge({
    name: "fleetscale_member_healthy",
    help: "1 while the member answers its health probe with valid credentials and its caches are current",
    labelNames: ["member"],
    registers: [this.registry],
  });
  readonly totalReplicas = new Gauge({
    name: "fleetscale_workload_total_replicas",
    help: "The fleet-wide total of a workload that the plan splits over its members",
    labelNames: ["workload"],
    registers: [this.registry],
  });
  readonly converged = new Gauge({
    name: "fleetscale_workload_converged",
    help: "1 when every member of a workload is at its target share (nothing left to move), 0 while replicas are still moving",
    labelNames: ["workload"],
    registers: [this.registry],
  });
  readonly memberState = new Gauge({
    name: "fleetscale_member_state",
    help: "1 for the member's current state for a workload (only the current state is exported)",
    labelNames: ["workload", "member", "state"],
    registers: [this.registry],
  });
  readonly rebalances = new Counter({
    name: "fleetscale_rebalances_total",
    help: "Reconcile steps whose plan changed some member's desired replicas",
    labelNames: ["workload", "reason"],
    registers: [this.registry],
  });
  readonly reconcileSeconds = new Histogram({
    name: "fleetscale_reconcile_duration_seconds",
    help: "Time of one reconcile of one DistributedScaledObject",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: "fleetscale_reconcile_errors_total",
    help: "Reconciles of a DistributedScaledObject that ended in an error or could not get its total (retried with backoff)",
    registers: [this.registry],
  });
  readonly memberApiErrors = new Counter({
    name: "fleetscale_member_api_errors_total",
    help: "Failed requests to member API servers, by classified failure",
    labelNames: ["member", "failure"],
    registers: [this.registry],
  });
  readonly memberWrites = new Counter({
    name: "fleetscale_member_scale_writes_total",
    help: "Successful replica writes (scale subresource) to member workloads",
    labelNames: ["member"],
    registers: [this.registry],
  });
  readonly memberWriteFailures = new Counter({
    name: "fleetscale_member_scale_write_failures_total",
    help: "Replica writes (scale subresource) to member workloads that failed, by classified failure",
    labelNames: ["member", "failure"],
    registers: [this.registry],
  });
  readonly statusWrites = new Counter({
    name: "fleetscale_status_writes_total",
    help: "DistributedScaledObject status updates written",
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: "fleetscale_leader",
    help: "1 while this instance holds the leader lease",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Gauges read when scraped, from the parts that know them. */
  observe(sources: { queueDepth: () => number; hubReachable: () => boolean }): void {
    new Gauge({
      name: "fleetscale_workqueue_depth",
      help: "DistributedScaledObjects waiting for or in a reconcile",
      registers: [this.registry],
      collect() {
        this.set(sources.queueDepth());
      },
    });
    new Gauge({
      name: "fleetscale_hub_reachable",
      help: "1 while the hub answered a leader-election request within the renew deadline",
      registers: [this.registry],
      collect() {
        this.set(sources.hubReachable() ? 1 : 0);
      },
    });
  }

  /** The state exported per workload and member, to remove its series when it changes. */
  private readonly exportedStates = new Map<string, string>();

  /**
   * Per member of a workload: desired replicas and state from the plan, current replicas
   * where observed. One state series per member and workload, not one per possible state
   * (kube-state-metrics' style, 0 for the rest, made /metrics 4.8 MB at 1,000 DSOs and
   * the scrape the runtime's largest cost).
   */
  recordPlan(workload: string, plan: Plan, observations: Readonly<Record<string, Observation>>): void {
    this.totalReplicas.set({ workload }, plan.totalReplicas);
    this.converged.set({ workload }, plan.converged ? 1 : 0);
    for (const m of plan.members) {
      this.desiredReplicas.set({ workload, member: m.name }, m.desiredReplicas);
      const observation = observations[m.name];
      if (observation?.healthy) this.currentReplicas.set({ workload, member: m.name }, observation.currentReplicas);
      const key = `${workload}|${m.name}`;
      const exported = this.exportedStates.get(key);
      if (exported === m.state) continue;
      if (exported !== undefined) this.memberState.remove({ workload, member: m.name, state: exported });
      this.memberState.set({ workload, member: m.name, state: m.state }, 1);
      this.exportedStates.set(key, m.state);
    }
  }

  /** The workload is gone: its own series and those of its members. */
  forgetWorkload(workload: string, members: readonly string[]): void {
    this.totalReplicas.remove({ workload });
    this.converged.remove({ workload });
    this.forgetMembersOf(workload, members);
  }

  /** Members that left a workload. prom-client removes exact label sets only, hence the member list. */
  forgetMembersOf(workload: string, members: readonly string[]): void {
    for (const member of members) {
      this.desiredReplicas.remove({ workload, member });
      this.currentReplicas.remove({ workload, member });
      const exported = this.exportedStates.get(`${workload}|${member}`);
      if (exported !== undefined) this.memberState.remove({ workload, member, state: exported });
      this.exportedStates.delete(`${workload}|${member}`);
    }
  }

  forgetMember(member: string): void {
    this.memberHealthy.remove({ member });
  }
}
