/**
 * Stack configuration: one fleet per Pulumi stack (stacks/Pulumi.<stack>.yaml, under
 * the `fleetscale:` namespace). Validated before any resource is registered, so a bad
 * config fails `pulumi preview` with every problem listed by config path, a key of the
 * namespace that the schema does not know included.
 */
import { z } from "zod";
import { ALL_WEIGHTS_ZERO, allWeightsZero, dnsLabel, dsoSpecSchema, isObject, memberName } from "./dso";
import { type FieldProblem, ValidationError, closestName, fieldProblems } from "./validate";

export const CONFIG_NAMESPACE = "fleetscale";

/** Where a cluster's admin credentials come from: inline (a Pulumi secret) or a file on the operator's machine. */
const credentialFields = {
  kubeconfig: z.string().min(1).optional(),
  kubeconfigPath: z.string().min(1).optional(),
};

/**
 * A credential handed to the Fleet component: kubeconfig text, or a Pulumi Output or Promise of
 * it (an EKS cluster's kubeconfig, a member stack's output). Only its presence can be checked
 * here; the text is checked where it is used.
 */
const credentialInput = z.unknown().refine(
  (value) => (typeof value === "string" && value.length > 0) || (typeof value === "object" && value !== null),
  "must be kubeconfig text, or a Pulumi Output or Promise of it",
);

/** The defaults, shared with the components for programs that build them without a stack config. */
export const DEFAULT_HUB_NAMESPACE = "fleetscale-system";
export const DEFAULT_RUNTIME_IMAGE = "ghcr.io/fleetscale/scaler:0.1.0";
export const DEFAULT_RUNTIME_REPLICAS = 2;
export const DEFAULT_MEMBER_NAMESPACE = "fleetscale";

const hubFields = {
  namespace: dnsLabel.default(DEFAULT_HUB_NAMESPACE),
  image: z.string().min(1).default(DEFAULT_RUNTIME_IMAGE),
  replicas: z.int().min(1).max(5).default(DEFAULT_RUNTIME_REPLICAS),
  /** Node labels the runtime's pods must match (the Deployment's nodeSelector). */
  nodeSelector: z.record(z.string().min(1), z.string()).optional(),
  /** Delete the DSO CRD, and with it every DistributedScaledObject in the hub, on `pulumi destroy`. */
  deleteCrdOnDestroy: z.boolean().default(false),
  /** Prometheus Operator objects for the runtime's metrics; each needs the operator's CRDs in the hub. */
  monitoring: z
    .strictObject({
      /** A Service over the metrics port and a ServiceMonitor scraping it. */
      serviceMonitor: z.boolean().default(false),
      /** A PrometheusRule with the runtime's alerts (components/runtime-alerts.ts). */
      prometheusRule: z.boolean().default(false),
      /** Labels for the ServiceMonitor and PrometheusRule, for the Prometheus' selectors. */
      labels: z.record(z.string().min(1), z.string()).default({}),
    })
    .default({ serviceMonitor: false, prometheusRule: false, labels: {} }),
};

const memberFields = {
  /** The member is the hub cluster itself: onboarded with the same least-privilege role as any member. */
  inHub: z.boolean().optional(),
  /** How the hub reaches this member's API server, when not the kubeconfig's own server URL. */
  apiUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** Namespace in the member for the scaler's ServiceAccount. */
  namespace: dnsLabel.default(DEFAULT_MEMBER_NAMESPACE),
  /** Weight in workloads that do not list their members; 0 drains the member from them. */
  weight: z.int().min(0).max(1_000_000).default(1),
  /** Changing it mints a new member credential on the next `pulumi up` and revokes the old one. */
  credentialGeneration: z.string().min(1).optional(),
};

/** Exactly one of `keys` is set: reported on the first, where a reader looks for the credential. */
function exactlyOne<T extends Record<string, unknown>>(keys: (keyof T & string)[], message: string) {
  const check = (value: T) => keys.filter((key) => value[key] !== undefined && value[key] !== false).length === 1;
  return [check, { message, path: [keys[0]!] as PropertyKey[] }] as const;
}

export const hubConfigSchema = z
  .strictObject({ ...credentialFields, ...hubFields })
  .refine(...exactlyOne(["kubeconfig", "kubeconfigPath"], "set exactly one of kubeconfig (a secret) or kubeconfigPath"));

