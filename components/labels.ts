/** Labels and annotations fleetscale puts on what it creates, in the hub and in members. */

export const MANAGED_BY = { "app.kubernetes.io/managed-by": "fleetscale" } as const;

/** The runtime's name in the hub: its Deployment, ServiceAccount, roles and `app.kubernetes.io/name` label. */
export const RUNTIME_NAME = "fleetscale-runtime";

/** On a hub Secret: the member whose kubeconfig it holds. The runtime selects member Secrets by it. */
export const MEMBER_LABEL = "fleetscale.io/member";

/** On a member's token Secret: which `credentialGeneration` minted the token. */
export const CREDENTIAL_GENERATION_ANNOTATION = "fleetscale.io/credential-generation";
