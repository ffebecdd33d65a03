/**
 * Source 1 of a DSO's total replicas: KEDA in the hub.
 *
 * When the hub has KEDA (its CRD scaledobjects.keda.sh exists), the runtime does not
 * evaluate triggers itself. For each DistributedScaledObject it owns a KEDA ScaledObject
 * of the same name and namespace, built from spec.scaledObjectSpec, whose scaleTargetRef
 * is the DSO itself. KEDA then creates its HPA against the DSO, and the HPA writes the
 * fleet-wide total into spec.totalTargetReplicas through the DSO's scale subresource
 * (schema/crd.ts); the runtime only has to apportion that total over the members. Every
 * KEDA scaler, TriggerAuthentication and fallback works unchanged, which is what Kedify
 * means by "it's the same old ScaledObject".
 *
 * The ScaledObject is controlled by the DSO (ownerReference with controller: true), so
 * Kubernetes' garbage collector deletes it with the DSO. A DSO without triggers gets no
 * ScaledObject (KEDA requires at least one trigger); one that loses its triggers has its
 * ScaledObject deleted, and the total is then whatever spec.totalTargetReplicas says.
 *
 * Writes happen only on drift. The API server defaults some fields (fallback.behavior),
 * so the live spec is never equal to ours; instead we record a hash of the spec we wrote
 * in an annotation and compare (a) that hash, which catches our own changes including
 * removed fields, and (b) that every field we set still has our value, which catches
 * edits made in the hub. KEDA's own additions (finalizer, labels) are kept.
 *
 * Functional core: scaledObjectFor, planScaledObject. Imperative shell: kedaInstalled,
 * ensureScaledObject.
 */
import { createHash } from "node:crypto";
import type * as k8s from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, KIND } from "../../schema/dso-names";
import { clientNode, httpStatusOf, timeoutOptions } from "../../members/client-node";
import { HUB_TIMEOUT_MS, type HubConnection, hubKubeConfig } from "../../members/hub";

export const KEDA_GROUP = "keda.sh";
export const KEDA_VERSION = "v1alpha1";
export const SCALED_OBJECT_PLURAL = "scaledobjects";
export const SCALED_OBJECT_CRD = `${SCALED_OBJECT_PLURAL}.${KEDA_GROUP}`;

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "fleetscale";
/** Hash of the spec we last wrote: our only memory of fields we have since removed. */
export const SPEC_HASH_ANNOTATION = "fleetscale.io/scaled-object-spec-hash";

/** The parts of a DSO (parsed by schema/dso.ts or straight from the API server) used here. */
export interface DsoForScaledObject {
  metadata: { name: string; namespace?: string | undefined; uid?: unknown };
  spec: { scaledObjectSpec: { triggers?: readonly unknown[] | undefined; [field: string]: unknown } };
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ScaledObjectManifest {
  apiVersion: `${typeof KEDA_GROUP}/${typeof KEDA_VERSION}`;
  kind: "ScaledObject";
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    ownerReferences: OwnerReference[];
  };
  spec: {
    scaleTargetRef: { apiVersion: string; kind: string; name: string };
    triggers: unknown[];
    [field: string]: unknown;
  };
}

/** A ScaledObject as read from the API server; only what the plan looks at is typed. */
export interface LiveScaledObject {
  metadata?: {
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    [field: string]: unknown;
  };
  spec?: unknown;
  [field: string]: unknown;
}

/**
 * The scaledObjectSpec fields KEDA receives as they are. scaleTargetRef is ours (the DSO);
 * anything else KEDA does not know would be pruned by its CRD anyway.
 */
const PASSED_THROUGH = [
  "pollingInterval",
  "cooldownPeriod",
  "initialCooldownPeriod",
  "idleReplicaCount",
  "minReplicaCount",
  "maxReplicaCount",
  "fallback",
  "advanced",
  "triggers",
] as const;

export const DSO_API_VERSION = `${API_GROUP}/${API_VERSION}`;

