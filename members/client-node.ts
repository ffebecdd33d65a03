/**
 * client-node, shared by everything that calls a Kubernetes API: loaded lazily (it is
 * ESM-only and heavy, and dynamic providers are serialized as code), with a timeout on
 * every request so no call can stall a loop.
 */
import type * as k8s from "@kubernetes/client-node";

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

/**
 * client-node 2.x builds a new undici Agent for every request, so every call pays a TCP
 * connect and a TLS handshake (the scale benchmark counted 8,862 connections for 8,862
 * requests, and TLS setup was a large part of the runtime's CPU in a mass failover).
 * Requests made through `config` share its first Agent instead: the Agent's options
 * (server, CA, client certificate) come from this same kubeconfig every time, and
 * bearer tokens travel in a header set per request, not in the Agent. undici opens
 * connections on demand and keeps idle ones a few seconds, so the pool grows to the
 * requests really in flight, which the runtime bounds (workers, rate limits), and no
 * further: requests never queue behind a fixed number of connections.
 */
export function reuseConnections(config: k8s.KubeConfig, gate?: RequestGate): k8s.KubeConfig {
  const apply = config.applySecurityAuthentication.bind(config);
  let shared: ReturnType<RequestContext["getDispatcher"]>;
  // Every request and watch passes here before it is sent: the one place to hold it back.
  config.applySecurityAuthentication = async (context: RequestContext) => {
    await gate?.take();
    await apply(context);
    const fresh = context.getDispatcher();
    if (fresh === undefined) return;
    shared ??= fresh;
    context.setDispatcher(shared);
  };
  return config;
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
  const e = error as { code?: unknown; statusCode?: unknown } | null;
  if (typeof e?.code === "number") return e.code;
  return typeof e?.statusCode === "number" ? e.statusCode : undefined;
}
