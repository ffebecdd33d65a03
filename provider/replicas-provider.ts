/**
 * The dynamic provider behind DistributedReplicas: a thin shell around the engine
 * (engine/), the member client (members/) and the reconcile loop (reconcile/), the
 * same modules the runtime uses.
 *
 * Pulumi's provider process requires this module through the loader it keeps in state
 * (replicas-provider-loader.ts). Inputs are validated in the program, in
 * distributed-replicas.ts; schema/plan-input.ts, the mapping to engine inputs it shares
 * with the runtime and the CLI, takes only their types.
 *
 * - check() computes the weighted split per member at the declared total as an input, so
 *   `pulumi preview --diff` shows `plan.<member>: old => new` when a weight or the declared
 *   total changes, and nothing when only the autoscaler moved the live total: a preview
 *   shows what the user changed.
 * - create()/update() converge the members on the plan, make-before-break, with the
 *   engine's grace and exclusion rules for members that do not answer; or, while a runtime
 *   leads in the hub, leave the members to it and wait for it to converge (one writer).
 * - read() (refresh) records the replicas the members really have (`actual`). Drift is not a
 *   change to preview: the runtime corrects it continuously, and the next up that changes
 *   anything converges from what runs.
 * - delete() leaves the workloads running as they are, unless scaleToZeroOnDelete.
 */
import type * as pulumi from "@pulumi/pulumi";
import { parseDuration } from "../engine/duration";
import type { MemberRecord } from "../engine/health";
import { settle } from "../engine/settle";
import { MemberClient, MemberError, type WorkloadRef } from "../members/client";
import { FleetError, failuresOf, fanOut } from "../members/fan-out";
import { HubClient } from "../members/hub";
import { converge } from "../reconcile/converge";
import type { MemberTarget } from "../reconcile/step";
import { engineMemberOf, memberInputsOf, policyOf, workloadKey } from "../schema/plan-input";

export interface ReplicasMember {
  name: string;
  weight: number;
  minReplicas?: number;
  maxReplicas?: number;
  targetNamespace?: string;
}

/** Inputs once resolved; `plan` is filled in by check(). */
export interface ReplicasInputs {
  hubKubeconfig: string;
  /** Namespace of the member kubeconfig Secrets in the hub. */
  hubNamespace: string;
  dsoNamespace: string;
  dsoName: string;
  members: ReplicasMember[];
  gracePeriod: string;
  maxRebalancePercentage: number;
  targetKind: "Deployment" | "StatefulSet";
  targetName: string;
  /** The total the spec declares (spec.totalTargetReplicas, else minReplicaCount): what `plan` splits. */
  declaredTotal: number;
  timeoutSeconds: number;
  scaleToZeroOnDelete: boolean;
  /** The weighted split of the declared total with every member healthy: what preview diffs. */
  plan?: Record<string, number>;
}

export interface MemberState {
  state: string;
  description: string;
}

export interface ReplicasOutputs extends ReplicasInputs {
  /** The live total the last up converged on (KEDA's or the runtime's, else the declared one). */
  totalReplicas: number;
  plan: Record<string, number>;
  /** spec.replicas each member really has (null: the member could not be read). */
  actual: Record<string, number | null>;
  memberStates: Record<string, MemberState>;
  /** The engine's records, so grace periods carry over between runs. */
  records: Record<string, MemberRecord>;
  /**
   * Whether the last up left every member healthy at its share. When it did not (a member
   * failed during it), the next preview shows a change, so the next up finishes the job.
   */
  converged: boolean;
}

