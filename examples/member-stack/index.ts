/**
 * A member cluster's own stack, run by the cluster's team with the cluster's admin credential.
 * It creates the scaler identity fleetscale needs in this cluster and exports its kubeconfig
 * (a secret). The platform team's hub stack names this stack (`members.<name>.stack`) and reads
 * that output: it never holds this cluster's admin credential. Destroying this stack revokes the
 * credential, and the hub's next `pulumi up` takes the member out of the fleet. Config:
 *   kubeconfig (secret)  admin kubeconfig of this cluster
 *   member               the cluster's name in the fleet
 *   apiUrl (optional)    how the hub reaches this cluster's API server (default: the kubeconfig's server)
 *   namespace (optional) the scaler's namespace in this cluster (default: fleetscale)
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MemberOnboarding, kubeconfigServer } from "fleetscale";

const config = new pulumi.Config();
const adminKubeconfig = config.requireSecret("kubeconfig");
const member = config.require("member");
const apiUrl = config.get("apiUrl") ?? pulumi.unsecret(adminKubeconfig.apply((text) => kubeconfigServer(text, "config kubeconfig")));

const provider = new k8s.Provider("member", { kubeconfig: adminKubeconfig });
const onboarding = new MemberOnboarding(member, { member, apiUrl, namespace: config.get("namespace") }, { providers: [provider] });

/** What the hub stack reads: a kubeconfig for the scaler identity only. */
export const kubeconfig = onboarding.kubeconfig;
export const memberApiUrl = onboarding.apiUrl;