/** The ScaledObject that drives `dso`'s total, or undefined when the DSO has no triggers. */
export function scaledObjectFor(dso: DsoForScaledObject): ScaledObjectManifest | undefined {
  const source = dso.spec.scaledObjectSpec;
  if (!Array.isArray(source.triggers) || source.triggers.length === 0) return undefined;
  const uid = dso.metadata.uid;
  if (typeof uid !== "string" || uid === "") {
    // Without the live object's uid the ownerReference (and so garbage collection) cannot work.
    throw new Error(`DistributedScaledObject ${dso.metadata.name} has no metadata.uid: pass the object as read from the hub`);
  }
  const spec: ScaledObjectManifest["spec"] = {
    scaleTargetRef: { apiVersion: DSO_API_VERSION, kind: KIND, name: dso.metadata.name },
    triggers: [],
  };
  for (const field of PASSED_THROUGH) {
    if (source[field] !== undefined) (spec as Record<string, unknown>)[field] = withoutUndefined(source[field]);
  }
  return {
    apiVersion: `${KEDA_GROUP}/${KEDA_VERSION}`,
    kind: "ScaledObject",
    metadata: {
      name: dso.metadata.name,
      namespace: dso.metadata.namespace ?? "default",
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
      annotations: { [SPEC_HASH_ANNOTATION]: specHash(spec) },
      // No blockOwnerDeletion: it would need update rights on the DSO's finalizers where
      // OwnerReferencesPermissionEnforcement is on, and foreground deletion of DSOs buys nothing.
      ownerReferences: [{ apiVersion: DSO_API_VERSION, kind: KIND, name: dso.metadata.name, uid, controller: true }],
    },
    spec,
  };
}

