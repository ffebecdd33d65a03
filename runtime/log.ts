/**
 * Structured JSON logs. Member credentials pass through this process (Secret data,
 * kubeconfigs, tokens); the redaction list is the safety net should one ever reach a
 * log call, the code itself never logs them.
 */
import pino from "pino";

export type Logger = pino.Logger;

const REDACTED_PATHS = [
  "kubeconfig",
  "token",
  "data",
  "headers.authorization",
  "*.kubeconfig",
  "*.token",
  "*.data",
  "*.headers.authorization",
  "*.*.kubeconfig",
  "*.*.token",
];

export function createLogger(options: { level: string; identity: string; destination?: pino.DestinationStream | undefined }): Logger {
  return pino(
    {
      name: "fleetscale-runtime",
      level: options.level,
      base: { identity: options.identity },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination(1),
  );
}
