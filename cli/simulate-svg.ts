/**
 * The chart `fleetscale simulate --svg` writes: ready replicas per member stacked over
 * time against the total, outages hatched, each member's state as a band below. Plain
 * SVG with no scripts, fonts or dependencies, so it renders anywhere (a README, a browser,
 * an issue), and the same run always gives the same bytes so a committed chart only
 * changes when the simulation does.
 */
import { formatDuration } from "../engine/duration";
import type { FleetStep } from "../engine/fleet-model";

/** Tableau 10: tells up to ten members apart, also for most colour-blind readers. */
const MEMBER_COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#e15759", "#bab0ac"];

/** Healthy green, failing inside the grace period in warm colours, out in red, coming back in blue. */
const STATE_COLOURS: Readonly<Record<string, string>> = {
  Ready: "#2f9e44",
  Unreachable: "#f59f00",
  Unauthorized: "#e8590c",
  WorkloadMissing: "#d9480f",
  NotReady: "#fcc419",
  Excluded: "#c92a2a",
  Recovering: "#1c7ed6",
};
/** For states this chart has no colour of its own for (the engine may add some). */
const OTHER_STATE_COLOURS = ["#7048e8", "#0ca678", "#868e96", "#ae3ec9", "#495057"];

const WIDTH = 960;
const LEFT = 56;
const TOP = 44;
const PLOT_HEIGHT = 300;
const BAND = 10;
const BAND_GAP = 6;
const LEGEND_ROW = 18;
/** Rough width of a character at the 11px legend font, to make room for long member names. */
const CHAR_WIDTH = 6.5;

