/**
 * `fleetscale plan`: the what-if tool. Prints the steady-state plan the scaler would
 * apply for a total, optionally with members down for a while. Reads, never writes.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { formatDuration, parseDuration } from "../engine/duration";
import type { Observation } from "../engine/health";
import { type Plan, recordsOf } from "../engine/plan";
import { settle } from "../engine/settle";
import { durationString } from "../schema/duration";
import { type DistributedScaledObject, MAX_MEMBERS, memberName, replicaCount } from "../schema/dso";
import { readDsoManifests } from "../schema/manifest";
import { memberInputsOf, memberSpecsOf, policyOf, workloadKey } from "../schema/plan-input";
import { ValidationError, parseOrThrow } from "../schema/validate";
import { decimalDigits } from "./decimal";
import { renderTable } from "./table";

/** Registered members, as a fleet could hold them: member names, each once, at most MAX_MEMBERS. */
const registeredSchema = z
  .array(memberName)
  .max(MAX_MEMBERS, `names more than ${MAX_MEMBERS} members, the most a fleet holds`)
  .check(
    // Beside a malformed name's problem too, so that one run lists every problem.
    z.superRefine((names, ctx) => {
      names.forEach((name, index) => {
        if (names.indexOf(name) !== index) ctx.addIssue({ code: "custom", message: `duplicate member name "${name}"`, path: [index], input: name });
      });
    }, { when: () => true }),
  );

const optionsSchema = z.strictObject({
  file: z.string().min(1),
  total: decimalDigits.pipe(replicaCount).optional(),
  down: z.array(z.string().regex(/^[^=]+(=.+)?$/, "must be <member> or <member>=<duration>")).default([]),
  members: z.string().optional(),
  name: z.string().optional(),
  output: z.enum(["table", "json"]).default("table"),
});

export type PlanOptions = z.input<typeof optionsSchema>;

export interface PlanReport {
  totalReplicas: number;
  members: { name: string; desiredReplicas: number; state: string; description: string }[];
}

/** Runs the command; returns what to print. Throws ValidationError on bad input. */
export function runPlan(raw: PlanOptions, now = Date.now()): { stdout: string; notes: string[] } {
  const options = parseOptions(optionsSchema, raw);
  const dso = pickManifest(readDsoManifests(readFile(options.file), options.file), options.name, options.file);
  const registered = registeredMembers(dso, options.members);
  const { total, notes } = totalOf(options.total, dso);
  const downFor = parseDownOptions(options.down, dso, registered);
  const result = refusedAsInput(() => steadyPlan(dso, registered, total, downFor, now), options.file);
  const report: PlanReport = {
    totalReplicas: result.totalReplicas,
    members: result.members.map((m) => ({ name: m.name, desiredReplicas: m.desiredReplicas, state: m.state, description: m.description })),
  };
  const stdout = options.output === "json" ? `${JSON.stringify(report, null, 2)}\n` : tableOf(result, dso, registered);
  return { stdout, notes: [...notes, ...result.notes] };
}

/**
 * The total to plan: the declared one, or --total bounded as KEDA bounds what it asks
 * for (within [minReplicaCount, maxReplicaCount], or exactly idleReplicaCount), since
 * the scaler never sees a total KEDA would not set.
 */
function totalOf(requested: number | undefined, dso: DistributedScaledObject): { total: number; notes: string[] } {
  if (requested === undefined) {
    const declared = dso.spec.totalTargetReplicas;
    if (declared === undefined) throw new ValidationError("options", [{ path: "--total", message: "required: the manifest has no spec.totalTargetReplicas" }]);
    return { total: declared, notes: [] };
  }
  const { minReplicaCount: min, maxReplicaCount: max, idleReplicaCount: idle } = dso.spec.scaledObjectSpec;
  const clamped = (bound: number, side: string, field: string) => ({
    total: bound,
    notes: [`--total ${requested} is ${side} scaledObjectSpec.${field} ${bound}: planning ${bound}, as KEDA would`],
  });
  if (max !== undefined && requested > max) return clamped(max, "above", "maxReplicaCount");
  if (min !== undefined && requested < min && requested !== idle) return clamped(min, "below", "minReplicaCount");
  return { total: requested, notes: [] };
}

/**
 * The engine checks its own inputs and throws a RangeError for one it cannot plan. An
 * input that gets that far passed the schema, but it is still bad input: it is reported
 * as such (exit 2, one line), never as a crash.
 */
function refusedAsInput<T>(run: () => T, file: string): T {
  try {
    return run();
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new ValidationError("options", [{ path: "--file", message: `${file} cannot be planned: ${error.message}` }]);
  }
}