export const replicasProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: ReplicasInputs, news: ReplicasInputs): Promise<pulumi.dynamic.CheckResult> {
    const failures = checkInputs(news);
    if (failures.length > 0) return { failures };
    return { inputs: { ...news, plan: weightedPlan(news, news.declaredTotal) } };
  },

  async diff(_id: string, olds: ReplicasOutputs, news: ReplicasInputs): Promise<pulumi.dynamic.DiffResult> {
    // Inputs, and unfinished work of the last up: the live total and the replicas that run
    // are the autoscaler's and the runtime's business, not changes the user made.
    // The hub credential too: a rotated one must reach state, or refresh and destroy use the revoked one.
    const compared: (keyof ReplicasInputs)[] = ["hubKubeconfig", "plan", "declaredTotal", "members", "gracePeriod", "maxRebalancePercentage", "targetKind", "targetName", "dsoNamespace", "dsoName", "hubNamespace", "scaleToZeroOnDelete", "timeoutSeconds"];
    const changed = compared.some((key) => JSON.stringify(olds[key]) !== JSON.stringify(news[key]));
    // Pulumi runs refresh and destroy with the provider kept in state: a new one (a state
    // written before the loader holds the whole serialized code) is a change, so up stores it.
    const codeChanged = providerCode(olds) !== providerCode(news);
    return { changes: changed || codeChanged || olds.converged === false, replaces: [], deleteBeforeReplace: false };
  },

  async create(inputs: ReplicasInputs): Promise<pulumi.dynamic.CreateResult> {
    return { id: `${inputs.dsoNamespace}/${inputs.dsoName}`, outs: await apply(inputs, {}) };
  },

  async update(_id: string, olds: ReplicasOutputs, news: ReplicasInputs): Promise<pulumi.dynamic.UpdateResult> {
    return { outs: await apply(news, olds.records ?? {}, olds.totalReplicas) };
  },

  async read(id: string, props: ReplicasOutputs): Promise<pulumi.dynamic.ReadResult> {
    const clients = await memberClients(props);
    const reads = await fanOut(props.members.map((m) => m.name), async (name) => {
      const client = clients.get(name)!;
      if (client instanceof MemberError) throw client;
      return client.readReplicas(workloadRef(props, name));
    });
    const actual = Object.fromEntries(reads.map((r) => [r.member, r.ok ? r.value.desired : null]));
    return { id, props: { ...props, actual } };
  },

  async delete(_id: string, props: ReplicasOutputs): Promise<void> {
    if (!props.scaleToZeroOnDelete) return;
    const clients = await memberClients(props);
    const outcomes = await fanOut(props.members.map((m) => m.name), async (name) => {
      const client = clients.get(name)!;
      if (client instanceof MemberError) throw client;
      await client.scale(workloadRef(props, name), 0);
    });
    const failures = failuresOf(outcomes);
    if (failures.length > 0) throw new FleetError("scaling to zero on delete", failures);
  },
};

/** The serialized provider (the loader) Pulumi passes along with the inputs and keeps in state. */
function providerCode(props: ReplicasInputs): unknown {
  return (props as unknown as Record<string, unknown>)["__provider"];
}

/** What no schema can check for us inside the provider: the engine's own preconditions. */
function checkInputs(inputs: ReplicasInputs): pulumi.dynamic.CheckFailure[] {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  if (parseDuration(inputs.gracePeriod) === undefined) failures.push({ property: "gracePeriod", reason: `"${inputs.gracePeriod}" is not a duration` });
  if (!Number.isInteger(inputs.maxRebalancePercentage) || inputs.maxRebalancePercentage < 1 || inputs.maxRebalancePercentage > 100) {
    failures.push({ property: "maxRebalancePercentage", reason: "must be a whole number from 1 to 100" });
  }
  if (inputs.members.length === 0) failures.push({ property: "members", reason: "at least one member is needed" });
  return failures;
}

/** The fleet-wide total: the live DSO's spec.totalTargetReplicas (kept current by KEDA or the runtime), else the declared one. */
async function liveTotal(inputs: ReplicasInputs): Promise<number> {
  let dso: Record<string, unknown> | undefined;
  try {
    dso = await new HubClient(inputs.hubKubeconfig).distributedScaledObject(inputs.dsoNamespace, inputs.dsoName);
  } catch {
    // No hub yet (first preview of a new fleet): the declared total is what up will apply.
    return inputs.declaredTotal;
  }
  const live = (dso?.spec as { totalTargetReplicas?: unknown } | undefined)?.totalTargetReplicas;
  return typeof live === "number" ? live : inputs.declaredTotal;
}

/** The split with every member healthy: what preview shows per member. */
function weightedPlan(inputs: ReplicasInputs, totalReplicas: number): Record<string, number> {
  const settled = settle({
    workload: workloadOf(inputs),
    totalReplicas,
    policy: policyOf(inputs),
    previous: {},
    now: 0,
    members: memberInputsOf(inputs.members, () => ({ healthy: true, readyReplicas: 0, currentReplicas: 0 })),
  }).plan;
  return Object.fromEntries(settled.members.map((m) => [m.name, m.desiredReplicas]));
}

