/**
 * A rebalance is a step whose plan changed some member's desired replicas. Each one is
 * told as a Kubernetes Event on the DSO, with the engine's reason per member. Pure.
 */
import type { Plan } from "../engine/plan";

export type RebalanceReason = "MemberExcluded" | "MemberRecovering" | "Rebalanced";

export interface Rebalance {
  reason: RebalanceReason;
  message: string;
}

/** Undefined when the step changed no member's desired replicas. */
export function rebalanceOf(plan: Plan): Rebalance | undefined {
  const changed = plan.members.filter((m) => m.desiredReplicas !== m.previousReplicas);
  if (changed.length === 0) return undefined;
  // The most telling cause names the event: losing a member, then getting one back. A member
  // back from an outage keeps what it runs, so the members that give back its share may be
  // the only ones that change.
  const reason: RebalanceReason = changed.some((m) => m.state === "Excluded")
    ? "MemberExcluded"
    : plan.members.some((m) => m.state === "Recovering")
      ? "MemberRecovering"
      : "Rebalanced";
  const lines = changed.map((m) => `${m.name} ${m.reason ?? `${m.previousReplicas} -> ${m.desiredReplicas}`}`);
  return { reason, message: [`total ${plan.totalReplicas}`, ...lines, ...plan.notes].join("; ") };
}
