/** The hub's KubeConfig, wherever the runtime runs. */
import type * as k8s from "@kubernetes/client-node";
import { type RequestGate, clientNode, reuseConnections } from "../members/client-node";

/**
 * An explicit kubeconfig file, else in-cluster when running in a pod, else KUBECONFIG /
 * ~/.kube/config. Each call gives a KubeConfig with its own connections: the runtime loads
 * one for its work (rate-limited by `gate`) and one for its lease, so renewing the lease
 * never waits behind a burst of status writes.
 */
export function loadHubConfig(path: string | undefined, gate?: RequestGate): k8s.KubeConfig {
  const config = new (clientNode().KubeConfig)();
  if (path !== undefined) config.loadFromFile(path);
  else if (process.env.KUBERNETES_SERVICE_HOST) config.loadFromCluster();
  else config.loadFromDefault();
  return reuseConnections(config, gate);
}
