/**
 * The hub side of onboarding: the Secret in the hub holding a member's scaler kubeconfig,
 * which the runtime reads (and watches) to reach the member.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MANAGED_BY, MEMBER_LABEL } from "./labels";

/** The hub Secret holding a member's kubeconfig. */
export const memberSecretName = (member: string) => `fleetscale-member-${member}`;

/** Writes `kubeconfig` into the hub through `opts` (its parent and the hub's provider). */
export function memberCredentialSecret(
  name: string,
  args: { member: string; kubeconfig: pulumi.Input<string>; hubNamespace: pulumi.Input<string> },
  opts: pulumi.CustomResourceOptions,
): k8s.core.v1.Secret {
  return new k8s.core.v1.Secret(
    `${name}-credential`,
    {
      metadata: { name: memberSecretName(args.member), namespace: args.hubNamespace, labels: { ...MANAGED_BY, [MEMBER_LABEL]: args.member } },
      type: "Opaque",
      // `data`, not `stringData`: stringData does not round-trip under server-side apply.
      data: { kubeconfig: pulumi.secret(args.kubeconfig).apply((text) => Buffer.from(text, "utf8").toString("base64")) },
    },
    { ...opts, additionalSecretOutputs: ["data"] },
  );
}
