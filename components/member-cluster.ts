/**
 * Onboards one member cluster: a least-privilege scaler identity in the member, and in
 * the hub a Secret holding a kubeconfig that authenticates as that identity only. The
 * member's admin kubeconfig is used by Pulumi to create these and never reaches the hub.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { kubeconfigServer, tokenKubeconfig } from "./kubeconfig";
import { CREDENTIAL_GENERATION_ANNOTATION, MANAGED_BY, MEMBER_LABEL } from "./labels";
import { memberScalerRules } from "./member-rbac";

export const SCALER_SERVICE_ACCOUNT = "fleetscale-scaler";

/** The hub Secret holding a member's kubeconfig. */
export const memberSecretName = (member: string) => `fleetscale-member-${member}`;

export interface MemberClusterArgs {
  /** The member's name in the fleet, as DSOs' memberClusters refer to it. */
  member: string;
  /** Admin credentials for the member, used only by Pulumi to create the scaler identity; always kept secret. */
  adminKubeconfig: pulumi.Input<string>;
  /** How the hub runtime reaches the member's API server; defaults to the admin kubeconfig's server. */
  apiUrl?: pulumi.Input<string>;
  /** Namespace in the member for the scaler's ServiceAccount and token. */
  namespace: string;
  hubProvider: k8s.Provider;
  hubNamespace: pulumi.Input<string>;
  /**
   * Rotates the member credential: any change replaces the token Secret, so the next
   * `pulumi up` mints a new token, rewrites the hub Secret and then deletes the old token
   * (the token Secret is auto-named, so the new one is created before the old one goes).
   */
  credentialGeneration?: string;
}

export class MemberCluster extends pulumi.ComponentResource {
  /** Name of the hub Secret holding the member's kubeconfig. */
  readonly hubSecretName: pulumi.Output<string>;
  /** The member API server URL written into that kubeconfig. */
  readonly apiUrl: pulumi.Output<string>;
  readonly serviceAccountName: pulumi.Output<string>;

  constructor(name: string, args: MemberClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fleetscale:index:MemberCluster", name, {}, opts);
    const adminKubeconfig = pulumi.secret(args.adminKubeconfig);
    const provider = new k8s.Provider(`${name}-admin`, { kubeconfig: adminKubeconfig }, { parent: this });
    const inMember = { parent: this, provider };
    const labels = { ...MANAGED_BY };

    const namespace = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: args.namespace, labels } }, inMember);
    const serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-scaler`,
      { metadata: { name: SCALER_SERVICE_ACCOUNT, namespace: namespace.metadata.name, labels } },
      inMember,
    );
    // Cluster-scoped names carry the namespace so two fleets can onboard the same cluster.
    const scalerRoleName = `${SCALER_SERVICE_ACCOUNT}-${args.namespace}`;
    const role = new k8s.rbac.v1.ClusterRole(`${name}-scaler`, { metadata: { name: scalerRoleName, labels }, rules: memberScalerRules() }, inMember);
    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-scaler`,
      {
        metadata: { name: scalerRoleName, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace: serviceAccount.metadata.namespace }],
      },
      inMember,
    );

    // A long-lived ServiceAccount token, filled in by the member's token controller; the
    // Kubernetes provider waits until data.token is set. Short-lived TokenRequest tokens
    // would need the runtime to renew them while it runs, so they belong to the runtime's
    // issue; until then credentials rotate through `credentialGeneration`.
    const credential = new k8s.core.v1.Secret(
      `${name}-token`,
      {
        metadata: {
          namespace: serviceAccount.metadata.namespace,
          labels,
          annotations: {
            "kubernetes.io/service-account.name": serviceAccount.metadata.name,
            ...(args.credentialGeneration === undefined ? {} : { [CREDENTIAL_GENERATION_ANNOTATION]: args.credentialGeneration }),
          },
        },
        type: "kubernetes.io/service-account-token",
      },
      { ...inMember, replacementTrigger: args.credentialGeneration, additionalSecretOutputs: ["data"] },
    );

    this.apiUrl = args.apiUrl !== undefined
      ? pulumi.output(args.apiUrl)
      // The URL is read from a secret but is not itself sensitive: it is an output operators need to see.
      : pulumi.unsecret(adminKubeconfig.apply((text) => kubeconfigServer(text, `admin kubeconfig of member ${args.member}`)));

    const kubeconfig = pulumi.secret(
      pulumi.all([credential.data, this.apiUrl, serviceAccount.metadata.namespace]).apply(([data, server, memberNamespace]) => {
        const token = data["token"];
        const caData = data["ca.crt"];
        if (!token || !caData) throw new Error(`member ${args.member}: the token Secret has no token or ca.crt yet`);
        return tokenKubeconfig({ clusterName: args.member, server, caData, token: Buffer.from(token, "base64").toString("utf8"), namespace: memberNamespace });
      }),
    );

    const hubSecret = new k8s.core.v1.Secret(
      `${name}-credential`,
      {
        metadata: { name: memberSecretName(args.member), namespace: args.hubNamespace, labels: { ...MANAGED_BY, [MEMBER_LABEL]: args.member } },
        type: "Opaque",
        // `data`, not `stringData`: stringData does not round-trip under server-side apply.
        data: { kubeconfig: kubeconfig.apply((text) => Buffer.from(text, "utf8").toString("base64")) },
      },
      { parent: this, provider: args.hubProvider, additionalSecretOutputs: ["data"] },
    );

    this.hubSecretName = hubSecret.metadata.name;
    this.serviceAccountName = serviceAccount.metadata.name;
    this.registerOutputs({ hubSecretName: this.hubSecretName, apiUrl: this.apiUrl, serviceAccountName: this.serviceAccountName });
  }
}
