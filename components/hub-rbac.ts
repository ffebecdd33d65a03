/**
 * What the scaler runtime may do in the hub. Secrets (the member kubeconfigs) and leader
 * election leases are granted only in the runtime's own namespace; the cluster-wide rules
 * cover the DistributedScaledObjects it reconciles and the KEDA objects it drives.
 */
import { API_GROUP, PLURAL } from "../schema/dso-names";
import type * as k8s from "@pulumi/kubernetes";

type PolicyRule = k8s.types.input.rbac.v1.PolicyRule;

/** Rules for a Role in the runtime's namespace. */
export function runtimeNamespacedRules(): PolicyRule[] {
  return [
    { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
  ];
}

/** Rules for the runtime's ClusterRole: DSOs may live in any namespace. */
export function runtimeClusterRules(): PolicyRule[] {
  return [
    { apiGroups: [API_GROUP], resources: [PLURAL], verbs: ["get", "list", "watch", "update", "patch"] },
    { apiGroups: [API_GROUP], resources: [`${PLURAL}/status`, `${PLURAL}/scale`], verbs: ["get", "update", "patch"] },
    { apiGroups: ["keda.sh"], resources: ["scaledobjects"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
    { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
    // The kubernetes-resource trigger watches the ConfigMap it reads its metric from (a list
    // and a watch selecting the one name; never a get). Secrets it may read only where
    // granted: here, none beyond the runtime's namespace.
    { apiGroups: [""], resources: ["configmaps"], verbs: ["list", "watch"] },
    // Whether KEDA is installed: one CRD, by name.
    { apiGroups: ["apiextensions.k8s.io"], resources: ["customresourcedefinitions"], resourceNames: ["scaledobjects.keda.sh"], verbs: ["get"] },
  ];
}
