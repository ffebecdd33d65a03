/**
 * Calls every member in parallel and keeps each member's result or error apart, so
 * one failing member never hides the others' results nor fails the whole operation.
 */
import { MemberError } from "./client";

export type MemberOutcome<T> = { member: string; ok: true; value: T } | { member: string; ok: false; error: MemberError };

export async function fanOut<T>(members: readonly string[], run: (member: string) => Promise<T>): Promise<MemberOutcome<T>[]> {
  const settled = await Promise.allSettled(members.map((member) => run(member)));
  return settled.map((result, i): MemberOutcome<T> => {
    const member = members[i]!;
    if (result.status === "fulfilled") return { member, ok: true, value: result.value };
    const error = result.reason instanceof MemberError ? result.reason : new MemberError(member, "Unreachable", String((result.reason as Error)?.message ?? result.reason));
    return { member, ok: false, error };
  });
}

/** Several members failed; the message names each one and what went wrong there. */
export class FleetError extends Error {
  constructor(
    what: string,
    readonly failures: readonly MemberError[],
  ) {
    const message = `${what} failed on ${failures.length} member${failures.length === 1 ? "" : "s"}:\n${failures.map((f) => `  - ${f.message}`).join("\n")}`;
    super(message);
    // As in MemberError: thrown from the serialized provider, super() would not set it.
    this.message = message;
    this.name = "FleetError";
  }
}

export function failuresOf<T>(outcomes: readonly MemberOutcome<T>[]): MemberError[] {
  return outcomes.flatMap((o) => (o.ok ? [] : [o.error]));
}
