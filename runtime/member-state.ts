/**
 * What the runtime knows about a member, computed from its probe and its watch caches:
 * its health, and per workload the replicas the engine reads. Pure, so the rules (which
 * failure wins, when a short workload counts as NotReady) are tested without a cluster.
 */
import { MemberError, type WorkloadRef, type WorkloadReplicas, classify } from "../members/client";
import { httpStatusOf } from "../members/client-node";

export type MemberHealth =
  /** Not yet probed, or a cache is (re)listing: too early to say anything about it. */
  | { kind: "pending" }
  | { kind: "healthy" }
  | { kind: "failed"; error: MemberError };

export interface CacheState {
  what: string;
  synced: boolean;
  failure: unknown;
}

/**
 * A failed probe says the most (unreachable, credentials rejected); then a failed watch
 * (e.g. the role lacks list/watch); a member is healthy only once its caches are current,
 * so replicas are never planned from what a member looked like before an outage.
 */
export function healthOf(member: string, probe: "ok" | MemberError | undefined, caches: readonly CacheState[], timeoutMs: number): MemberHealth {
  if (probe instanceof MemberError) return { kind: "failed", error: probe };
  const failed = caches.find((c) => !c.synced && c.failure !== undefined);
  if (failed) return { kind: "failed", error: classifyWatchFailure(member, failed.what, failed.failure, timeoutMs) };
  if (probe === undefined || caches.some((c) => !c.synced)) return { kind: "pending" };
  return { kind: "healthy" };
}

/** The watch reports HTTP errors as statusCode, list calls as code: classify either. */
export function classifyWatchFailure(member: string, what: string, failure: unknown, timeoutMs: number): MemberError {
  const status = httpStatusOf(failure);
  const error = status === undefined ? failure : { code: status, body: (failure as { body?: unknown }).body };
  return classify(member, what, error, timeoutMs);
}

/** Whether two health values would be observed alike (messages may vary between attempts). */
export function sameHealth(a: MemberHealth, b: MemberHealth): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind !== "failed" || a.error.failure === (b as { error: MemberError }).error.failure;
}

export interface WorkloadSnapshot extends WorkloadReplicas {
  generation: number;
  /** Epoch ms since when ready replicas have been short of spec.replicas; absent when they are not. */
  shortSince?: number;
}

export interface ScalableObject {
  metadata?: { generation?: number };
  spec?: { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
  status?: { readyReplicas?: number; replicas?: number };
}

export function snapshotOf(object: ScalableObject, previous: WorkloadSnapshot | undefined, now: number): WorkloadSnapshot {
  const desired = object.spec?.replicas ?? 0;
  const readyReplicas = object.status?.readyReplicas ?? 0;
  const snapshot: WorkloadSnapshot = {
    desired,
    readyReplicas,
    currentReplicas: object.status?.replicas ?? 0,
    generation: object.metadata?.generation ?? 0,
  };
  const selector = selectorOf(object.spec?.selector?.matchLabels);
  if (selector !== undefined) snapshot.selector = selector;
  if (readyReplicas < desired) snapshot.shortSince = previous?.shortSince ?? now;
  return snapshot;
}

/** Whether a change of the object matters to planning (status churn such as conditions does not). */
export function sameReplicas(a: WorkloadSnapshot | undefined, b: WorkloadSnapshot | undefined): boolean {
  return a?.desired === b?.desired && a?.readyReplicas === b?.readyReplicas && a?.currentReplicas === b?.currentReplicas && a?.selector === b?.selector;
}

/** When a short workload will count as NotReady; undefined when it has enough ready replicas. */
export function notReadyAt(snapshot: WorkloadSnapshot, deadlineMs: number): number | undefined {
  return snapshot.shortSince === undefined ? undefined : snapshot.shortSince + deadlineMs;
}

/**
 * The replicas a step reads. spec.replicas is taken from our own last write until the
 * watch shows an object generation newer than the one we wrote over: the watch lags the
 * write, and answering from the stale spec would make the next step write again.
 */
export function observedReplicas(
  member: string,
  ref: WorkloadRef,
  snapshot: WorkloadSnapshot | undefined,
  written: Written | undefined,
  now: number,
  notReadyDeadlineMs: number,
): WorkloadReplicas {
  const what = `${ref.kind.toLowerCase()} ${ref.namespace}/${ref.name}`;
  if (snapshot === undefined) throw new MemberError(member, "WorkloadMissing", `${what}: not found`);
  const deadline = notReadyAt(snapshot, notReadyDeadlineMs);
  if (deadline !== undefined && now >= deadline) {
    throw new MemberError(member, "NotReady", `${what}: ${snapshot.readyReplicas} of ${snapshot.desired} replicas ready for longer than ${Math.round(notReadyDeadlineMs / 1000)}s`, snapshot.readyReplicas);
  }
  const ours = written !== undefined && snapshot.generation <= written.overGeneration;
  const replicas: WorkloadReplicas = {
    desired: ours ? written.replicas : snapshot.desired,
    readyReplicas: snapshot.readyReplicas,
    currentReplicas: snapshot.currentReplicas,
  };
  if (snapshot.selector !== undefined) replicas.selector = snapshot.selector;
  return replicas;
}

/** Our last write to a workload, answered for spec.replicas until the watch shows it. */
export interface Written {
  replicas: number;
  /** The answer holds while the cached generation is at most this. */
  overGeneration: number;
}

/**
 * The write to remember after scaling to `replicas`. Each write that changes spec.replicas bumps
 * the generation by one. A write made while the watch has not shown the previous one yet lands a
 * generation after it: remembering only the cached generation would let the previous write's
 * event end the answer, the step would read that older value and write this one again.
 */
export function writtenAfter(replicas: number, cachedGeneration: number, previous: Written | undefined): Written {
  const pending = previous !== undefined && cachedGeneration <= previous.overGeneration;
  return { replicas, overGeneration: pending ? previous.overGeneration + 1 : cachedGeneration };
}

export function refKey(ref: WorkloadRef): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

function selectorOf(labels: Record<string, string> | undefined): string | undefined {
  if (!labels) return undefined;
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
}
