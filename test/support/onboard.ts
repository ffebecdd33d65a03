/**
 * Onboards a member by hand, the way MemberCluster does it with Pulumi: the member
 * role from components/member-rbac.ts, a ServiceAccount token, and a kubeconfig for it
 * stored in the hub. Lets provider and runtime tests run without the Pulumi engine.
 */
import { MEMBER_LABEL } from "../../components/labels";
import { memberScalerRules } from "../../components/member-rbac";
import type { LocalFleet } from "./fleet";

export const MEMBER_NAMESPACE = "fleetscale";
const SERVICE_ACCOUNT = "fleetscale-scaler";

/** `through` rewrites the kubeconfig stored in the hub, e.g. to reach the member through a fault-injection proxy. */
export function onboardMember(fleet: LocalFleet, options: { hub: string; member: string; hubNamespace: string; through?: (kubeconfig: string) => string }): string {
  const { hub, member, hubNamespace } = options;
  fleet.apply(
    member,
    { apiVersion: "v1", kind: "Namespace", metadata: { name: MEMBER_NAMESPACE } },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: SERVICE_ACCOUNT, namespace: MEMBER_NAMESPACE } },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: SERVICE_ACCOUNT }, rules: memberScalerRules() },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: SERVICE_ACCOUNT },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: SERVICE_ACCOUNT },
      subjects: [{ kind: "ServiceAccount", name: SERVICE_ACCOUNT, namespace: MEMBER_NAMESPACE }],
    },
  );
  const token = fleet.kubectl(member, "create", "token", SERVICE_ACCOUNT, "-n", MEMBER_NAMESPACE, "--duration", "6h").trim();
  const kubeconfig = (options.through ?? ((k: string) => k))(fleet.tokenKubeconfig(member, token, MEMBER_NAMESPACE));
  fleet.apply(
    hub,
    { apiVersion: "v1", kind: "Namespace", metadata: { name: hubNamespace } },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: `fleetscale-member-${member}`, namespace: hubNamespace, labels: { [MEMBER_LABEL]: member } },
      data: { kubeconfig: Buffer.from(kubeconfig).toString("base64") },
    },
  );
  return kubeconfig;
}
