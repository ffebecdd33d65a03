import { z } from "zod";
import { DURATION_PATTERN } from "../engine/duration";

/** A duration field as written in manifests and stack config. */
export const durationString = z
  .string()
  .regex(DURATION_PATTERN, 'must be a duration such as "30s", "1m" or "1m30s" (units: ms, s, m, h)');
