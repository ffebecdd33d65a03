import { z } from "zod";

/**
 * A whole number typed on the command line. Digits only: Number() would also read "" as
 * 0, "0x10" as 16, "1e3" as 1000 and " 5 " as 5, and plan or store a number nobody typed.
 */
export const decimalDigits = z
  .string()
  .regex(/^\d+$/, { error: (issue) => `must be a whole number in decimal digits, not ${JSON.stringify(issue.input)}` })
  .transform(Number);
