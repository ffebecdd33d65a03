/**
 * client-node, shared by everything that calls a Kubernetes API: loaded lazily (it is
 * ESM-only and heavy, and dynamic providers are serialized as code), with a timeout on
 * every request so no call can stall a loop.
 */
import type * as k8s from "@kubernetes/client-node";
import type { Dispatcher } from "undici";

export function clientNode(): typeof k8s {
  return require("@kubernetes/client-node") as typeof k8s;
}

type RequestContext = Parameters<k8s.KubeConfig["applySecurityAuthentication"]>[0];

/** What every request through a KubeConfig waits for first: a rate limit's token (token-bucket.ts). */
export interface RequestGate {
  take(): Promise<void>;
}

/** A KubeConfig loaded from a kubeconfig's content, its requests sharing connections (and a rate limit, if given). */
export function kubeConfigFromString(kubeconfig: string, gate?: RequestGate): k8s.KubeConfig {
  const config = new (clientNode().KubeConfig)();
  config.loadFromString(kubeconfig);
  return reuseConnections(config, gate);
}

type AgentOptions = Parameters<k8s.KubeConfig["createDispatcherOptions"]>[1];
type Cluster = Parameters<k8s.KubeConfig["createDispatcherOptions"]>[0];
/** The seam client-node calls per request for its connection pool (a private method, so typed here). */
interface DispatcherFactory {
  createDispatcher(cluster: Cluster, agentOptions: AgentOptions): Dispatcher | undefined;
}

/**
 * How requests through `config` reach the API server:
 * - One connection pool per KubeConfig. client-node 2.x builds a new undici Agent for every
 *   request, so every call paid a TCP connect and a TLS handshake (the scale benchmark
 *   counted 8,862 connections for 8,862 requests). The Agent's options (server, CA, client
 *   certificate) come from this same kubeconfig every time, and bearer tokens travel in a
 *   header per request, so one Agent serves them all.
 * - HTTP/1.1, not HTTP/2. undici offers HTTP/2 and kube-apiserver takes it, so all requests
 *   of a client then share one TCP connection, and a request that times out leaves that
 *   connection in place: when it has gone silent (a stale NAT or load-balancer entry, a
 *   partition that healed while TCP backs off), every later request fails on it too, for
 *   minutes, while a new connection would answer at once (test/toxiproxy.cluster-test.ts). Over
 *   HTTP/1.1 an aborted request takes its connection with it, and the next one opens a new.
 *   undici opens connections on demand and keeps idle ones a few seconds, so the pool grows
 *   to the requests really in flight, which the runtime bounds (workers, rate limits).
 * - `gate`: every request and watch waits for it before it is sent (a rate limit).
 */
export function reuseConnections(config: k8s.KubeConfig, gate?: RequestGate): k8s.KubeConfig {
  const factory = config as unknown as DispatcherFactory;
  const clientNodeDispatcher = factory.createDispatcher.bind(config);
  let shared: Dispatcher | undefined;
  factory.createDispatcher = (cluster, agentOptions) => {
    if (shared !== undefined) return shared;
    const options = config.createDispatcherOptions(cluster, agentOptions);
    // Proxies and plain HTTP keep client-node's own choice.
    shared = options.type === "agent" ? new (undici().Agent)({ connect: options.connect, allowH2: false }) : clientNodeDispatcher(cluster, agentOptions);
    return shared;
  };
  if (gate !== undefined) {
    const apply = config.applySecurityAuthentication.bind(config);
    config.applySecurityAuthentication = async (context: RequestContext) => {
      await gate.take();
      await apply(context);
    };
  }
  return config;
}

function undici(): typeof import("undici") {
  return require("undici") as typeof import("undici");
}

/** Request options that abort a call after `timeoutMs`. */
export function timeoutOptions(timeoutMs: number): k8s.ConfigurationOptions {
  const lib = clientNode();
  return {
    middleware: [
      {
        pre: (context) => {
          context.setSignal(AbortSignal.timeout(timeoutMs));
          return new lib.Observable(Promise.resolve(context));
        },
        post: (response) => new lib.Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: "append",
  };
}

/** The HTTP status of a failed client-node call or watch, when it got that far. */
export function httpStatusOf(error: unknown): number | undefined {
  const e = error as { code?: unknown; statusCode?: unknown; name?: unknown } | null;
  // An aborted request (our timeouts) is a DOMException whose numeric code (23) is no HTTP status.
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return undefined;
  if (typeof e?.code === "number") return e.code;
  return typeof e?.statusCode === "number" ? e.statusCode : undefined;
}