async function apply(inputs: ReplicasInputs, previous: Record<string, MemberRecord>, previousTotal?: number): Promise<ReplicasOutputs> {
  const hub = new HubClient(inputs.hubKubeconfig);
  let leader = await hub.runtimeLeader(inputs.hubNamespace);
  if (leader !== undefined) return handOver(inputs, leader, previous);
  const totalReplicas = await liveTotal(inputs);
  const clients = await memberClients(inputs);
  const targets: MemberTarget[] = inputs.members.map((m) => ({ spec: engineMemberOf(m), ref: workloadRef(inputs, m.name), access: clients.get(m.name)! }));
  const result = await converge(
    { workload: workloadOf(inputs), totalReplicas, previousTotalReplicas: previousTotal, policy: policyOf(inputs), previous, members: targets },
    {
      timeoutMs: inputs.timeoutSeconds * 1000,
      // A runtime that starts leading during this up takes over before the next step.
      // Not knowing is no licence to write: an unreadable Lease stops the up.
      takenOver: async () => {
        try {
          leader = await hub.runtimeLeader(inputs.hubNamespace);
        } catch (error) {
          throw new Error(`stopped writing members: cannot tell whether a runtime leads, reading its Lease in the hub failed: ${(error as Error).message}`);
        }
        return leader !== undefined;
      },
    },
  );
  if (result.takenOver) return handOver(inputs, leader!, result.records);
  const last = result.last;
  const actual: Record<string, number | null> = {};
  const memberStates: Record<string, MemberState> = {};
  for (const m of last.plan.members) {
    const written = last.writes.find((w) => w.member === m.name && !w.error);
    actual[m.name] = written ? written.to : (last.specReplicas[m.name] ?? null);
    memberStates[m.name] = { state: m.state, description: m.description };
  }
  const converged = last.plan.converged && Object.values(last.observations).every((o) => o.healthy);
  return { ...inputs, totalReplicas, plan: inputs.plan ?? weightedPlan(inputs, totalReplicas), actual, memberStates, records: result.records, converged };
}

/**
 * One writer at a time: while a runtime leads, it alone writes the members, planning from the
 * DistributedScaledObject in the hub (which this `up` applied just before). `up` then writes
 * no member: it checks that the DSO says what these inputs say and waits until the runtime
 * has acted on it, so the two never work from different specs.
 */
