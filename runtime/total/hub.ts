/**
 * How the total-replica sources reach the hub: from a kubeconfig's text or an already
 * loaded KubeConfig, with a timeout on every request so a slow hub cannot stall a
 * reconcile loop.
 */
import type * as k8s from "@kubernetes/client-node";
import { kubeConfigFromString } from "../../members/client-node";

/** The hub as callers have it: a kubeconfig's content, or a KubeConfig they loaded themselves. */
export type HubConnection = string | k8s.KubeConfig;

export function hubKubeConfig(hub: HubConnection): k8s.KubeConfig {
  return typeof hub === "string" ? kubeConfigFromString(hub) : hub;
}

export const DEFAULT_HUB_TIMEOUT_MS = 10_000;
