/** The scaler runtime as the fleet tests run it: in this process, against a real hub, fast probes, logs to the test. */
import { runtimeClusterRules, runtimeNamespacedRules } from "../../components/hub-rbac";
import { DEFAULT_OPTIONS } from "../../runtime/options";
import { type RuntimeHandle, type StartOptions, startRuntime } from "../../runtime/runtime";

export function startTestRuntime(
  hubKubeconfig: string,
  namespace: string,
  identity: string,
  onLogLine: (line: string) => void,
  overrides: Partial<StartOptions> = {},
): Promise<RuntimeHandle> {
  return startRuntime({
    ...DEFAULT_OPTIONS,
    kubeconfig: hubKubeconfig,
    namespace,
    probeIntervalMs: 1_000,
    memberTimeoutMs: 2_000,
    healthPort: 0,
    metricsPort: 0,
    identity,
    logLevel: "info",
    logDestination: { write: onLogLine },
    ...overrides,
  });
}

/** The hub objects ScalerHub makes for the runtime's identity: its namespace, ServiceAccount and both roles, bound. */
export function runtimeIdentity(namespace: string, serviceAccount: string): Record<string, unknown>[] {
  const subjects = [{ kind: "ServiceAccount", name: serviceAccount, namespace }];
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: serviceAccount, namespace } },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: serviceAccount, namespace }, rules: runtimeNamespacedRules() },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: serviceAccount }, rules: runtimeClusterRules() },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: serviceAccount, namespace }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: serviceAccount }, subjects },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: serviceAccount }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: serviceAccount }, subjects },
  ];
}
