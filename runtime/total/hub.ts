/**
 * How the total-replica sources reach the hub: from a kubeconfig's text or an already
 * loaded KubeConfig, with a timeout on every request so a slow hub cannot stall a
 * reconcile loop.
 */
import type * as k8s from "@kubernetes/client-node";

/** client-node is ESM-only and heavy; loaded on first use (see members/client.ts). */
export function clientNode(): typeof k8s {
  return require("@kubernetes/client-node") as typeof k8s;
}

/** The hub as callers have it: a kubeconfig's content, or a KubeConfig they loaded themselves. */
export type HubConnection = string | k8s.KubeConfig;

export function hubKubeConfig(hub: HubConnection): k8s.KubeConfig {
  if (typeof hub !== "string") return hub;
  const config = new (clientNode().KubeConfig)();
  config.loadFromString(hub);
  return config;
}

export const DEFAULT_HUB_TIMEOUT_MS = 10_000;

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

/** The HTTP status of a failed client-node call, when it got that far. */
export function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}
