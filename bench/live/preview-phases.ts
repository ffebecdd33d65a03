/**
 * Where a `pulumi preview` spends its time, from the engine's own log (`-v=7 --logtostderr
 * --logflow`: one JSON line per event, with a timestamp). Only the timestamps of a few
 * landmark events are kept; the log itself holds secrets (provider configs) and is dropped.
 */

/** Landmarks in the order a preview passes them; each is the first (or last) matching event. */
const LANDMARKS: readonly { name: string; pattern: RegExp; last?: boolean }[] = [
  { name: "language host asked to run the program", pattern: /langhost\[nodejs\]\.Run\(.*executing/ },
  { name: "program's node started, SDK loaded (Stack registered)", pattern: /RegisterResource received: t=pulumi:pulumi:Stack/ },
  { name: "program's modules loaded (Fleet registered)", pattern: /RegisterResource received: t=fleetscale:index:Fleet,/ },
  { name: "first Kubernetes provider started", pattern: /GetPluginInfo\(\) success \(#version=4\./ },
  { name: "last Kubernetes provider started (one at a time)", pattern: /GetPluginInfo\(\) success \(#version=4\./, last: true },
  { name: "last Kubernetes resource diffed", pattern: /Provider\[\w+\]\.Diff\(.*kubernetes:.*success/, last: true },
  { name: "DistributedReplicas registered (after all it depends on)", pattern: /normalizeProviderRequest\(pulumi-nodejs\)/ },
  { name: "dynamic provider started", pattern: /GetPluginInfo\(\) success \(#version=3\./ },
  { name: "DistributedReplicas diffed", pattern: /Diff\(.*DistributedReplicas.*success/, last: true },
  { name: "program exited", pattern: /Program exited/ },
  { name: "preview complete", pattern: /Update\(preview=true\) complete/ },
];

export interface Phase {
  name: string;
  /** Seconds since the command was started. */
  at: number;
}

/** The landmarks found in `log` (stderr of the command), as seconds since `startedAtMs`. */
export function previewPhases(log: string, startedAtMs: number): Phase[] {
  const events: { at: number; message: string }[] = [];
  for (const line of log.split("\n")) {
    const start = line.indexOf('{"time":');
    if (start < 0) continue;
    try {
      const event = JSON.parse(line.slice(start)) as { time: string; msg: string };
      events.push({ at: (Date.parse(event.time) - startedAtMs) / 1000, message: event.msg });
    } catch {
      // not an engine log line
    }
  }
  const phases: Phase[] = [];
  for (const { name, pattern, last } of LANDMARKS) {
    const matching = events.filter((event) => pattern.test(event.message));
    const event = last ? matching.at(-1) : matching[0];
    if (event) phases.push({ name, at: event.at });
  }
  return phases;
}

/** Verbose engine logging to stderr, as previewPhases reads it. */
export const PHASE_LOG_FLAGS = ["-v=7", "--logtostderr", "--logflow"];
