/**
 * A what-if scenario for `fleetscale simulate`: a total, a clock and the things that
 * happen to the fleet over time. Validated by field path like a manifest, checked
 * against the DistributedScaledObject it runs on, then handed to the engine's fleet model.
 */
import { parseDocument } from "yaml";
import { z } from "zod";
import { formatDuration, parseDuration } from "../engine/duration";
import type { FleetEvent, FleetScenario } from "../engine/fleet-model";
import { type DistributedScaledObject, isObject, memberClusterSchema, replicaCount } from "./dso";
import { durationString } from "./duration";
import { engineMemberOf, memberSpecsOf, policyOf, workloadKey } from "./plan-input";
import { type FieldProblem, ValidationError, parseOrThrow } from "./validate";

/** Each step runs the whole engine and prints a row of JSON: this bounds a run's time and output. */
const MAX_STEPS = 100_000;

/** A scenario needs few aliases, if any; the bound stops a billion-laughs document from exhausting memory. */
const MAX_ALIASES = 100;

const ACTIONS = ["down", "up", "total", "weight", "unready"] as const;

/** What a weight may be is the DSO's rule, so a scenario can set any weight a manifest can. */
const weight = memberClusterSchema.shape.weight.unwrap();

const eventSchema = z
  .strictObject({
    at: durationString,
    down: z.string().optional(),
    /** Whether the member's pods keep running (a partition) or die with it (a lost cluster). */
    pods: z.enum(["keep", "lose"]).optional(),
    up: z.string().optional(),
    total: replicaCount.optional(),
    weight: z.record(z.string(), weight).optional(),
    unready: z.record(z.string(), replicaCount).optional(),
  })
  .check(
    z.superRefine((event, ctx) => {
      if (!isObject(event)) return;
      const found = ACTIONS.filter((action) => event[action] !== undefined);
      if (found.length !== 1) {
        const what = found.length === 0 ? "none" : found.join(", ");
        ctx.addIssue({ code: "custom", message: `needs exactly one of ${ACTIONS.join(", ")} (found: ${what})`, path: [], input: event });
      }
      if (event.pods !== undefined && event.down === undefined) {
        ctx.addIssue({ code: "custom", message: "only goes with down", path: ["pods"], input: event.pods });
      }
    }, { when: () => true }),
  );

export const scenarioSchema = z.strictObject({
  /** The total at the start; `total` events change it. */
  total: replicaCount,
  /** How often the scaler plans. */
  step: durationString.default("10s"),
  duration: durationString,
  /** A pod asked for is ready this long later. */
  readyAfter: durationString.default("0s"),
  events: z.array(eventSchema).default([]),
});

export type Scenario = z.output<typeof scenarioSchema>;
type ScenarioEvent = Scenario["events"][number];

/** Reads and validates one scenario document. Throws ValidationError on any problem. */
export function readScenario(text: string, source: string): Scenario {
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    throw new ValidationError(`YAML in ${source}`, document.errors.map((e) => ({ path: `line ${e.linePos?.[0]?.line ?? "?"}`, message: e.message.split("\n")[0]! })));
  }
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (error) {
    throw new ValidationError(`YAML in ${source}`, [{ path: "(root)", message: (error as Error).message }]);
  }
  return parseOrThrow(scenarioSchema, value, `scenario in ${source}`);
}

/**
 * The engine's fleet scenario for a DSO: its workload key, policy and members, with every
 * reference and time in the scenario checked against them.
 */
export function fleetScenarioOf(scenario: Scenario, dso: DistributedScaledObject, registered: readonly string[], source: string): FleetScenario {
  const members = memberSpecsOf(dso.spec, registered);
  const known = new Set(members.map((m) => m.name));
  const stepMs = parseDuration(scenario.step)!;
  const durationMs = parseDuration(scenario.duration)!;
  const problems: FieldProblem[] = [];
  if (stepMs <= 0) problems.push({ path: "step", message: "must be longer than 0s" });
  else if (Math.floor(durationMs / stepMs) + 1 > MAX_STEPS) {
    problems.push({ path: "duration", message: `${scenario.duration} in steps of ${scenario.step} is more than ${MAX_STEPS} steps: use a longer step or a shorter duration` });
  }
  const events = scenario.events.map((event, index): FleetEvent => {
    const at = parseDuration(event.at)!;
    const path = `events[${index}]`;
    if (at > durationMs) problems.push({ path: `${path}.at`, message: `${event.at} is after the end of the run (duration ${formatDuration(durationMs)})` });
    for (const [field, name] of namedMembers(event)) {
      if (!known.has(name)) problems.push({ path: `${path}.${field}`, message: `unknown member "${name}" (members: ${[...known].join(", ")})` });
    }
    return { at, ...actionOf(event) } as FleetEvent;
  });
  problems.push(...allWeightsZero(events, members));
  if (problems.length > 0) throw new ValidationError(`scenario in ${source}`, problems);
  return {
    workload: workloadKey(dso),
    members: members.map(engineMemberOf),
    policy: policyOf(dso.spec.rebalancingPolicy),
    total: scenario.total,
    stepMs,
    durationMs,
    readyAfterMs: parseDuration(scenario.readyAfter)!,
    events,
  };
}

/** The members an event names, with the field path (relative to the event) that names each. */
function namedMembers(event: ScenarioEvent): [string, string][] {
  if (event.down !== undefined) return [["down", event.down]];
  if (event.up !== undefined) return [["up", event.up]];
  const counts = event.weight ? ["weight", event.weight] as const : event.unready ? ["unready", event.unready] as const : undefined;
  return counts ? Object.keys(counts[1]).map((name) => [`${counts[0]}.${name}`, name]) : [];
}

function actionOf(event: ScenarioEvent): Omit<FleetEvent, "at"> {
  if (event.down !== undefined) return { down: event.down, pods: event.pods ?? "keep" };
  if (event.up !== undefined) return { up: event.up };
  if (event.total !== undefined) return { total: event.total };
  if (event.weight !== undefined) return { weight: event.weight };
  return { unready: event.unready! };
}

/** With every weight at 0 there is no share to split the total by: say which event does that. */
function allWeightsZero(events: readonly FleetEvent[], members: readonly { name: string; weight: number }[]): FieldProblem[] {
  const weights = new Map(members.map((m) => [m.name, m.weight]));
  const order = events.map((event, index) => ({ event, index })).sort((a, b) => a.event.at - b.event.at);
  for (const { event, index } of order) {
    if (!("weight" in event)) continue;
    for (const [name, value] of Object.entries(event.weight)) weights.set(name, value);
    if ([...weights.values()].every((w) => w === 0)) return [{ path: `events[${index}].weight`, message: "leaves every member at weight 0: there is nothing to split the total by" }];
  }
  return [];
}
