/**
 * The member-cluster client: the only code that talks to member API servers. The
 * provider and the runtime both use it, so a member looks the same to both.
 *
 * One KubeConfig per member (client-node 2.x keys its connection agents per KubeConfig,
 * so credentials never leak between members); every request carries a timeout; every
 * failure is classified into the engine's failure states.
 */
import type * as k8s from "@kubernetes/client-node";
import type { Observation } from "../engine/health";
import type { FailureState } from "../engine/states";
import { type RequestGate, clientNode, kubeConfigFromString, timeoutOptions } from "./client-node";

export interface WorkloadRef {
  kind: "Deployment" | "StatefulSet";
  namespace: string;
  name: string;
}

export interface WorkloadReplicas {
  /** spec.replicas as the member has it now. */
  desired: number;
  readyReplicas: number;
  /** status.replicas: pods that exist, ready or not. */
  currentReplicas: number;
  /** The workload's label selector, as the scale subresource reports it. */
  selector?: string;
}

/** A failed member call, classified the way the engine needs it. */
export class MemberError extends Error {
  constructor(
    readonly member: string,
    readonly failure: FailureState,
    /** What happened, without the member's name. */
    readonly detail: string,
    /** Ready replicas, when the member answered but failed (NotReady): they still serve. */
    readonly readyReplicas?: number,
  ) {
    super(`${member}: ${detail}`);
    // Pulumi serializes the provider's classes with `super(...)` turned into
    // `Error.call(this, ...)`, which leaves `this.message` empty: set it ourselves.
    this.message = `${member}: ${detail}`;
    this.name = "MemberError";
  }

  toObservation(): Observation {
    const observation: Observation = { healthy: false, failure: this.failure, message: this.detail };
    if (this.readyReplicas !== undefined) observation.readyReplicas = this.readyReplicas;
    return observation;
  }
}

export interface MemberClientOptions {
  /** Per-request timeout; a member slower than this counts as unreachable. */
  timeoutMs?: number;
  /** A rate limit every request waits for (the runtime's per-member QPS and burst); the timeout starts after it. */
  gate?: RequestGate;
}

export class MemberClient {
  private readonly apps: k8s.AppsV1Api;
  private readonly auth: k8s.AuthenticationV1Api;
  private readonly timeoutMs: number;
  readonly server: string;
  /** The member's KubeConfig: its connections and rate limit, for watches that should share them. */
  readonly config: k8s.KubeConfig;

