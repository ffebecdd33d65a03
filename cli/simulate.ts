/**
 * `fleetscale simulate`: the what-if tool over time. Plays a scenario (outages, returns,
 * total and weight changes) through the engine's fleet model, one real planning step at
 * a time, and shows what each member was asked for and had ready. Reads its inputs and
 * writes nothing but the chart it is asked for.
 */
import { writeFileSync } from "node:fs";
import { basename } from "node:path";
import { z } from "zod";
import { formatDuration } from "../engine/duration";
import { type FleetRun, type FleetStep, runFleet } from "../engine/fleet-model";
import { readDsoManifests } from "../schema/manifest";
import { fleetScenarioOf, readScenario } from "../schema/scenario";
import { ValidationError } from "../schema/validate";
import { parseOptions, pickManifest, readFile, registeredMembers } from "./plan";
import { simulationSvg } from "./simulate-svg";
import { renderTable } from "./table";

const optionsSchema = z.strictObject({
  file: z.string().min(1),
  scenario: z.string().min(1),
  output: z.enum(["table", "json"]).default("table"),
  svg: z.string().min(1).optional(),
  members: z.string().optional(),
  name: z.string().optional(),
});

export type SimulateOptions = z.input<typeof optionsSchema>;

/** What `--output json` prints: the run with times in seconds, as an operator reads them. */
export interface SimulateReport {
  steps: { at: number; totalReplicas: number; members: FleetStep["members"] }[];
  summary: FleetRun["summary"];
}

/** Runs the command and writes the chart if asked; returns what to print. Throws ValidationError on bad input. */
export function runSimulate(raw: SimulateOptions): string {
  const options = parseOptions(optionsSchema, raw);
  const dso = pickManifest(readDsoManifests(readFile(options.file), options.file), options.name, options.file);
  const registered = registeredMembers(dso, options.members);
  const scenario = fleetScenarioOf(readScenario(readFile(options.scenario, "--scenario"), options.scenario), dso, registered, options.scenario);
  const run = runFleet(scenario);
  const title = `${scenario.workload}: ${basename(options.scenario)}`;
  if (options.svg !== undefined) writeChart(options.svg, simulationSvg(run.steps, title));
  return options.output === "json" ? `${JSON.stringify(reportOf(run), null, 2)}\n` : `${title}, one step every ${formatDuration(scenario.stepMs)}\n${tableOf(run)}`;
}

/**
 * Writes to stdout and waits until it is flushed: a long run prints megabytes, and exiting
 * earlier would cut them off. A reader that stops early (`| head`) is no error.
 */
export function printAll(text: string): Promise<void> {
  return new Promise((done) => {
    process.stdout.once("error", () => done());
    process.stdout.write(text, () => done());
  });
}

function reportOf(run: FleetRun): SimulateReport {
  return {
    steps: run.steps.map((step) => ({
      at: step.at / 1000,
      totalReplicas: step.totalReplicas,
      members: step.members.map((m) => ({ name: m.name, desiredReplicas: m.desiredReplicas, readyReplicas: m.readyReplicas, reachable: m.reachable, state: m.state, description: m.description })),
    })),
    summary: run.summary,
  };
}

/**
 * One row per step where the total, a member's replicas, reachability or state changed,
 * plus the first and the last; descriptions are left out because their countdowns
 * would make every step a row.
 */
function tableOf(run: FleetRun): string {
  const { steps, summary } = run;
  const names = steps[0]!.members.map((m) => m.name);
  const cell = (m: FleetStep["members"][number]) => `${m.desiredReplicas}/${m.readyReplicas}${m.reachable ? "" : "*"} ${m.state}`;
  const rowOf = (step: FleetStep) => [formatDuration(step.at), String(step.totalReplicas), ...step.members.map(cell)];
  const rows = steps.map(rowOf).filter((row, k, all) => k === 0 || k === all.length - 1 || row.slice(1).join("\0") !== all[k - 1]!.slice(1).join("\0"));
  const unreachable = steps.some((s) => s.members.some((m) => !m.reachable));
  const lines = [
    renderTable(["TIME", "TOTAL", ...names], rows).trimEnd(),
    "(each member: desired/ready replicas and state)" + (unreachable ? "; * the hub cannot reach the member: desired is what it last wrote there" : ""),
    "",
    `member writes: ${summary.memberWrites}`,
    ...names.map((name) => {
      const moves = summary.moves[name]!;
      return `  ${name}: ${moves.writes} writes, ${moves.added} added, ${moves.removed} removed`;
    }),
    `lowest ready capacity: ${summary.lowestReadyCapacity}`,
    `lowest reachable ready capacity: ${summary.lowestReachableReadyCapacity}`,
  ];
  return `${lines.join("\n")}\n`;
}

function writeChart(path: string, svg: string): void {
  try {
    writeFileSync(path, svg);
  } catch (error) {
    throw new ValidationError("options", [{ path: "--svg", message: `cannot write ${path}: ${(error as Error).message}` }]);
  }
}
