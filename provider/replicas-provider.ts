/**
 * The dynamic provider behind DistributedReplicas: a thin shell around the engine
 * (engine/), the member client (members/) and the reconcile loop (reconcile/), the
 * same modules the runtime uses.
 *
 * Pulumi serializes this object as code. It therefore imports no zod schemas (inputs
 * are validated in the program, in distributed-replicas.ts; schema/plan-input.ts, the
 * mapping to engine inputs it shares with the runtime and the CLI, takes only their
 * types) and loads client-node lazily inside the member and hub clients.
 *
 * - check() computes the weighted plan per member as an input, so `pulumi preview
 *   --diff` shows `plan.<member>: old => new` when a weight or the total changes.
 * - create()/update() converge the members on the plan, make-before-break, with the
 *   engine's grace and exclusion rules for members that do not answer.
 * - read() (refresh) records the replicas the members really have; a drifted member
 *   shows as a change on the next preview and is put right by the next up.
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

/** Inputs once resolved; `totalReplicas` and `plan` are filled in by check(). */
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
  /** The total when the hub has no live DSO yet: spec.totalTargetReplicas or minReplicaCount. */
  declaredTotal: number;
  timeoutSeconds: number;
  scaleToZeroOnDelete: boolean;
  totalReplicas?: number;
  plan?: Record<string, number>;
}

export interface MemberState {
  state: string;
  description: string;
}

export interface ReplicasOutputs extends ReplicasInputs {
  totalReplicas: number;
  plan: Record<string, number>;
  /** spec.replicas each member really has (null: the member could not be read). */
  actual: Record<string, number | null>;
  memberStates: Record<string, MemberState>;
  /** The engine's records, so grace periods carry over between runs. */
  records: Record<string, MemberRecord>;
}

export const replicasProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: ReplicasInputs, news: ReplicasInputs): Promise<pulumi.dynamic.CheckResult> {
    const failures = checkInputs(news);
    if (failures.length > 0) return { failures };
    const totalReplicas = await liveTotal(news);
    return { inputs: { ...news, totalReplicas, plan: weightedPlan(news, totalReplicas) } };
  },

  async diff(_id: string, olds: ReplicasOutputs, news: ReplicasInputs): Promise<pulumi.dynamic.DiffResult> {
    const compared: (keyof ReplicasInputs)[] = ["plan", "totalReplicas", "members", "gracePeriod", "maxRebalancePercentage", "targetKind", "targetName", "dsoNamespace", "dsoName", "hubNamespace", "scaleToZeroOnDelete", "timeoutSeconds"];
    const changed = compared.some((key) => JSON.stringify(olds[key]) !== JSON.stringify(news[key]));
    const drifted = Object.entries(olds.actual ?? {}).some(([member, replicas]) => replicas !== null && replicas !== olds.plan?.[member]);
    return { changes: changed || drifted, replaces: [], deleteBeforeReplace: false };
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

/** The plan with every member healthy: what preview shows per member. */
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
  const totalReplicas = inputs.totalReplicas ?? inputs.declaredTotal;
  const clients = await memberClients(inputs);
  const targets: MemberTarget[] = inputs.members.map((m) => ({ spec: engineMemberOf(m), ref: workloadRef(inputs, m.name), access: clients.get(m.name)! }));
  const result = await converge(
    { workload: workloadOf(inputs), totalReplicas, previousTotalReplicas: previousTotal, policy: policyOf(inputs), previous, members: targets },
    { timeoutMs: inputs.timeoutSeconds * 1000 },
  );
  const last = result.last;
  const actual: Record<string, number | null> = {};
  const memberStates: Record<string, MemberState> = {};
  for (const m of last.plan.members) {
    const written = last.writes.find((w) => w.member === m.name && !w.error);
    actual[m.name] = written ? written.to : (last.specReplicas[m.name] ?? null);
    memberStates[m.name] = { state: m.state, description: m.description };
  }
  return { ...inputs, totalReplicas, plan: inputs.plan ?? weightedPlan(inputs, totalReplicas), actual, memberStates, records: result.records };
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