/** Renders the run's steps as an SVG document. */
export function simulationSvg(steps: readonly FleetStep[], title: string): string {
  const names = steps[0]!.members.map((m) => m.name);
  const right = Math.max(170, 40 + CHAR_WIDTH * Math.max(...names.map((n) => n.length), "unreachable (hatched)".length));
  const plotWidth = WIDTH - LEFT - right;
  const span = Math.max(steps[steps.length - 1]!.at, 1);
  // A fold, not Math.max(...steps): a run has up to 100,000 steps, too many arguments for a call.
  const maxY = niceCeiling(steps.reduce((max, s) => Math.max(max, s.totalReplicas, sum(s.members.map((m) => m.readyReplicas))), 1));
  const x = (at: number) => LEFT + (at / span) * plotWidth;
  const y = (replicas: number) => TOP + PLOT_HEIGHT - (replicas / maxY) * PLOT_HEIGHT;
  const xs = steps.map((s) => x(s.at));
  const bottom = TOP + PLOT_HEIGHT;
  // The legend runs down beside the plot (members, total, outage); with many members, past it.
  const legendBottom = TOP + (names.length + 2) * LEGEND_ROW;
  const bandsTop = Math.max(bottom + 44, legendBottom + 24);
  const stateColour = stateColours(steps);
  const statesTop = bandsTop + names.length * (BAND + BAND_GAP) + 8;
  const height = statesTop + 30;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11" role="img">`,
    `<title>${escape(title)}</title>`,
    `<defs>${names.map((_, i) => hatch(`hatch-${i}`, colourOf(i))).join("")}${hatch("hatch-outage", "#212529")}</defs>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="24" font-size="15" font-weight="bold">${escape(title)}</text>`,
  ];

  // Replica axis: grid lines first so everything else draws over them.
  const yStep = niceStep(maxY, 6);
  for (let v = 0; v <= maxY; v += yStep) {
    out.push(`<line x1="${LEFT}" y1="${n(y(v))}" x2="${LEFT + plotWidth}" y2="${n(y(v))}" stroke="#e9ecef"/>`);
    out.push(`<text x="${LEFT - 6}" y="${n(y(v) + 4)}" text-anchor="end">${v}</text>`);
  }
  out.push(`<text transform="translate(14 ${TOP + PLOT_HEIGHT / 2}) rotate(-90)" text-anchor="middle">ready replicas</text>`);

  // Outages under the areas: a member's pods may keep serving while the hub cannot reach it.
  names.forEach((name, i) => {
    for (const [from, to] of runsOf(steps, (s) => !s.members[i]!.reachable)) {
      const label = `${name} unreachable from ${formatDuration(steps[from]!.at)} to ${formatDuration(steps[to]!.at)}`;
      out.push(`<rect class="outage" data-member="${escape(name)}" x="${n(xs[from]!)}" y="${TOP}" width="${n(xs[to]! - xs[from]!)}" height="${PLOT_HEIGHT}" fill="url(#hatch-${i})"><title>${escape(label)}</title></rect>`);
    }
  });

  // Stacked ready replicas, in member order from the bottom.
  const below = steps.map(() => 0);
  names.forEach((name, i) => {
    const lower = [...below];
    steps.forEach((s, k) => (below[k]! += s.members[i]!.readyReplicas));
    const upperLine = stepLine(xs, below.map(y));
    const lowerLine = stepLine(xs, lower.map(y)).reverse();
    out.push(`<path class="ready" data-member="${escape(name)}" d="${pathOf([...upperLine, ...lowerLine])}Z" fill="${colourOf(i)}" fill-opacity="0.85"><title>${escape(`${name}: ready replicas`)}</title></path>`);
  });

  out.push(`<path class="total" d="${pathOf(stepLine(xs, steps.map((s) => y(s.totalReplicas))))}" fill="none" stroke="#212529" stroke-width="2"/>`);
  out.push(`<rect x="${LEFT}" y="${TOP}" width="${plotWidth}" height="${PLOT_HEIGHT}" fill="none" stroke="#adb5bd"/>`);

  // Time axis, in the units an operator writes durations in.
  const tick = timeStep(span);
  for (let at = 0; at <= span; at += tick) {
    out.push(`<line x1="${n(x(at))}" y1="${bottom}" x2="${n(x(at))}" y2="${bottom + 4}" stroke="#495057"/>`);
    out.push(`<text x="${n(x(at))}" y="${bottom + 16}" text-anchor="middle">${formatDuration(at)}</text>`);
  }

  // One state band per member, on the same time axis.
  out.push(`<text x="${LEFT}" y="${bandsTop - 8}" font-weight="bold">member states</text>`);
  names.forEach((name, i) => {
    const top = bandsTop + i * (BAND + BAND_GAP);
    for (const [from, to, state] of stateRuns(steps, i)) {
      const width = Math.max(xs[to]! - xs[from]!, 1);
      out.push(`<rect class="state" data-member="${escape(name)}" x="${n(xs[from]!)}" y="${top}" width="${n(width)}" height="${BAND}" fill="${stateColour.get(state)}"><title>${escape(`${name}: ${state} from ${formatDuration(steps[from]!.at)}`)}</title></rect>`);
    }
    // Reachability is not a state (a member may come back Recovering or stay Excluded): it is hatched over the band.
    for (const [from, to] of runsOf(steps, (s) => !s.members[i]!.reachable)) {
      out.push(`<rect class="outage-band" x="${n(xs[from]!)}" y="${top}" width="${n(xs[to]! - xs[from]!)}" height="${BAND}" fill="url(#hatch-outage)"/>`);
    }
    out.push(`<text x="${LEFT + plotWidth + 8}" y="${top + BAND - 1}">${escape(name)}</text>`);
  });
  let legendX = LEFT;
  for (const [state, colour] of stateColour) {
    out.push(`<rect x="${legendX}" y="${statesTop}" width="10" height="10" fill="${colour}"/><text x="${legendX + 14}" y="${statesTop + 9}">${escape(state)}</text>`);
    legendX += 24 + CHAR_WIDTH * state.length;
  }

  // Legend: members, then the total line and the outage hatch.
  const legendLeft = LEFT + plotWidth + 16;
  const legend = (row: number, kind: string, swatch: (top: number) => string, label: string) => {
    const top = TOP + row * LEGEND_ROW;
    out.push(`<g class="legend-${kind}">${swatch(top)}<text x="${legendLeft + 18}" y="${top + 10}">${escape(label)}</text></g>`);
  };
  names.forEach((name, i) => legend(i, "member", (top) => `<rect x="${legendLeft}" y="${top}" width="12" height="12" fill="${colourOf(i)}"/>`, name));
  legend(names.length, "total", (top) => `<line x1="${legendLeft}" y1="${top + 6}" x2="${legendLeft + 12}" y2="${top + 6}" stroke="#212529" stroke-width="2"/>`, "total replicas");
  legend(names.length + 1, "outage", (top) => `<rect x="${legendLeft}" y="${top}" width="12" height="12" fill="url(#hatch-outage)" stroke="#adb5bd"/>`, "unreachable (hatched)");

  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