  constructor(
    readonly name: string,
    kubeconfig: string,
    options: MemberClientOptions = {},
  ) {
    const lib = clientNode();
    let config: k8s.KubeConfig;
    try {
      config = kubeConfigFromString(kubeconfig, options.gate);
    } catch (error) {
      throw new MemberError(name, "Unauthorized", `kubeconfig cannot be read: ${(error as Error).message}`);
    }
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new MemberError(name, "Unauthorized", "kubeconfig has no current cluster");
    this.server = cluster.server;
    this.config = config;
    this.apps = config.makeApiClient(lib.AppsV1Api);
    this.auth = config.makeApiClient(lib.AuthenticationV1Api);
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** One authenticated round trip: tells unreachable from rejected credentials. Returns who we are. */
  async probe(): Promise<string> {
    return this.call("probe", async (options) => {
      const review = await this.auth.createSelfSubjectReview({ body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" } }, options);
      return review.status?.userInfo?.username ?? "unknown";
    });
  }

  async readReplicas(ref: WorkloadRef): Promise<WorkloadReplicas> {
    return this.call(`get ${describe(ref)}`, async (options) => {
      const request = { name: ref.name, namespace: ref.namespace };
      const workload =
        ref.kind === "Deployment"
          ? await this.apps.readNamespacedDeployment(request, options)
          : await this.apps.readNamespacedStatefulSet(request, options);
      return {
        desired: workload.spec?.replicas ?? 0,
        readyReplicas: workload.status?.readyReplicas ?? 0,
        currentReplicas: workload.status?.replicas ?? 0,
        selector: selectorOf(workload.spec?.selector?.matchLabels),
      };
    });
  }

  /** Sets replicas through the scale subresource: the only write the member role allows. */
  async scale(ref: WorkloadRef, replicas: number): Promise<void> {
    await this.call(`scale ${describe(ref)} to ${replicas}`, async (options) => {
      const request = { name: ref.name, namespace: ref.namespace, body: { spec: { replicas } } };
      const patch = clientNode().setHeaderOptions("Content-Type", clientNode().PatchStrategy.MergePatch, options);
      if (ref.kind === "Deployment") await this.apps.patchNamespacedDeploymentScale(request, patch);
      else await this.apps.patchNamespacedStatefulSetScale(request, patch);
    });
  }

  /** What the engine sees of this member for one workload. */
  async observe(ref: WorkloadRef): Promise<Observation> {
    try {
      const replicas = await this.readReplicas(ref);
      return { healthy: true, readyReplicas: replicas.readyReplicas, currentReplicas: replicas.currentReplicas };
    } catch (error) {
      if (error instanceof MemberError) return error.toObservation();
      throw error;
    }
  }

  private async call<T>(what: string, run: (options: k8s.ConfigurationOptions) => Promise<T>): Promise<T> {
    try {
      return await run(timeoutOptions(this.timeoutMs));
    } catch (error) {
      throw classify(this.name, what, error, this.timeoutMs);
    }
  }

}

function describe(ref: WorkloadRef): string {
  return `${ref.kind.toLowerCase()} ${ref.namespace}/${ref.name}`;
}

function selectorOf(labels: Record<string, string> | undefined): string | undefined {
  if (!labels) return undefined;
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
}

/** undici's socket errors; system errors (ECONNREFUSED, ETIMEDOUT, ...) all start with "E". An
 * array, not a Set: Pulumi serializes the provider's module values, and a Set does not survive. */
const UNDICI_NETWORK_CODES = ["UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT"];

/** Maps an API or network error to the engine's failure states, with a message that says what happened. */
export function classify(member: string, what: string, error: unknown, timeoutMs: number): MemberError {
  // First: an aborted request is a DOMException whose numeric `code` (23) is no HTTP status.
  const name = (error as { name?: unknown }).name;
  if (name === "TimeoutError" || name === "AbortError") {
    return new MemberError(member, "Unreachable", `${what}: no answer within ${timeoutMs} ms`);
  }
  const status = (error as { code?: unknown }).code;
  if (typeof status === "number") {
    const reason = reasonOf((error as { body?: unknown }).body);
    if (status === 401) return new MemberError(member, "Unauthorized", `${what}: credentials rejected (401)${reason}`);
    if (status === 403) return new MemberError(member, "Unauthorized", `${what}: forbidden (403)${reason}`);
    if (status === 404) return new MemberError(member, "WorkloadMissing", `${what}: not found (404)${reason}`);
    return new MemberError(member, "Unreachable", `${what}: API server answered ${status}${reason}`);
  }
  const code = networkCode(error);
  if (code !== undefined) return new MemberError(member, "Unreachable", `${what}: ${code}`);
  return new MemberError(member, "Unreachable", `${what}: ${(error as Error).message ?? String(error)}`);
}

/** fetch wraps socket errors: the code sits on the error or one of its causes. */
function networkCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && (UNDICI_NETWORK_CODES.includes(code) || code.startsWith("E"))) {
      const address = (current as { address?: string; port?: number }).address;
      const port = (current as { port?: number }).port;
      return address ? `${code} ${address}${port ? `:${port}` : ""}` : code;
    }
  }
  return undefined;
}

function reasonOf(body: unknown): string {
  const text = typeof body === "string" ? body : "";
  try {
    const message = (JSON.parse(text) as { message?: string }).message;
    return message ? `: ${message}` : "";
  } catch {
    return "";
  }
}
