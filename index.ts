/**
 * The fleetscale Pulumi program: one stack, one fleet (stacks/Pulumi.<stack>.yaml).
 */
import * as pulumi from "@pulumi/pulumi";
import { Fleet } from "./components/fleet";
import { CONFIG_NAMESPACE, loadStackConfig } from "./schema/stack-config";

// The raw getter: pulumi.Config would warn on every secret read, and the kubeconfigs that
// are secrets are wrapped in pulumi.secret by the components that use them. A bad config
// throws here, listing every problem by config path, before any resource is registered.
const config = loadStackConfig((key) => pulumi.runtime.getConfig(`${CONFIG_NAMESPACE}:${key}`));

// Pulumi runs the program in the project directory, which kubeconfigPath values are relative
// to. (getRootDirectory() would say so too, but the Node.js language host we build, v3.68,
// does not pass it to the SDK.)
const fleet = new Fleet("fleet", { config, baseDir: process.cwd() });

export const hubNamespace = fleet.hubNamespace;
export const memberApiUrls = fleet.memberApiUrls;
export const dsoNames = fleet.dsoNames;
export const plans = fleet.plans;