/** Set in the member stack that onboards the member, not in the hub's. */
const MEMBER_STACK_OWNS = ["apiUrl", "credentialGeneration"] as const;

export const memberConfigSchema = z
  .strictObject({
    ...credentialFields,
    /**
     * The member stack (`organization/<project>/<stack>`) that onboarded this member and exports
     * its scaler kubeconfig as `kubeconfig`: the hub stack never holds the member's admin credential.
     */
    stack: z.string().regex(/^[^/\s]+\/[^/\s]+\/[^/\s]+$/, "must be organization/project/stack").optional(),
    ...memberFields,
  })
  .refine(...exactlyOne(["kubeconfig", "kubeconfigPath", "stack", "inHub"], "set exactly one of kubeconfig (a secret), kubeconfigPath, stack or inHub: true"))
  .check(z.superRefine((member, ctx) => onboardedElsewhere(member, member.stack !== undefined, `the member stack ${member.stack}`, ctx)));

/** A member onboarded by its own stack takes its API URL and credential rotation from there. */
function onboardedElsewhere(member: Partial<Record<(typeof MEMBER_STACK_OWNS)[number], unknown>>, elsewhere: boolean, where: string, ctx: z.core.$RefinementCtx<unknown>): void {
  if (!elsewhere) return;
  for (const key of MEMBER_STACK_OWNS) {
    if (member[key] !== undefined) ctx.addIssue({ code: "custom", message: `set in ${where}, which onboards the member`, path: [key], input: member[key] });
  }
}

/** A distributed workload: a DistributedScaledObject spec plus where the DSO lives in the hub. */
export const workloadConfigSchema = dsoSpecSchema.extend({
  namespace: dnsLabel.default("default"),
});

/** The rules across hub, members and workloads, the same for a stack's config and the Fleet component's args. */
function fleetRules(config: unknown, ctx: z.core.$RefinementCtx<unknown>): void {
  if (!isObject(config)) return;
  const members = (isObject(config.members) ? config.members : {}) as Record<string, { inHub?: unknown; namespace?: unknown }>;
  const inHub = Object.entries(members).filter(([, m]) => m?.inHub === true);
  if (inHub.length > 1) {
    ctx.addIssue({ code: "custom", message: "at most one member can be the hub itself (inHub: true)", path: ["members"], input: members });
  }
  const hubNamespace = isObject(config.hub) ? config.hub.namespace : undefined;
  for (const [name, member] of inHub) {
    if (member.namespace === hubNamespace) {
      ctx.addIssue({ code: "custom", message: `must differ from hub.namespace ("${hubNamespace}"): the member role and the runtime live apart`, path: ["members", name, "namespace"], input: member.namespace });
    }
  }
  const workloads = (isObject(config.workloads) ? config.workloads : {}) as Record<string, unknown>;
  for (const [workload, spec] of Object.entries(workloads)) {
    const listed = isObject(spec) && Array.isArray(spec.memberClusters) ? (spec.memberClusters as { name?: unknown }[]) : [];
    listed.forEach((member, index) => {
      if (typeof member?.name === "string" && !(member.name in members)) {
        ctx.addIssue({ code: "custom", message: `unknown member "${member.name}" (members: ${Object.keys(members).join(", ") || "none"})`, path: ["workloads", workload, "memberClusters", index, "name"], input: member.name });
      }
    });
    // A workload that lists no members spreads over all of them at their configured weights (components/workload-spec.ts).
    const listsNone = isObject(spec) && (spec.memberClusters === undefined || (Array.isArray(spec.memberClusters) && spec.memberClusters.length === 0));
    if (listsNone && allWeightsZero(Object.values(members))) {
      ctx.addIssue({ code: "custom", message: `every member's weight is 0 and this workload lists no members of its own, so ${ALL_WEIGHTS_ZERO}`, path: ["workloads", workload, "memberClusters"], input: [] });
    }
  }
}

export const stackConfigSchema = z
  .strictObject({
    hub: hubConfigSchema,
    members: z.record(memberName, memberConfigSchema),
    workloads: z.record(dnsLabel, workloadConfigSchema).default({}),
  })
  .check(z.superRefine(fleetRules, { when: () => true }));

/**
 * The Fleet component's args: the stack config's shape with every credential as text or a
 * Pulumi Output of it, since a component reads no files. A member is onboarded with its admin
 * `kubeconfig`, or was onboarded by a member stack that exported its `scalerKubeconfig`.
 */
