/**
 * `fleetscale plan`: the what-if tool. Prints the steady-state plan the scaler would
 * apply for a total, optionally with members down for a while. Reads, never writes.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { formatDuration, parseDuration } from "../engine/duration";
import { memberInputsOf, policyOf, workloadKey } from "../engine/dso-input";
import type { Observation } from "../engine/health";
import { type Plan, recordsOf } from "../engine/plan";
import { settle } from "../engine/settle";
import { durationString } from "../schema/duration";
import type { DistributedScaledObject } from "../schema/dso";
import { readDsoManifests } from "../schema/manifest";
import { ValidationError, parseOrThrow } from "../schema/validate";
import { renderTable } from "./table";

const optionsSchema = z.strictObject({
  file: z.string().min(1),
  total: z.coerce.number().pipe(z.int().min(0)).optional(),
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
  const options = parseOptions(raw);
  const dso = pickManifest(readDsoManifests(readFile(options.file), options.file), options.name, options.file);
  const registered = options.members?.split(",").map((m) => m.trim()).filter(Boolean) ?? [];
  if (dso.spec.memberClusters.length === 0 && registered.length === 0) {
    throw new ValidationError("options", [{ path: "--members", message: "spec.memberClusters is empty, so name the registered members (--members a,b,c)" }]);
  }
  const total = options.total ?? dso.spec.totalTargetReplicas;
  if (total === undefined) {
    throw new ValidationError("options", [{ path: "--total", message: "required: the manifest has no spec.totalTargetReplicas" }]);
  }
  const result = steadyPlan(dso, registered, total, parseDownOptions(options.down, dso, registered), now);
  const report: PlanReport = {
    totalReplicas: result.totalReplicas,
    members: result.members.map((m) => ({ name: m.name, desiredReplicas: m.desiredReplicas, state: m.state, description: m.description })),
  };
  const stdout = options.output === "json" ? `${JSON.stringify(report, null, 2)}\n` : tableOf(result, dso, registered);
  return { stdout, notes: result.notes };
}

/**
 * The plan once every step has played out at this moment: first the healthy steady
 * state, then the listed members down for their durations.
 */
export function steadyPlan(dso: DistributedScaledObject, registered: readonly string[], total: number, downFor: ReadonlyMap<string, number>, now: number): Plan {
  const base = {
    workload: workloadKey(dso),
    totalReplicas: total,
    policy: policyOf(dso.spec),
    now,
  };
  const healthy = settle({ ...base, previous: {}, members: memberInputsOf(dso.spec, registered, () => ({ healthy: true, readyReplicas: 0, currentReplicas: 0 })) }).plan;
  if (downFor.size === 0) return healthy;
  const previous = recordsOf(healthy);
  for (const [name, duration] of downFor) previous[name] = { ...previous[name]!, state: "Unreachable", since: now - duration };
  const observe = (name: string): Observation => {
    const duration = downFor.get(name);
    if (duration !== undefined) return { healthy: false, failure: "Unreachable", message: `down for ${formatDuration(duration)} (what-if)` };
    const replicas = previous[name]!.desiredReplicas;
    return { healthy: true, readyReplicas: replicas, currentReplicas: replicas };
  };
  return settle({ ...base, previousTotalReplicas: total, previous, members: memberInputsOf(dso.spec, registered, observe) }).plan;
}

/** Option problems are named as the user typed them: --total, not total. */
function parseOptions(raw: PlanOptions): z.output<typeof optionsSchema> {
  try {
    return parseOrThrow(optionsSchema, raw, "options");
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new ValidationError("options", error.problems.map((p) => ({ ...p, path: `--${p.path.replace(/\[\d+\]$/, "")}` })));
  }
}

function parseDownOptions(values: readonly string[], dso: DistributedScaledObject, registered: readonly string[]): Map<string, number> {
  const known = new Set(dso.spec.memberClusters.length > 0 ? dso.spec.memberClusters.map((m) => m.name) : registered);
  const grace = policyOf(dso.spec).gracePeriodMs;
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

function pickManifest(found: DistributedScaledObject[], name: string | undefined, file: string): DistributedScaledObject {
  const matching = name === undefined ? found : found.filter((d) => d.metadata.name === name);
  if (matching.length === 1) return matching[0]!;
  const names = found.map((d) => d.metadata.name).join(", ");
  const message =
    matching.length === 0
      ? name === undefined ? "contains no DistributedScaledObject" : `has no DistributedScaledObject named "${name}" (found: ${names || "none"})`
      : `contains several DistributedScaledObjects (${names}); pick one with --name`;
  throw new ValidationError("options", [{ path: "--file", message: `${file} ${message}` }]);
}

function readFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new ValidationError("options", [{ path: "--file", message: `cannot read ${path}: ${(error as Error).message}` }]);
  }
}

function tableOf(result: Plan, dso: DistributedScaledObject, registered: readonly string[]): string {
  const weights = new Map(memberInputsOf(dso.spec, registered, () => ({ healthy: true, readyReplicas: 0, currentReplicas: 0 })).map((m) => [m.name, m.weight]));
  const rows = result.members.map((m) => [m.name, String(weights.get(m.name)), String(m.desiredReplicas), m.state, m.description]);
  return `${workloadKey(dso)}: ${result.totalReplicas} replicas\n${renderTable(["MEMBER", "WEIGHT", "REPLICAS", "STATE", "DESCRIPTION"], rows)}`;
}
