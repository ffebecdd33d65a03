/** Loading client-node and the hub's KubeConfig, and bounding each hub request in time. */
import type * as k8s from "@kubernetes/client-node";

/** client-node is ESM-only and heavy; loaded on first use (see members/client.ts). */
export function clientNode(): typeof k8s {
  return require("@kubernetes/client-node") as typeof k8s;
}

/** An explicit kubeconfig file, else in-cluster when running in a pod, else KUBECONFIG / ~/.kube/config. */
export function loadHubConfig(path: string | undefined): k8s.KubeConfig {
  const config = new (clientNode().KubeConfig)();
  if (path !== undefined) config.loadFromFile(path);
  else if (process.env.KUBERNETES_SERVICE_HOST) config.loadFromCluster();
  else config.loadFromDefault();
  return config;
}

/** Request options that abort a call after `timeoutMs`, so no request can stall a loop. */
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
