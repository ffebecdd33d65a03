/** The hub's KubeConfig, wherever the runtime runs. */
import type * as k8s from "@kubernetes/client-node";
import { clientNode, reuseConnections } from "../members/client-node";

/** An explicit kubeconfig file, else in-cluster when running in a pod, else KUBECONFIG / ~/.kube/config. */
export function loadHubConfig(path: string | undefined): k8s.KubeConfig {
  const config = new (clientNode().KubeConfig)();
  if (path !== undefined) config.loadFromFile(path);
  else if (process.env.KUBERNETES_SERVICE_HOST) config.loadFromCluster();
  else config.loadFromDefault();
  return reuseConnections(config);
}
