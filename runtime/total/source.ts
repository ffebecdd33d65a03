/**
 * Where a DistributedScaledObject's fleet-wide total comes from, per DSO:
 * - no triggers: the declared total (spec.totalTargetReplicas, set by hand or by Pulumi);
 * - KEDA installed in the hub: a ScaledObject we own targets the DSO itself, and KEDA's
 *   HPA sets spec.totalTargetReplicas through the DSO's scale subresource;
 * - no KEDA: the runtime evaluates the kubernetes-resource trigger itself (HPA arithmetic
 *   in resource-trigger.ts) and writes the result through the same scale subresource. It
 *   watches the ConfigMap or Secret the trigger reads (trigger-objects.ts) and evaluates
 *   when it changes, and again when a stabilization window or cooldownPeriod can end
 *   (watched-trigger.ts): no polling, so pollingInterval does not apply.
 * Either way the total lives in spec.totalTargetReplicas, so `pulumi up` (which reads
 * it) and the runtime always plan from the same number.
 */
import type * as k8s from "@kubernetes/client-node";
import type { DistributedScaledObject } from "../../schema/dso";
import { API_GROUP, API_VERSION, PLURAL } from "../../schema/dso-names";
import { declaredTotal, workloadKey } from "../../schema/plan-input";
import type { Logger } from "../log";
import type { TotalOutcome, TotalSource } from "../reconciler";
import type { ConditionInput } from "../status";
import { ValidationError } from "../../schema/validate";
import { messageOf } from "../watch";
import { clientNode, httpStatusOf, timeoutOptions } from "../../members/client-node";
import { HUB_TIMEOUT_MS, type HubConnection, hubKubeConfig } from "../../members/hub";
import { ensureScaledObject, kedaInstalled } from "./keda";
import { type ResourceTrigger, TriggerValueError, desiredTotal, resourceTriggerOf, totalPolicyOf, triggerObjectName, triggerValueOf, watchFailure } from "./resource-trigger";
import { TriggerObjects } from "./trigger-objects";
import { type TriggerMemory, carriedForward, compactHistory, nextTimedChange } from "./watched-trigger";

/** How long a "KEDA is (not) installed" answer is trusted before asking again. */
const KEDA_CHECK_MS = 60_000;

/** The condition the built-in trigger adds to a DSO's status. */
export const TRIGGER_CONDITION = "TriggerReady";

export interface AutoscaledTotalOptions {
  /** The value DSO `key` reads changed, or the watch on it did: reconcile it (the runtime's work queue). */
  changed: (key: string) => void;
  clock?: () => number;
}

