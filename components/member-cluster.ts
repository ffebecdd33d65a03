/**
 * Onboards one member cluster from the hub's stack: the scaler identity in the member
 * (member-onboarding.ts) and, in the hub, the Secret holding its kubeconfig
 * (member-credential.ts). The member's admin kubeconfig is used by Pulumi to create these
 * and never reaches the hub. The hub's resources use the provider given in `opts`.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { kubeconfigServer } from "./kubeconfig";
import { memberCredentialSecret } from "./member-credential";
import { type MemberOnboardingArgs, onboardMember } from "./member-onboarding";

export interface MemberClusterArgs extends Omit<MemberOnboardingArgs, "apiUrl"> {
  /** Admin credentials for the member, used only by Pulumi to create the scaler identity; always kept secret. */
  adminKubeconfig: pulumi.Input<string>;
  /** How the hub runtime reaches the member's API server; defaults to the admin kubeconfig's server. */
  apiUrl?: pulumi.Input<string>;
  /** The hub namespace of the member Secrets (ScalerHub's namespace). */
  hubNamespace: pulumi.Input<string>;
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
    const memberProvider = new k8s.Provider(`${name}-admin`, { kubeconfig: adminKubeconfig }, { parent: this });

    this.apiUrl = args.apiUrl !== undefined
      ? pulumi.output(args.apiUrl)
      // The URL is read from a secret but is not itself sensitive: it is an output operators need to see.
      : pulumi.unsecret(adminKubeconfig.apply((text) => kubeconfigServer(text, `admin kubeconfig of member ${args.member}`)));

    const onboarded = onboardMember(name, { ...args, apiUrl: this.apiUrl }, { parent: this, provider: memberProvider });
    const hubSecret = memberCredentialSecret(name, { member: args.member, kubeconfig: onboarded.kubeconfig, hubNamespace: args.hubNamespace }, { parent: this });

    this.hubSecretName = hubSecret.metadata.name;
    this.serviceAccountName = onboarded.serviceAccountName;
    this.registerOutputs({ hubSecretName: this.hubSecretName, apiUrl: this.apiUrl, serviceAccountName: this.serviceAccountName });
  }
}