/** The members named by --members; required when the manifest lists none of its own. */
export function registeredMembers(dso: DistributedScaledObject, members: string | undefined): string[] {
  const registered = parseOrThrow(registeredSchema, members?.split(",").map((m) => m.trim()).filter(Boolean) ?? [], "options", "--members");
  if (dso.spec.memberClusters.length === 0 && registered.length === 0) {
    throw new ValidationError("options", [{ path: "--members", message: "spec.memberClusters is empty, so name the registered members (--members a,b,c)" }]);
  }
  return registered;
}

/**
 * The plan once every step has played out at this moment: first the healthy steady
 * state, then the listed members down for their durations.
 */
export function steadyPlan(dso: DistributedScaledObject, registered: readonly string[], total: number, downFor: ReadonlyMap<string, number>, now: number): Plan {
  const base = {
    workload: workloadKey(dso),
    totalReplicas: total,
    policy: policyOf(dso.spec.rebalancingPolicy),
    now,
  };
  const members = memberSpecsOf(dso.spec, registered);
  const healthy = settle({ ...base, previous: {}, members: memberInputsOf(members, () => ({ healthy: true, readyReplicas: 0, currentReplicas: 0 })) }).plan;
  if (downFor.size === 0) return healthy;
  const previous = recordsOf(healthy);
  for (const [name, duration] of downFor) previous[name] = { ...previous[name]!, state: "Unreachable", since: now - duration };
  const observe = (name: string): Observation => {
    const duration = downFor.get(name);
    if (duration !== undefined) return { healthy: false, failure: "Unreachable", message: `down for ${formatDuration(duration)} (what-if)` };
    const replicas = previous[name]!.desiredReplicas;
    return { healthy: true, readyReplicas: replicas, currentReplicas: replicas };
  };
  return settle({ ...base, previousTotalReplicas: total, previous, members: memberInputsOf(members, observe) }).plan;
}

/** Option problems are named as the user typed them: --total, not total. */
export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  try {
    return parseOrThrow(schema, raw, "options");
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new ValidationError("options", error.problems.map((p) => ({ ...p, path: `--${p.path.replace(/\[\d+\]$/, "")}` })));
  }
}

function parseDownOptions(values: readonly string[], dso: DistributedScaledObject, registered: readonly string[]): Map<string, number> {
  const known = new Set(dso.spec.memberClusters.length > 0 ? dso.spec.memberClusters.map((m) => m.name) : registered);
  const grace = policyOf(dso.spec.rebalancingPolicy).gracePeriodMs;
  const downFor = new Map<string, number>();
  values.forEach((value, index) => {
    const [name, duration] = value.split("=", 2) as [string, string | undefined];
    const path = `--down[${index}]`;
    if (!known.has(name)) throw new ValidationError("options", [{ path, message: `unknown member "${name}" (members: ${[...known].join(", ")})` }]);
    if (duration === undefined) return void downFor.set(name, grace);
    parseOrThrow(durationString, duration, "options", path);
    downFor.set(name, parseDuration(duration)!);
  });
  return downFor;
}

export function pickManifest(found: DistributedScaledObject[], name: string | undefined, file: string): DistributedScaledObject {
  const matching = name === undefined ? found : found.filter((d) => d.metadata.name === name);
  if (matching.length === 1) return matching[0]!;
  const names = found.map((d) => d.metadata.name).join(", ");
  const message =
    matching.length === 0
      ? name === undefined ? "contains no DistributedScaledObject" : `has no DistributedScaledObject named "${name}" (found: ${names || "none"})`
      : `contains several DistributedScaledObjects (${names}); pick one with --name`;
  throw new ValidationError("options", [{ path: "--file", message: `${file} ${message}` }]);
}

/** Reads the file a flag names; a file that cannot be read is bad input to that flag. */
export function readFile(path: string, flag = "--file"): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new ValidationError("options", [{ path: flag, message: `cannot read ${path}: ${(error as Error).message}` }]);
  }
}

function tableOf(result: Plan, dso: DistributedScaledObject, registered: readonly string[]): string {
  const weights = new Map(memberSpecsOf(dso.spec, registered).map((m) => [m.name, m.weight]));
  const rows = result.members.map((m) => [m.name, String(weights.get(m.name)), String(m.desiredReplicas), m.state, m.description]);
  return `${workloadKey(dso)}: ${result.totalReplicas} replicas\n${renderTable(["MEMBER", "WEIGHT", "REPLICAS", "STATE", "DESCRIPTION"], rows)}`;
}