export function autoscaledTotal(hub: HubConnection, log: Logger, options: AutoscaledTotalOptions): TotalSource {
  const clock = options.clock ?? Date.now;
  const config = hubKubeConfig(hub);
  let keda: { installed: boolean; checkedAt: number } | undefined;
  const memory = new Map<string, TriggerMemory>();
  /** Per DSO, the generation whose ScaledObject was last made to match, and when. */
  const ensured = new Map<string, { generation: number | undefined; at: number }>();
  const objects = new TriggerObjects({ config, log, changed: options.changed });

  const kedaPresent = async () => {
    if (keda === undefined || clock() - keda.checkedAt > KEDA_CHECK_MS) {
      keda = { installed: await kedaInstalled(config), checkedAt: clock() };
    }
    return keda.installed;
  };

  /** The built-in trigger: the value from the watched object, the HPA's arithmetic, the result written as an HPA would. */
  const evaluate = async (dso: DistributedScaledObject, key: string, current: number): Promise<TotalOutcome> => {
    const spec = dso.spec.scaledObjectSpec;
    const namespace = dso.metadata.namespace ?? "default";
    const trigger = resourceTriggerOf(spec);
    const policy = totalPolicyOf(spec as Record<string, unknown>);
    const read = objects.read(key, { kind: trigger.resourceKind, namespace, name: trigger.resourceName });
    if (read.state === "syncing") {
      return { total: current, condition: { type: TRIGGER_CONDITION, status: "Unknown", reason: "Syncing", message: `waiting for the first list of ${triggerObjectName(trigger, namespace)}` } };
    }
    if (read.state === "failed") throw watchFailure(httpStatusOf(read.error), messageOf(read.error), trigger, namespace);
    const value = triggerValueOf(read.object, trigger, namespace);
    const now = clock();
    const decision = desiredTotal({
      value,
      targetValue: trigger.targetValue,
      activationTargetValue: trigger.activationTargetValue,
      currentTotal: current,
      ...policy,
      now,
      ...carriedForward(memory.get(key), now),
    });
    memory.set(key, { history: compactHistory(decision.history), lastActiveAt: decision.lastActiveAt, active: decision.active });
    if (decision.total !== current) {
      await setTotal(config, dso, decision.total);
      log.info({ dso: key, from: current, to: decision.total, reason: decision.reason }, "total replicas changed by trigger");
    }
    return { total: decision.total, wakeAt: nextTimedChange(decision, policy, now), condition: watching(trigger, namespace) };
  };

  const total = async (dso: DistributedScaledObject): Promise<number | TotalOutcome> => {
    const current = declaredTotal(dso.spec);
    const key = workloadKey(dso);
    if (dso.spec.scaledObjectSpec.triggers.length === 0) {
      objects.forget(key);
      return current;
    }
    try {
      if (await kedaPresent()) {
        objects.forget(key);
        // Only when the spec changed, or once a minute to repair a ScaledObject changed by
        // hand: not one hub read per reconcile.
        const generation = typeof dso.metadata.generation === "number" ? dso.metadata.generation : undefined;
        const last = ensured.get(key);
        if (last === undefined || last.generation !== generation || clock() - last.at > KEDA_CHECK_MS) {
          const result = await ensureScaledObject(config, dso);
          ensured.set(key, { generation, at: clock() });
          if (result.action !== "unchanged") log.info({ dso: key, action: result.action }, result.message);
        }
        return current;
      }
      return await evaluate(dso, key, current);
    } catch (error) {
      // A broken trigger (missing ConfigMap, not a number, no permission, a trigger only KEDA
      // evaluates) leaves the total where it is and says why; its watch, or the next spec,
      // wakes the DSO when that changes. Anything else
      // (the hub refusing the write) is retried with the DSO's backoff.
      const invalid = error instanceof ValidationError;
      // An invalid trigger reads nothing: the watch of what it read before ends.
      if (invalid) objects.forget(key);
      const reason = error instanceof TriggerValueError ? error.problem : invalid ? "InvalidTrigger" : undefined;
      const message = invalid ? error.problems.map((p) => `${p.path}: ${p.message}`).join("; ") : messageOf(error);
      log.warn({ dso: key, err: message }, "total replicas kept: trigger could not be evaluated");
      return { total: current, condition: { type: TRIGGER_CONDITION, status: "False", reason: reason ?? "EvaluationFailed", message }, failed: reason === undefined };
    }
  };
  // Memory and watches per DSO go with the DSO.
  return Object.assign(total, {
    forget: (key: string) => {
      memory.delete(key);
      ensured.delete(key);
      objects.forget(key);
    },
    stop: () => objects.stop(),
  });
}

function watching(trigger: ResourceTrigger, namespace: string): ConditionInput {
  return { type: TRIGGER_CONDITION, status: "True", reason: "Watching", message: `the total follows ${triggerObjectName(trigger, namespace)} key ${JSON.stringify(trigger.key)} as it changes` };
}

/** Writes spec.totalTargetReplicas through the scale subresource, as an HPA would. */
async function setTotal(config: k8s.KubeConfig, dso: DistributedScaledObject, replicas: number): Promise<void> {
  const lib = clientNode();
  const custom: k8s.CustomObjectsApi = config.makeApiClient(lib.CustomObjectsApi);
  const options = lib.setHeaderOptions("Content-Type", lib.PatchStrategy.MergePatch, timeoutOptions(HUB_TIMEOUT_MS));
  await custom.patchNamespacedCustomObjectScale(
    { group: API_GROUP, version: API_VERSION, namespace: dso.metadata.namespace ?? "default", plural: PLURAL, name: dso.metadata.name, body: { spec: { replicas } } },
    options,
  );
}
