import type { z } from "zod";

/** One problem with an input, located by the path of the offending field. */
export interface FieldProblem {
  path: string;
  message: string;
}

/** Raised for invalid input; lists every problem, each with its field path. */
export class ValidationError extends Error {
  constructor(
    readonly subject: string,
    readonly problems: FieldProblem[],
  ) {
    super(`invalid ${subject}:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n")}`);
    this.name = "ValidationError";
  }
}

/** Renders a zod path the way it is written in YAML tooling: spec.memberClusters[1].weight. */
export function formatPath(path: readonly PropertyKey[], root = ""): string {
  let text = root;
  for (const key of path) {
    if (typeof key === "number") text += `[${key}]`;
    else text += text === "" || text.endsWith(":") ? String(key) : `.${String(key)}`;
  }
  return text === "" ? "(root)" : text;
}

/** Parses `input` with `schema`, or throws a ValidationError naming every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, subject: string, root = ""): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(subject, fieldProblems(result.error, root));
}

/** One problem per zod issue, located by its field path under `root`. */
export function fieldProblems(error: z.ZodError, root = ""): FieldProblem[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path, root), message: messageOf(issue) }));
}

/**
 * The candidate a mistyped name most likely meant: the nearest by edit distance (ignoring
 * case), if it is within a third of its length (at least 1), so "workload" suggests
 * "workloads" but "x" suggests nothing.
 */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance <= Math.max(1, Math.floor(candidate.length / 3)) && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/** Levenshtein distance: insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** A bad map key (a member or workload name) carries its reason in nested issues. */
function messageOf(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_key") return `invalid name: ${issue.issues.map((inner) => inner.message).join("; ")}`;
  return issue.message;
}