async function handOver(inputs: ReplicasInputs, leader: string, previous: Record<string, MemberRecord>): Promise<ReplicasOutputs> {
  const hub = new HubClient(inputs.hubKubeconfig);
  const what = `DistributedReplicas ${inputs.dsoNamespace}/${inputs.dsoName}`;
  const deadline = Date.now() + inputs.timeoutSeconds * 1000;
  for (;;) {
    const dso = (await hub.distributedScaledObject(inputs.dsoNamespace, inputs.dsoName)) as LiveDso | undefined;
    if (dso === undefined) throw new Error(`${what}: the runtime ${leader} leads, but the DistributedScaledObject is not in the hub; apply it too`);
    const differs = specDifference(inputs, dso.spec ?? {});
    if (differs !== undefined) {
      throw new Error(`${what}: the runtime ${leader} leads and plans from the DistributedScaledObject in the hub, whose ${differs}; apply the DistributedScaledObject too (pulumi up without --target, or target both)`);
    }
    const ready = dso.status?.conditions?.find((c) => c.type === "Ready");
    const observed = (dso.status?.observedGeneration ?? -1) >= (dso.metadata?.generation ?? 0);
    if (observed && ready?.reason === "InvalidSpec") throw new Error(`${what}: the runtime ${leader} refuses the DistributedScaledObject: ${ready.message}`);
    // Done once the runtime acted on this spec and is not moving replicas toward it any more:
    // converged, or held up by what up could not change either (an unreachable member, pods
    // that do not become ready), which the outputs report as they would without a runtime.
    if (observed && ready !== undefined && ready.reason !== "Rebalancing") return handedOver(inputs, dso, previous);
    if (Date.now() >= deadline) {
      const state = observed ? `Ready is ${ready?.status} (${ready?.reason}: ${ready?.message})` : `it has not acted on generation ${dso.metadata?.generation} yet`;
      throw new Error(`${what}: the runtime ${leader} did not converge within ${inputs.timeoutSeconds}s: ${state}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

interface LiveDso {
  metadata?: { generation?: number };
  spec?: {
    memberClusters?: Partial<ReplicasMember>[];
    rebalancingPolicy?: { gracePeriod?: string; maxRebalancePercentage?: number };
    scaledObjectSpec?: { scaleTargetRef?: { name?: string; kind?: string }; minReplicaCount?: number; triggers?: unknown[] };
    totalTargetReplicas?: number;
  };
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason: string; message: string }[];
    memberClusterStatuses?: Record<string, { state: string; description: string; desiredReplicas: number }>;
  };
}

/** What the hub's DSO says differently from these inputs, in words; undefined when nothing. */
function specDifference(inputs: ReplicasInputs, spec: NonNullable<LiveDso["spec"]>): string | undefined {
  const membersOf = (members: readonly Partial<ReplicasMember>[]) =>
    JSON.stringify(
      [...members]
        .map((m) => ({ name: m.name, weight: m.weight ?? 1, minReplicas: m.minReplicas, maxReplicas: m.maxReplicas, targetNamespace: m.targetNamespace }))
        .sort((a, b) => String(a.name).localeCompare(String(b.name))),
    );
  const weights = (members: readonly Partial<ReplicasMember>[]) => members.map((m) => `${m.name}=${m.weight ?? 1}`).join(", ");
  if (membersOf(spec.memberClusters ?? []) !== membersOf(inputs.members)) {
    return `members are ${weights(spec.memberClusters ?? [])}, not ${weights(inputs.members)}`;
  }
  const policy = spec.rebalancingPolicy ?? {};
  if (policy.gracePeriod !== inputs.gracePeriod || policy.maxRebalancePercentage !== inputs.maxRebalancePercentage) {
    return `rebalancingPolicy is ${policy.gracePeriod}/${policy.maxRebalancePercentage}%, not ${inputs.gracePeriod}/${inputs.maxRebalancePercentage}%`;
  }
  // Without triggers the declared total is the total; with them KEDA or the runtime own it.
  const declared = spec.totalTargetReplicas ?? spec.scaledObjectSpec?.minReplicaCount ?? 0;
  if ((spec.scaledObjectSpec?.triggers ?? []).length === 0 && declared !== inputs.declaredTotal) {
    return `total is ${declared}, not ${inputs.declaredTotal}`;
  }
  const target = spec.scaledObjectSpec?.scaleTargetRef;
  if (target?.name !== inputs.targetName || (target?.kind ?? "Deployment") !== inputs.targetKind) {
    return `scale target is ${target?.kind ?? "Deployment"} ${target?.name}, not ${inputs.targetKind} ${inputs.targetName}`;
  }
  return undefined;
}

/** The outputs as the runtime's status tells them. */
function handedOver(inputs: ReplicasInputs, dso: LiveDso, previous: Record<string, MemberRecord>): ReplicasOutputs {
  const statuses = dso.status?.memberClusterStatuses ?? {};
  const actual: Record<string, number | null> = {};
  const memberStates: Record<string, MemberState> = {};
  for (const { name } of inputs.members) {
    const status = statuses[name];
    actual[name] = status ? status.desiredReplicas : null;
    memberStates[name] = status ? { state: status.state, description: status.description } : { state: "Unknown", description: "not in the runtime's status yet" };
  }
  const totalReplicas = dso.spec?.totalTargetReplicas ?? inputs.declaredTotal;
  // converged: what is left is the runtime's to finish, not the next up's, so no change to preview.
  return { ...inputs, totalReplicas, plan: inputs.plan ?? weightedPlan(inputs, inputs.declaredTotal), actual, memberStates, records: previous, converged: true };
}

async function memberClients(inputs: ReplicasInputs): Promise<Map<string, MemberClient | MemberError>> {
  const kubeconfigs = await new HubClient(inputs.hubKubeconfig).memberKubeconfigs(inputs.hubNamespace);
  const clients = new Map<string, MemberClient | MemberError>();
  for (const { name } of inputs.members) {
    const kubeconfig = kubeconfigs.get(name);
    if (kubeconfig === undefined) {
      clients.set(name, new MemberError(name, "Unauthorized", `no member Secret in hub namespace ${inputs.hubNamespace}`));
      continue;
    }
    try {
      clients.set(name, new MemberClient(name, kubeconfig));
    } catch (error) {
      clients.set(name, error as MemberError);
    }
  }
  return clients;
}

function workloadRef(inputs: ReplicasInputs, member: string): WorkloadRef {
  const namespace = inputs.members.find((m) => m.name === member)?.targetNamespace ?? inputs.dsoNamespace;
  return { kind: inputs.targetKind, namespace, name: inputs.targetName };
}

/** The same key the runtime plans with, so ties fall the same way for both. */
function workloadOf(inputs: ReplicasInputs): string {
  return workloadKey({ metadata: { namespace: inputs.dsoNamespace, name: inputs.dsoName } });
}
