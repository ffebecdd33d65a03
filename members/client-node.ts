/**
 * client-node, shared by everything that calls a Kubernetes API: loaded lazily (it is
 * ESM-only and heavy, and dynamic providers are serialized as code), with a timeout on
 * every request so no call can stall a loop.
 */
import type * as k8s from "@kubernetes/client-node";

export function clientNode(): typeof k8s {
  return require("@kubernetes/client-node") as typeof k8s;
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