function colourOf(index: number): string {
  return MEMBER_COLOURS[index % MEMBER_COLOURS.length]!;
}

/** Diagonal lines in a member's colour: shading that still lets the areas beneath show. */
function hatch(id: string, colour: string): string {
  return `<pattern id="${id}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="${colour}" fill-opacity="0.08"/><line x1="0" y1="0" x2="0" y2="6" stroke="${colour}" stroke-width="2" stroke-opacity="0.4"/></pattern>`;
}

/** The states that occur, in order of first appearance, each with its colour. */
function stateColours(steps: readonly FleetStep[]): Map<string, string> {
  const colours = new Map<string, string>();
  let others = 0;
  for (const step of steps) {
    for (const { state } of step.members) {
      if (colours.has(state)) continue;
      colours.set(state, STATE_COLOURS[state] ?? OTHER_STATE_COLOURS[others++ % OTHER_STATE_COLOURS.length]!);
    }
  }
  return colours;
}

/** Index ranges [from, to) of consecutive steps where `holds` is true; `to` is the step it ends at (or the last). */
function runsOf(steps: readonly FleetStep[], holds: (step: FleetStep) => boolean): [number, number][] {
  const runs: [number, number][] = [];
  let start: number | undefined;
  steps.forEach((step, k) => {
    if (holds(step) && start === undefined) start = k;
    if (!holds(step) && start !== undefined) {
      runs.push([start, k]);
      start = undefined;
    }
  });
  if (start !== undefined) runs.push([start, steps.length - 1]);
  return runs;
}

/** A member's state as ranges [from, to) of step indexes; the last range ends at the last step. */
function stateRuns(steps: readonly FleetStep[], member: number): [number, number, string][] {
  const runs: [number, number, string][] = [];
  steps.forEach((step, k) => {
    const state = step.members[member]!.state;
    const last = runs[runs.length - 1];
    if (last && last[2] === state) return;
    if (last) last[1] = k;
    runs.push([k, steps.length - 1, state]);
  });
  return runs;
}

/** A value that holds from one step to the next, as the corners of a staircase. */
function stepLine(xs: readonly number[], ys: readonly number[]): [number, number][] {
  const points: [number, number][] = [[xs[0]!, ys[0]!]];
  for (let k = 1; k < xs.length; k++) {
    if (ys[k] !== ys[k - 1]) points.push([xs[k]!, ys[k - 1]!], [xs[k]!, ys[k]!]);
  }
  points.push([xs[xs.length - 1]!, ys[ys.length - 1]!]);
  return points;
}

function pathOf(points: readonly [number, number][]): string {
  return points.map(([px, py], i) => `${i === 0 ? "M" : "L"}${n(px)} ${n(py)}`).join(" ");
}

/** 1, 2 or 5 times a power of ten, so that `max` spans at most `ticks` of them; whole replicas. */
function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  if (raw <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((f) => f * power).find((s) => s >= raw)!;
}

function niceCeiling(max: number): number {
  const step = niceStep(max, 6);
  return Math.max(1, Math.ceil(max / step) * step);
}

const TIME_STEPS_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500,
  1_000, 2_000, 5_000, 10_000, 15_000, 30_000,
  60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
  3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
];

/** A round tick interval giving at most ten ticks; whole days beyond the table. */
function timeStep(span: number): number {
  return TIME_STEPS_MS.find((s) => span / s <= 10) ?? Math.ceil(span / 10 / 86_400_000) * 86_400_000;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** Coordinates to a tenth of a pixel: short, and the same on every machine. */
function n(value: number): string {
  return String(Math.round(value * 10) / 10);
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
