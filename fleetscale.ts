/**
 * The fleetscale package: what a Pulumi program imports to add a fleet (`import { Fleet } from
 * "fleetscale"`). The components take `pulumi.Input`s and use the Kubernetes provider given in
 * their options; none reads a file. `@pulumi/pulumi` and `@pulumi/kubernetes` are peer
 * dependencies, so the program and fleetscale share one SDK.
 */
export { Fleet, type FleetArgs, type FleetHubArgs, type FleetMemberArgs } from "./components/fleet";
export { ScalerHub, type ScalerHubArgs } from "./components/scaler-hub";
export { MemberCluster, type MemberClusterArgs } from "./components/member-cluster";
export { MemberOnboarding, type MemberOnboardingArgs } from "./components/member-onboarding";
export { DistributedWorkload, type DistributedWorkloadArgs } from "./components/distributed-workload";
export { DistributedReplicas, type DistributedReplicasArgs } from "./provider/distributed-replicas";
export { kubeconfigServer } from "./components/kubeconfig";
export { type DsoSpec, type DsoSpecInput, dsoSpecSchema } from "./schema/dso";
export { type FleetConfig, type StackConfig, fleetArgsSchema, stackConfigSchema } from "./schema/stack-config";
export { ValidationError, type FieldProblem } from "./schema/validate";
