/**
 * Where a DistributedScaledObject's fleet-wide total comes from, per DSO:
 * - no triggers: the declared total (spec.totalTargetReplicas, set by hand or by Pulumi);
 * - KEDA installed in the hub: a ScaledObject we own targets the DSO itself, and KEDA's
 *   HPA sets spec.totalTargetReplicas through the DSO's scale subresource;
 * - no KEDA: the runtime evaluates the kubernetes-resource trigger itself (HPA arithmetic
 *   in resource-trigger.ts) and writes the result through the same scale subresource.
 * Either way the total lives in spec.totalTargetReplicas, so `pulumi up` (which reads
 * it) and the runtime always plan from the same number.
 */
import type * as k8s from "@kubernetes/client-node";
import type { DistributedScaledObject } from "../../schema/dso";
import { API_GROUP, API_VERSION, PLURAL } from "../../schema/dso-names";
import { declaredTotal, workloadKey } from "../../schema/plan-input";
import type { Logger } from "../log";
import type { TotalSource } from "../reconciler";
import { clientNode, timeoutOptions } from "../../members/client-node";
import { HUB_TIMEOUT_MS, type HubConnection, hubKubeConfig } from "../../members/hub";
import { ensureScaledObject, kedaInstalled } from "./keda";
import { type Recommendation, desiredTotal, readTriggerValue, resourceTriggerOf, totalPolicyOf } from "./resource-trigger";

/** How long a "KEDA is (not) installed" answer is trusted before asking again. */
const KEDA_CHECK_MS = 60_000;

interface TriggerMemory {
  evaluatedAt: number;
  history: Recommendation[];
  lastActiveAt: number | undefined;
}

export function autoscaledTotal(hub: HubConnection, log: Logger, clock: () => number = Date.now): TotalSource {
  let keda: { installed: boolean; checkedAt: number } | undefined;
  const memory = new Map<string, TriggerMemory>();
  /** Per DSO, the generation whose ScaledObject was last made to match, and when. */
  const ensured = new Map<string, { generation: number | undefined; at: number }>();

  const kedaPresent = async () => {
    if (keda === undefined || clock() - keda.checkedAt > KEDA_CHECK_MS) {
      keda = { installed: await kedaInstalled(hub), checkedAt: clock() };
    }
    return keda.installed;
  };

  const total = async (dso: DistributedScaledObject) => {
    const current = declaredTotal(dso.spec);
    if (dso.spec.scaledObjectSpec.triggers.length === 0) return current;
    const key = workloadKey(dso);
    try {
      if (await kedaPresent()) {
        // Only when the spec changed, or once a minute to repair a ScaledObject changed by
        // hand: not one hub read per reconcile.
        const generation = typeof dso.metadata.generation === "number" ? dso.metadata.generation : undefined;
        const last = ensured.get(key);
        if (last === undefined || last.generation !== generation || clock() - last.at > KEDA_CHECK_MS) {
          const result = await ensureScaledObject(hub, dso);
          ensured.set(key, { generation, at: clock() });
          if (result.action !== "unchanged") log.info({ dso: key, action: result.action }, result.message);
        }
        return current;
      }
      const spec = dso.spec.scaledObjectSpec;
      const seen = memory.get(key);
      const now = clock();
      // KEDA's pollingInterval (default 30 s) paces the trigger like KEDA would.
      if (seen && now - seen.evaluatedAt < (spec.pollingInterval ?? 30) * 1000) return current;
      const trigger = resourceTriggerOf(spec);
      const policy = totalPolicyOf(spec as Record<string, unknown>);
      const value = await readTriggerValue(hub, dso.metadata.namespace ?? "default", trigger);
      const decision = desiredTotal({
        value,
        targetValue: trigger.targetValue,
        activationTargetValue: trigger.activationTargetValue,
        currentTotal: current,
        ...policy,
        now,
        history: seen?.history ?? [],
        lastActiveAt: seen?.lastActiveAt,
      });
      memory.set(key, { evaluatedAt: now, history: decision.history, lastActiveAt: decision.lastActiveAt });
      if (decision.total !== current) {
        await setTotal(hub, dso, decision.total);
        log.info({ dso: key, from: current, to: decision.total, reason: decision.reason }, "total replicas changed by trigger");
      }
      return decision.total;
    } catch (error) {
      // A broken trigger (missing ConfigMap, not a number) leaves the total where it is.
      log.warn({ dso: key, err: (error as Error).message }, "total replicas kept: trigger could not be evaluated");
      return current;
    }
  };
  // Memory per DSO goes with the DSO.
  return Object.assign(total, {
    forget: (key: string) => {
      memory.delete(key);
      ensured.delete(key);
    },
  });
}

/** Writes spec.totalTargetReplicas through the scale subresource, as an HPA would. */
async function setTotal(hub: HubConnection, dso: DistributedScaledObject, replicas: number): Promise<void> {
  const lib = clientNode();
  const custom: k8s.CustomObjectsApi = hubKubeConfig(hub).makeApiClient(lib.CustomObjectsApi);
  const options = lib.setHeaderOptions("Content-Type", lib.PatchStrategy.MergePatch, timeoutOptions(HUB_TIMEOUT_MS));
  await custom.patchNamespacedCustomObjectScale(
    { group: API_GROUP, version: API_VERSION, namespace: dso.metadata.namespace ?? "default", plural: PLURAL, name: dso.metadata.name, body: { spec: { replicas } } },
    options,
  );
}