export const fleetArgsSchema = z
  .strictObject({
    hub: z.strictObject({ kubeconfig: credentialInput, ...hubFields }),
    members: z.record(
      memberName,
      z
        .strictObject({ kubeconfig: credentialInput.optional(), scalerKubeconfig: credentialInput.optional(), ...memberFields })
        .refine(...exactlyOne(["kubeconfig", "scalerKubeconfig", "inHub"], "set exactly one of kubeconfig (admin), scalerKubeconfig (from a member stack) or inHub: true"))
        .check(z.superRefine((member, ctx) => onboardedElsewhere(member, member.scalerKubeconfig !== undefined, "the member's own stack", ctx))),
    ),
    workloads: z.record(dnsLabel, workloadConfigSchema).default({}),
  })
  .check(z.superRefine(fleetRules, { when: () => true }));

/** The keys a stack sets under `fleetscale:`, as the schema defines them: any other is a mistake. */
export const CONFIG_KEYS = Object.keys(stackConfigSchema.shape) as (keyof typeof stackConfigSchema.shape)[];

export type HubConfig = z.output<typeof hubConfigSchema>;
export type MemberConfig = z.output<typeof memberConfigSchema>;
export type WorkloadConfig = z.output<typeof workloadConfigSchema>;
export type StackConfig = z.output<typeof stackConfigSchema>;
export type FleetConfig = z.output<typeof fleetArgsSchema>;

/**
 * Reads and validates the stack's config. `read` returns a key's raw value (structured
 * values arrive as JSON text), or undefined when it is not set; `keys` are the keys set under
 * `fleetscale:`, each of which must be one the schema knows.
 */
export function loadStackConfig(read: (key: string) => string | undefined, keys: Iterable<string> = CONFIG_KEYS): StackConfig {
  const unknown = [...keys].filter((key) => !(CONFIG_KEYS as string[]).includes(key)).map(unknownKeyProblem);
  const raw: Record<string, unknown> = {};
  const unreadable: FieldProblem[] = [];
  for (const key of CONFIG_KEYS) {
    const text = read(key);
    if (text === undefined) continue;
    try {
      raw[key] = JSON.parse(text);
    } catch {
      unreadable.push({ path: `${CONFIG_NAMESPACE}:${key}`, message: "must be a structured value (a YAML map), not a plain string" });
    }
  }
  // An unreadable value is reported alone: the schema would only add that it is missing.
  if (unreadable.length > 0) throw new ValidationError("stack config", [...unknown, ...unreadable]);
  const result = stackConfigSchema.safeParse(raw);
  if (result.success && unknown.length === 0) return result.data;
  throw new ValidationError("stack config", [...unknown, ...(result.success ? [] : fieldProblems(result.error, `${CONFIG_NAMESPACE}:`))]);
}

/**
 * Reads and validates the stack's config from every value the program was given
 * (`namespace:key` to raw text, as pulumi.runtime.allConfig() returns them), so that a
 * `fleetscale:` key the schema does not know is refused rather than silently ignored.
 */
export function loadProgramConfig(all: Record<string, string>): StackConfig {
  const prefix = `${CONFIG_NAMESPACE}:`;
  const keys = Object.keys(all).filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length));
  return loadStackConfig((key) => all[prefix + key], keys);
}

/**
 * A misspelt key would otherwise read as a missing one: `workload` for `workloads` leaves the
 * stack without workloads, and `pulumi up` would delete them.
 */
function unknownKeyProblem(key: string): FieldProblem {
  const path = `${CONFIG_NAMESPACE}:${key}`;
  const parent = CONFIG_KEYS.find((known) => key.startsWith(`${known}.`) || key.startsWith(`${known}[`));
  if (parent !== undefined) return { path, message: `unknown key: a value inside ${CONFIG_NAMESPACE}:${parent} is set with \`pulumi config set --path '${path}' ...\`` };
  const closest = closestName(key, CONFIG_KEYS);
  if (closest !== undefined) return { path, message: `unknown key; did you mean ${CONFIG_NAMESPACE}:${closest}?` };
  return { path, message: `unknown key (the keys are ${CONFIG_KEYS.map((known) => `${CONFIG_NAMESPACE}:${known}`).join(", ")})` };
}
