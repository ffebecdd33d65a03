import { z } from "zod";
import { DURATION_PATTERN, parseDuration } from "../engine/duration";

/** A duration field as written in manifests and stack config. */
export const durationString = z
  .string()
  .regex(DURATION_PATTERN, 'must be a duration such as "30s", "1m" or "1m30s" (units: ms, s, m, h)')
  // The engine counts milliseconds in whole numbers: a longer one would only fail there, unnamed.
  .refine((text) => !DURATION_PATTERN.test(text) || Number.isSafeInteger(parseDuration(text)), "is too long to count in milliseconds");
