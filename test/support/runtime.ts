/** The scaler runtime as the fleet tests run it: in this process, against a real hub, fast probes, logs to the test. */
import { DEFAULT_OPTIONS } from "../../runtime/options";
import { type RuntimeHandle, type StartOptions, startRuntime } from "../../runtime/runtime";

export function startTestRuntime(
  hubKubeconfig: string,
  namespace: string,
  identity: string,
  onLogLine: (line: string) => void,
  overrides: Partial<StartOptions> = {},
): Promise<RuntimeHandle> {
  return startRuntime({
    ...DEFAULT_OPTIONS,
    kubeconfig: hubKubeconfig,
    namespace,
    probeIntervalMs: 1_000,
    memberTimeoutMs: 2_000,
    healthPort: 0,
    metricsPort: 0,
    identity,
    logLevel: "info",
    logDestination: { write: onLogLine },
    ...overrides,
  });
}
