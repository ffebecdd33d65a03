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
  throw new ValidationError(
    subject,
    result.error.issues.map((issue) => ({ path: formatPath(issue.path, root), message: messageOf(issue) })),
  );
}

/** A bad map key (a member or workload name) carries its reason in nested issues. */
function messageOf(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_key") return `invalid name: ${issue.issues.map((inner) => inner.message).join("; ")}`;
  return issue.message;
}
