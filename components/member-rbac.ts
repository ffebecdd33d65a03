/**
 * What the scaler may do in a member cluster: read Deployments and StatefulSets and set
 * their replica counts through /scale. Nothing on Secrets and nothing that creates Pods,
 * so a leaked member credential can resize workloads but not read data or run code.
 */
import type * as k8s from "@pulumi/kubernetes";

type PolicyRule = k8s.types.input.rbac.v1.PolicyRule;

const SCALABLE = ["deployments", "statefulsets"];

export function memberScalerRules(): PolicyRule[] {
  return [
    { apiGroups: ["apps"], resources: SCALABLE, verbs: ["get", "list", "watch"] },
    { apiGroups: ["apps"], resources: SCALABLE.map((kind) => `${kind}/scale`), verbs: ["get", "update", "patch"] },
  ];
}