/** sha256 of the spec's canonical JSON (keys sorted), so key order never reads as a change. */
export function specHash(spec: unknown): string {
  return createHash("sha256").update(canonicalJson(spec)).digest("hex").slice(0, 32);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** JSON has no undefined; dropping it here keeps hashes and comparisons honest. */
function withoutUndefined(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

/** True when every field of `want` is in `have` with the same value (arrays element by element). */
export function contains(have: unknown, want: unknown): boolean {
  if (Array.isArray(want)) {
    return Array.isArray(have) && have.length === want.length && want.every((w, i) => contains(have[i], w));
  }
  if (want !== null && typeof want === "object") {
    if (have === null || typeof have !== "object" || Array.isArray(have)) return false;
    const record = have as Record<string, unknown>;
    return Object.entries(want).every(([key, w]) => w === undefined || contains(record[key], w));
  }
  return have === want;
}

export type ScaledObjectPlan =
  | { action: "create"; object: ScaledObjectManifest }
  | { action: "update"; object: LiveScaledObject; why: string }
  | { action: "delete"; uid: string | undefined; why: string }
  | { action: "keep"; why: string }
  | { action: "foreign"; why: string };

/** How `live` is related to the DSO with `dsoUid`. */
function ownership(live: LiveScaledObject, dsoUid: string): "ours" | "orphan" | "foreign" {
  const controller = live.metadata?.ownerReferences?.find((ref) => ref.controller === true);
  if (controller) return controller.uid === dsoUid ? "ours" : "foreign";
  // Ours once (the DSO was deleted with orphaning, say) and controlled by nobody: adopt it.
  return live.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY ? "orphan" : "foreign";
}

/**
 * What to do so the hub's ScaledObject matches `desired` (undefined: there should be none).
 * A ScaledObject of that name controlled by something else is never touched: it may be a
 * user's own, or one left by a deleted DSO of the same name that the garbage collector
 * has not removed yet.
 */
export function planScaledObject(desired: ScaledObjectManifest | undefined, live: LiveScaledObject | undefined, dsoUid: string): ScaledObjectPlan {
  const name = desired ? `${desired.metadata.namespace}/${desired.metadata.name}` : "the ScaledObject";
  if (live === undefined) return desired ? { action: "create", object: desired } : { action: "keep", why: "no triggers and no ScaledObject" };
  const owner = ownership(live, dsoUid);
  if (owner === "foreign") {
    return { action: "foreign", why: `ScaledObject ${name} exists and is not controlled by this DistributedScaledObject; leaving it alone` };
  }
  if (!desired) return { action: "delete", uid: live.metadata?.uid, why: "the DistributedScaledObject has no triggers" };

  const metadata = live.metadata ?? {};
  const why =
    owner === "orphan"
      ? "adopting an orphaned ScaledObject"
      : metadata.annotations?.[SPEC_HASH_ANNOTATION] !== desired.metadata.annotations[SPEC_HASH_ANNOTATION]
        ? "scaledObjectSpec changed"
        : !contains(live.spec, desired.spec)
          ? "ScaledObject spec was edited in the hub"
          : !contains(metadata.labels, desired.metadata.labels)
            ? "labels missing"
            : undefined;
  if (why === undefined) return { action: "keep", why: "up to date" };

  const otherOwners = (metadata.ownerReferences ?? []).filter((ref) => ref.uid !== dsoUid && ref.controller !== true);
  const { status: _status, ...rest } = live;
  return {
    action: "update",
    why,
    object: {
      ...rest,
      apiVersion: desired.apiVersion,
      kind: desired.kind,
      metadata: {
        ...metadata,
        labels: { ...metadata.labels, ...desired.metadata.labels },
        annotations: { ...metadata.annotations, ...desired.metadata.annotations },
        ownerReferences: [...desired.metadata.ownerReferences, ...otherOwners],
      },
      spec: desired.spec,
    },
  };
}

export interface HubCallOptions {
  timeoutMs?: number;
}

/**
 * Whether the hub can take ScaledObjects: the CRD exists, serves v1alpha1 and is
 * established. Needs `get` on customresourcedefinitions (cluster scope) in the hub.
 */
export async function kedaInstalled(hub: HubConnection, options: HubCallOptions = {}): Promise<boolean> {
  const lib = clientNode();
  const api = hubKubeConfig(hub).makeApiClient(lib.ApiextensionsV1Api);
  let crd: k8s.V1CustomResourceDefinition;
  try {
    crd = await api.readCustomResourceDefinition({ name: SCALED_OBJECT_CRD }, timeoutOptions(options.timeoutMs ?? HUB_TIMEOUT_MS));
  } catch (error) {
    if (httpStatusOf(error) === 404) return false;
    throw error;
  }
  const served = crd.spec.versions.some((v) => v.name === KEDA_VERSION && v.served);
  const established = (crd.status?.conditions ?? []).some((c) => c.type === "Established" && c.status === "True");
  return served && established;
}

export interface EnsureScaledObjectResult {
  action: "created" | "updated" | "deleted" | "unchanged" | "foreign";
  namespace: string;
  name: string;
  /** Why, in words: for logs and the DSO's conditions. */
  message: string;
}

/** Optimistic concurrency: a write that lost a race is planned again from a fresh read. */
const MAX_ATTEMPTS = 3;

/**
 * Makes the hub's ScaledObject for `dso` match its scaledObjectSpec: creates it, updates
 * it on drift, deletes it when the DSO has no triggers. Call only when kedaInstalled()
 * says so. `dso` must carry its live metadata.uid.
 */
export async function ensureScaledObject(hub: HubConnection, dso: DsoForScaledObject, options: HubCallOptions = {}): Promise<EnsureScaledObjectResult> {
  const lib = clientNode();
  const api = hubKubeConfig(hub).makeApiClient(lib.CustomObjectsApi);
  const request = timeoutOptions(options.timeoutMs ?? HUB_TIMEOUT_MS);
  const namespace = dso.metadata.namespace ?? "default";
  const name = dso.metadata.name;
  const dsoUid = typeof dso.metadata.uid === "string" ? dso.metadata.uid : "";
  const at = { group: KEDA_GROUP, version: KEDA_VERSION, namespace, plural: SCALED_OBJECT_PLURAL, name };
  const desired = scaledObjectFor(dso);
  const result = (action: EnsureScaledObjectResult["action"], message: string) => ({ action, namespace, name, message });

  for (let attempt = 1; ; attempt++) {
    let live: LiveScaledObject | undefined;
    try {
      live = (await api.getNamespacedCustomObject(at, request)) as LiveScaledObject;
    } catch (error) {
      if (httpStatusOf(error) !== 404) throw error;
    }
    const plan = planScaledObject(desired, live, dsoUid);
    try {
      switch (plan.action) {
        case "create":
          await api.createNamespacedCustomObject({ ...at, body: plan.object, fieldManager: MANAGED_BY }, request);
          return result("created", `created ScaledObject ${namespace}/${name} targeting the DistributedScaledObject`);
        case "update":
          await api.replaceNamespacedCustomObject({ ...at, body: plan.object, fieldManager: MANAGED_BY }, request);
          return result("updated", `updated ScaledObject ${namespace}/${name}: ${plan.why}`);
        case "delete":
          await api.deleteNamespacedCustomObject({ ...at, body: plan.uid ? { preconditions: { uid: plan.uid } } : {} }, request);
          return result("deleted", `deleted ScaledObject ${namespace}/${name}: ${plan.why}`);
        case "keep":
          return result("unchanged", plan.why);
        case "foreign":
          return result("foreign", plan.why);
      }
    } catch (error) {
      const status = httpStatusOf(error);
      // 409: created or changed by someone else since we read it; 404 on delete: already gone.
      if (plan.action === "delete" && status === 404) return result("deleted", `ScaledObject ${namespace}/${name} was already gone`);
      if (status === 409 && attempt < MAX_ATTEMPTS) continue;
      throw error;
    }
  }
}
