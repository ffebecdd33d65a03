/**
 * The member side of onboarding: a least-privilege scaler identity in the member and the
 * kubeconfig that authenticates as it. MemberCluster does it together with the hub side; a
 * member stack does it alone (MemberOnboarding) and exports the kubeconfig for the hub stack,
 * which then never holds the member's admin credential.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_MEMBER_NAMESPACE } from "../schema/stack-config";
import { tokenKubeconfig } from "./kubeconfig";
import { CREDENTIAL_GENERATION_ANNOTATION, MANAGED_BY } from "./labels";
import { memberScalerRules } from "./member-rbac";

export const SCALER_SERVICE_ACCOUNT = "fleetscale-scaler";

export interface MemberOnboardingArgs {
  /** The member's name in the fleet, as DSOs' memberClusters refer to it. */
  member: string;
  /** How the hub runtime reaches the member's API server: the server written into the kubeconfig. */
  apiUrl: pulumi.Input<string>;
  /** Namespace in the member for the scaler's ServiceAccount and token (default "fleetscale"). */
  namespace?: string;
  /**
   * Rotates the member credential: any change replaces the token Secret, so the next
   * `pulumi up` mints a new token, rewrites the kubeconfig and then deletes the old token
   * (the token Secret is auto-named, so the new one is created before the old one goes).
   */
  credentialGeneration?: string;
}

export interface OnboardedMember {
  /** A kubeconfig for the scaler identity only; a Pulumi secret. */
  kubeconfig: pulumi.Output<string>;
  serviceAccountName: pulumi.Output<string>;
}

/** Creates the scaler identity in the member through `opts` (its parent and the member's provider). */
export function onboardMember(name: string, args: MemberOnboardingArgs, opts: pulumi.CustomResourceOptions): OnboardedMember {
  const labels = { ...MANAGED_BY };
  const memberNamespace = args.namespace ?? DEFAULT_MEMBER_NAMESPACE;
  const namespace = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: memberNamespace, labels } }, opts);
  const serviceAccount = new k8s.core.v1.ServiceAccount(
    `${name}-scaler`,
    { metadata: { name: SCALER_SERVICE_ACCOUNT, namespace: namespace.metadata.name, labels } },
    opts,
  );
  // Cluster-scoped names carry the namespace so two fleets can onboard the same cluster.
  const scalerRoleName = `${SCALER_SERVICE_ACCOUNT}-${memberNamespace}`;
  const role = new k8s.rbac.v1.ClusterRole(`${name}-scaler`, { metadata: { name: scalerRoleName, labels }, rules: memberScalerRules() }, opts);
  new k8s.rbac.v1.ClusterRoleBinding(
    `${name}-scaler`,
    {
      metadata: { name: scalerRoleName, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
      subjects: [{ kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace: serviceAccount.metadata.namespace }],
    },
    opts,
  );

  // A long-lived ServiceAccount token, filled in by the member's token controller; the
  // Kubernetes provider waits until data.token is set. Short-lived TokenRequest tokens would
  // need renewing while the runtime runs; credentials rotate through `credentialGeneration`.
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
    { ...opts, replacementTrigger: args.credentialGeneration, additionalSecretOutputs: ["data"] },
  );

  const kubeconfig = pulumi.secret(
    pulumi.all([credential.data, args.apiUrl, serviceAccount.metadata.namespace]).apply(([data, server, inNamespace]) => {
      const token = data["token"];
      const caData = data["ca.crt"];
      if (!token || !caData) throw new Error(`member ${args.member}: the token Secret has no token or ca.crt yet`);
      return tokenKubeconfig({ clusterName: args.member, server, caData, token: Buffer.from(token, "base64").toString("utf8"), namespace: inNamespace });
    }),
  );
  return { kubeconfig, serviceAccountName: serviceAccount.metadata.name };
}

/**
 * A member stack's half of onboarding. Its Kubernetes resources use the provider given in
 * `opts` (the member's admin credential); export `kubeconfig` (a secret) for the hub stack.
 */
export class MemberOnboarding extends pulumi.ComponentResource {
  /** The scaler identity's kubeconfig, a secret: the hub stack's `members.<name>.stack` reads it. */
  readonly kubeconfig: pulumi.Output<string>;
  readonly apiUrl: pulumi.Output<string>;
  readonly serviceAccountName: pulumi.Output<string>;

  constructor(name: string, args: MemberOnboardingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fleetscale:index:MemberOnboarding", name, {}, opts);
    const onboarded = onboardMember(name, args, { parent: this });
    this.kubeconfig = onboarded.kubeconfig;
    this.apiUrl = pulumi.output(args.apiUrl);
    this.serviceAccountName = onboarded.serviceAccountName;
    this.registerOutputs({ kubeconfig: this.kubeconfig, apiUrl: this.apiUrl, serviceAccountName: this.serviceAccountName });
  }
}
