/**
 * The names the program, the provider and the runtime agree on, as plain constants: code
 * that is serialized into the dynamic provider imports these, never the zod schemas.
 */
export const API_GROUP = "fleetscale.io";
export const API_VERSION = "v1alpha1";
export const KIND = "DistributedScaledObject";
export const PLURAL = "distributedscaledobjects";
/** Manifests written for Kedify are accepted wherever a manifest is read. */
export const ACCEPTED_API_VERSIONS = [`${API_GROUP}/${API_VERSION}`, "keda.kedify.io/v1alpha1"] as const;
/** The Lease the runtime's leader holds in the hub namespace: how `pulumi up` knows one runs. */
export const RUNTIME_LEASE_NAME = "fleetscale-runtime";
