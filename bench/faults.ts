/**
 * Fault injection against the real runtime on a local fleet (hub + 3 members), ending
 * with one summary line:
 *  1. invalid input: 1,000 generated invalid DSOs through the zod schema (the runtime's
 *     validation path) and 1,000 generated stack configs through loadStackConfig; then
 *     the same 1,000 DSOs sent to the hub API server, with the runtime running: each is
 *     refused by the API server or marked InvalidSpec by the runtime, naming the field;
 *     no replica moves;
 *  2. the runtime stopped 20 times at random moments during a weight change, a new one
 *     started each time: convergence, and DSO status never lost (a hub watch checks every
 *     status version);
 *  3. a member flapping for 5 minutes: outages shorter than the grace period, then
 *     longer; replica moves counted (member scale writes);
 *  4. a member credential revoked (its ServiceAccount deleted) and one replaced by an
 *     invalid token: a named Unauthorized state, no crash.
 *
 * Run: node dist/bench/faults.js [kills] [flap minutes]
 */
import { performance } from "node:perf_hooks";
import type * as k8s from "@kubernetes/client-node";
import { MEMBER_LABEL } from "../components/labels";
import { dsoSchema } from "../schema/dso";
import { API_GROUP, API_VERSION, PLURAL } from "../schema/dso-names";
import { loadStackConfig } from "../schema/stack-config";
import { ValidationError, parseOrThrow } from "../schema/validate";
import { onboardMember } from "../test/support/onboard";
import { eventually } from "../test/support/workloads";
import { ObjectWatch } from "./live/object-watch";
import { type Generated, DSO_MEMBERS, configReader, invalidDsos, invalidStackConfigs, reported } from "./live/invalid-inputs";
import {
  type BenchFleet,
  type DsoStatusView,
  type Running,
  HUB_NAMESPACE,
  counter,
  deploymentList,
  dsoManifest,
  dsoStatus,
  fmt,
  load,
  machine,
  max,
  median,
  min,
  patchDso,
  progress,
  sleep,
  startBenchRuntime,
  startFleet,
  table,
  runBench,
} from "./live/support";
import { ReplicaWatch } from "./live/watch-replicas";

const MEMBERS = DSO_MEMBERS;
const KILLS = Number(process.argv[2] ?? 20);
const FLAP_MS = Number(process.argv[3] ?? 5) * 60_000;
const INVALID = 1000;

type Dso = { metadata?: { name?: string; generation?: number }; status?: DsoStatusView };
const results: string[][] = [];
const summary: string[] = [];
const failures: string[] = [];

// ---------------------------------------------------------------- 1a. invalid input, offline

function checkOffline(kind: string, cases: Generated[], validate: (input: Record<string, unknown>) => void): void {
  let withPath = 0;
  let namedAll = 0;
  const crashes = new Map<string, number>();
  const accepted: string[] = [];
  const incomplete = new Map<string, string>();
  const t0 = performance.now();
  for (const c of cases) {
    try {
      validate(c.input);
      accepted.push(c.mutations.join(" + "));
    } catch (error) {
      if (!(error instanceof ValidationError)) {
        const key = `${(error as Error).name}: ${(error as Error).message.split("\n")[0]}`;
        crashes.set(key, (crashes.get(key) ?? 0) + 1);
        incomplete.set(`crash ${key}`, c.mutations.join(" + "));
        continue;
      }
      const paths = error.problems.map((p) => p.path);
      if (paths.some((p) => p !== "(root)")) withPath++;
      const absent = c.expect.filter((p) => !reported(p, paths));
      if (absent.length === 0) namedAll++;
      else incomplete.set(`${c.mutations.join(" + ")}: ${absent.join(", ")} not reported`, `reported only ${paths.join(", ")}`);
    }
  }
  const ms = performance.now() - t0;
  const crashCount = [...crashes.values()].reduce((a, b) => a + b, 0);
  results.push([
    `${cases.length} generated invalid ${kind}`,
    `${cases.length - accepted.length - crashCount} rejected with a ValidationError, ${withPath} with a field path, ${namedAll} naming every mutated field; ${accepted.length} accepted; ${crashCount} crashed (other exception${crashes.size > 0 ? `: ${[...crashes].map(([k, n]) => `${n} x ${k}`).join("; ")}` : ""})`,
    `${fmt(ms)} ms`,
  ]);
  for (const a of new Set(accepted)) failures.push(`${kind}: accepted ${a}`);
  for (const [what, detail] of [...incomplete].slice(0, 12)) failures.push(`${kind}: ${what} (${detail})`);
  summary.push(`${kind.split(" ")[0]} ${withPath}/${cases.length} rejected with a field path${crashCount > 0 ? `, ${crashCount} CRASHED` : ""}`);
}

// ---------------------------------------------------------------- fleet phases

async function main(): Promise<void> {
  process.stderr.write(`# faults on ${machine()}\n`);
  const dsos = invalidDsos(INVALID, 20_261_122, "sentinel");
  checkOffline("DSOs (dsoSchema, as the runtime parses them)", dsos, (input) => {
    parseOrThrow(dsoSchema, input, "DistributedScaledObject");
  });
  checkOffline("stack configs (loadStackConfig)", invalidStackConfigs(INVALID, 20_261_123), (input) => {
    loadStackConfig(configReader(input));
  });
  progress("offline validation done");

  let bench: BenchFleet | undefined;
  let runtime: Running | undefined;
  let watch: ReplicaWatch | undefined;
  let dsoWatch: ObjectWatch<Dso> | undefined;
  try {
    bench = await startFleet(MEMBERS);
    const { fleet, custom } = bench;
    for (const m of MEMBERS) await bench.kubectlInput(m, deploymentList(["web", "sentinel"], 3), "apply", "-f", "-");
    runtime = await startBenchRuntime(fleet, "faults-0");
    const writes = () => counter(runtime!, "fleetscale_member_scale_writes_total");

    // ------------------------------------------------ 1b. the same invalid DSOs through the hub and the runtime
    {
      const online = dsos.filter((d) => !d.offlineOnly);
      const writesBefore = await writes();
      const t0 = performance.now();
      let refusedByApi = 0;
      let refusedWithPath = 0;
      const admitted = new Map<string, Generated>();
      const otherErrors: string[] = [];
      const queue = [...online];
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let c = queue.shift(); c; c = queue.shift()) {
            try {
              // Strict field validation, as kubectl sends by default: unknown fields are refused, not pruned.
              await custom.createNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: "default", plural: PLURAL, body: c.input, fieldValidation: "Strict" });
              admitted.set(c.input.metadata.name as string, c);
            } catch (error) {
              const e = error as { code?: number; body?: string };
              if (e.code === 422 || e.code === 400) {
                refusedByApi++;
                // The API server names fields as spec.memberClusters[0].weight too.
                const body = String(e.body ?? "");
                if (/(spec|metadata)\.[A-Za-z]/.test(body)) refusedWithPath++;
                else otherErrors.push(body.slice(0, 200));
              } else otherErrors.push(`${e.code}: ${String(e.body ?? error).slice(0, 200)}`);
            }
          }
        }),
      );
      const created = performance.now();
      progress(`${online.length} invalid DSOs sent: ${refusedByApi} refused by the API server, ${admitted.size} admitted`);
      // Every admitted one must get Ready=False/InvalidSpec naming each mutated field the runtime checks.
      let invalidSpec = 0;
      let namedAll = 0;
      let ranAsValid = 0;
      const unnamed: string[] = [];
      await eventually(
        "a Ready condition on every admitted DSO",
        async () => {
          const list = (await custom.listNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: "default", plural: PLURAL })) as { items: (Dso & { metadata: { name: string } })[] };
          return list.items.filter((d) => admitted.has(d.metadata.name) && d.status?.conditions?.some((c) => c.type === "Ready"));
        },
        (done) => {
          if (done.length < admitted.size) return false;
          for (const d of done) {
            const ready = d.status!.conditions!.find((c) => c.type === "Ready")!;
            const c = admitted.get(d.metadata.name)!;
            if (ready.reason !== "InvalidSpec") {
              ranAsValid++;
              failures.push(`hub DSOs: admitted and run as valid: ${c.mutations.join(" + ")} (${ready.reason})`);
              continue;
            }
            invalidSpec++;
            const message = ready.message;
            if (c.expect.every((p) => message.includes(`${p}:`) || message.includes(`${p}.`) || message.includes(`${p}[`))) namedAll++;
            else unnamed.push(`${c.mutations.join(" + ")} -> ${message.slice(0, 160)}`);
          }
          return true;
        },
        180_000,
      );
      const settled = performance.now();
      await sleep(3_000);
      const moved = (await writes()) - writesBefore;
      const sentinel = await Promise.all(MEMBERS.map((m) => bench!.kubectl(m, "get", "deploy", "sentinel", "-o", "jsonpath={.spec.replicas}")));
      const alive = runtime.handle.isLeader();
      results.push([
        `the ${online.length} of them a client can send, created in the hub (8 in parallel)`,
        `${refusedByApi} refused by the API server (${refusedWithPath} naming the field); ${admitted.size} admitted, of which ${invalidSpec} Ready=False/InvalidSpec (${namedAll} naming every mutated field) and ${ranAsValid} run as valid; ${moved} member writes; sentinel replicas ${sentinel.join("/")} (were 3/3/3); runtime ${alive ? "alive and leading" : "NOT LEADING"}`,
        `${fmt((created - t0) / 1000, 1)} s to send, ${fmt((settled - created) / 1000, 1)} s more to InvalidSpec`,
      ]);
      for (const e of new Set(otherErrors)) failures.push(`hub DSOs: unexpected response ${e}`);
      for (const u of unnamed.slice(0, 10)) failures.push(`hub DSOs: InvalidSpec without the field: ${u}`);
      summary.push(`hub ${refusedByApi + namedAll}/${online.length} refused or InvalidSpec with field path, ${moved} replicas moved`);
      await bench.kubectl("hub", "delete", "dso", "--all", "-n", "default", "--wait=false");
      await eventually("invalid DSOs gone", () => bench!.kubectl("hub", "get", "dso", "-n", "default", "-o", "name"), (s) => s.trim() === "", 120_000);
      progress("invalid DSOs done");
    }

    // ------------------------------------------------ 2. runtime stopped mid-rebalance, 20 times
    {
      fleet.apply("hub", dsoManifest("web", { members: MEMBERS.map((name) => ({ name, weight: 1 })), total: 30, grace: "5s", maxRebalancePercentage: 10 }));
      watch = new ReplicaWatch(fleet, MEMBERS, "web");
      await watch.start();
      await watch.until((seen) => MEMBERS.every((m) => seen.get(m)?.desired === 10 && seen.get(m)?.ready === 10), 120_000);
      // Status is never lost: after the first status, every version of the DSO must carry one for all members.
      let statusVersions = 0;
      let lostStatus = 0;
      let hadStatus = false;
      dsoWatch = new ObjectWatch<Dso>(fleet.kubeconfig("hub"), `/apis/${API_GROUP}/${API_VERSION}/namespaces/default/${PLURAL}`);
      dsoWatch.onEvent = (key, entry) => {
        if (!key.endsWith("/web") || !entry) return;
        statusVersions++;
        const complete = MEMBERS.every((m) => entry.object.status?.memberClusterStatuses?.[m] !== undefined);
        if (complete) hadStatus = true;
        else if (hadStatus) lostStatus++;
      };
      await dsoWatch.start();
      const weightSets = [
        [1, 2, 3],
        [3, 2, 1],
        [1, 1, 1],
        [2, 3, 5],
        [5, 3, 2],
      ];
      const shares = (w: number[]) => {
        // Weights chosen so 30 splits exactly.
        const sum = w.reduce((a, b) => a + b, 0);
        return w.map((x) => (30 * x) / sum);
      };
      let seed = 7;
      const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
      const converge: number[] = [];
      const stopDelays: number[] = [];
      let midRebalance = 0;
      let converged = 0;
      let againstPlan = 0;
      let current = [1, 1, 1];
      for (let k = 0; k < KILLS; k++) {
        const weights = weightSets[k % weightSets.length]!.every((w, i) => w === current[i]) ? weightSets[(k + 1) % weightSets.length]! : weightSets[k % weightSets.length]!;
        const target = shares(weights);
        const before = MEMBERS.map((m) => watch!.seen.get(m)!.desired!);
        await patchDso(custom, "web", weights.map((w, i) => ({ op: "replace", path: `/spec/memberClusters/${i}/weight`, value: w })));
        const delay = random() * 1_200;
        stopDelays.push(delay);
        await sleep(delay);
        await runtime.handle.stop();
        const at = MEMBERS.map((m) => watch!.seen.get(m)!.desired!);
        if (at.some((r, i) => r !== target[i])) midRebalance++;
        const s = await dsoStatus(custom, "web");
        if (!MEMBERS.every((m) => s.memberClusterStatuses?.[m])) lostStatus++;
        const t0 = performance.now();
        runtime = await startBenchRuntime(fleet, `faults-${k + 1}`);
        try {
          await watch.until((seen) => MEMBERS.every((m, i) => seen.get(m)?.desired === target[i] && seen.get(m)?.ready === target[i]), 120_000);
          await eventually(
            "status converged",
            () => dsoStatus(custom, "web"),
            (st) => st.conditions?.find((c) => c.type === "Ready")?.status === "True" && MEMBERS.every((m, i) => st.memberClusterStatuses?.[m]?.desiredReplicas === target[i]),
            60_000,
          );
          converge.push(performance.now() - t0);
          converged++;
          // Each write of the new runtime continues towards the target, never back.
          for (const w of runtime.lines.filter((l) => l.msg === "scaled")) {
            const i = MEMBERS.indexOf(w.member!);
            const towards = Math.sign(target[i]! - before[i]!);
            if (Math.sign(w.to! - w.from!) !== towards && !(w.from === 0 && towards === 0)) againstPlan++;
          }
        } catch (error) {
          failures.push(`kill ${k + 1}: no convergence to ${target.join("/")}: ${(error as Error).message.slice(0, 200)}`);
        }
        current = weights;
        progress(`kill ${k + 1}/${KILLS} after ${fmt(delay)} ms (specs then ${at.join("/")}, target ${target.join("/")})`);
      }
      dsoWatch.stop();
      dsoWatch = undefined;
      results.push([
        `runtime stopped ${KILLS} times 0-1.2 s after a weight change (maxRebalancePercentage 10), a new one started`,
        `${midRebalance} stopped mid-rebalance; ${converged}/${KILLS} converged (median ${fmt(median(converge) / 1000, 1)} s, min ${fmt(min(converge) / 1000, 1)}, max ${fmt(max(converge) / 1000, 1)}, from the new start to specs, pods and status at the target); ${againstPlan} writes against the plan; status lost in ${lostStatus} of ${statusVersions} watched versions`,
        load(),
      ]);
      summary.push(`kills ${converged}/${KILLS} converged (${midRebalance} mid-rebalance), status lost ${lostStatus}`);
    }

    // ------------------------------------------------ 3. a member flapping
    {
      // Grace 30 s: `fleet stop` + an immediate `fleet start` (5-20 s unreachable here, the stop command being slow under load) stays inside it; 45 s outages do not.
      await patchDso(custom, "web", [
        ...[1, 1, 1].map((w, i) => ({ op: "replace", path: `/spec/memberClusters/${i}/weight`, value: w })),
        { op: "replace", path: "/spec/rebalancingPolicy/gracePeriod", value: "30s" },
        { op: "replace", path: "/spec/rebalancingPolicy/maxRebalancePercentage", value: 25 },
      ]);
      await watch.until((seen) => MEMBERS.every((m) => seen.get(m)?.desired === 10 && seen.get(m)?.ready === 10), 120_000);
      const phase = async (label: string, downMs: number, upMs: number, durationMs: number) => {
        const w0 = await writes();
        const end = performance.now() + durationMs;
        const outages: number[] = [];
        let states = new Set<string>();
        while (performance.now() < end) {
          const t0 = performance.now();
          await bench!.fleetCommand("stop", "member-3");
          await sleep(Math.max(0, downMs - (performance.now() - t0)));
          await bench!.fleetCommand("start", "member-3");
          outages.push(performance.now() - t0);
          const s = await dsoStatus(custom, "web");
          states.add(s.memberClusterStatuses?.["member-3"]?.state ?? "?");
          await sleep(upMs);
        }
        // Let the last cycle settle before counting.
        await watch!.until((seen) => MEMBERS.every((m) => seen.get(m)?.desired === 10), 120_000);
        await sleep(2_000);
        const moves = (await writes()) - w0;
        results.push([
          `member-3 flapping, ${label}: ${outages.length} outages of ${fmt(median(outages) / 1000, 1)} s median (${fmt(min(outages) / 1000, 1)}-${fmt(max(outages) / 1000, 1)}), grace 30 s`,
          `${moves} member scale writes (${fmt(moves / outages.length, 1)} per outage); member-3 states seen right after restarts: ${[...states].join(", ")}`,
          load(),
        ]);
        states = new Set();
        return { moves, outages: outages.length };
      };
      const short = await phase("shorter than grace (stop, start at once, 10 s up)", 0, 10_000, FLAP_MS / 2);
      const long = await phase("longer than grace (45 s down, 45 s up)", 45_000, 45_000, FLAP_MS / 2);
      summary.push(`flapping: ${short.moves} moves in ${short.outages} short outages, ${long.moves} in ${long.outages} long ones`);
    }

    // ------------------------------------------------ 4. revoked and invalid member credentials
    {
      await patchDso(custom, "web", [{ op: "replace", path: "/spec/rebalancingPolicy/gracePeriod", value: "5s" }]);
      const unauthorized = async (label: string, revoke: () => Promise<void>) => {
        const t0 = performance.now();
        await revoke();
        const s = await eventually("member-3 Unauthorized", () => dsoStatus(custom, "web"), (st) => st.memberClusterStatuses?.["member-3"]?.state === "Unauthorized" || st.memberClusterStatuses?.["member-3"]?.state === "Excluded", 60_000);
        const detected = performance.now() - t0;
        const state = s.memberClusterStatuses!["member-3"]!;
        const excluded = await eventually("member-3 Excluded after grace", () => dsoStatus(custom, "web"), (st) => st.memberClusterStatuses?.["member-3"]?.state === "Excluded", 60_000);
        await watch!.until((seen) => seen.get("member-1")?.desired === 15 && seen.get("member-2")?.desired === 15, 60_000);
        results.push([
          `member-3 credential ${label}`,
          `state ${state.state} ("${state.description.slice(0, 90)}") after ${fmt(detected)} ms; Excluded after the grace (${excluded.memberClusterStatuses!["member-3"]!.description.slice(0, 60)}), its 10 replicas moved to 15/15; runtime ${runtime!.handle.isLeader() ? "alive and leading" : "NOT LEADING"}`,
          load(),
        ]);
        return state.state;
      };
      const restore = async () => {
        onboardMember(fleet, { hub: "hub", member: "member-3", hubNamespace: HUB_NAMESPACE });
        await watch!.until((seen) => MEMBERS.every((m) => seen.get(m)?.desired === 10), 120_000);
      };
      const a = await unauthorized("revoked (ServiceAccount fleetscale/fleetscale-scaler deleted)", async () => {
        await bench!.kubectl("member-3", "delete", "serviceaccount", "fleetscale-scaler", "-n", "fleetscale");
      });
      await restore();
      const b = await unauthorized("replaced by an invalid token (hub Secret rewritten)", async () => {
        const secret = `fleetscale-member-member-3`;
        const current = Buffer.from(await bench!.kubectl("hub", "get", "secret", secret, "-n", HUB_NAMESPACE, "-o", "jsonpath={.data.kubeconfig}"), "base64").toString("utf8");
        const forged = current.replace(/token: (\S+)/, (_, t: string) => `token: ${t.slice(0, -8)}AAAAAAAA`);
        fleet.apply("hub", { apiVersion: "v1", kind: "Secret", metadata: { name: secret, namespace: HUB_NAMESPACE, labels: { [MEMBER_LABEL]: "member-3" } }, data: { kubeconfig: Buffer.from(forged).toString("base64") } });
      });
      await restore();
      summary.push(`credentials: revoked -> ${a}, forged -> ${b}, runtime ${runtime.handle.isLeader() ? "alive" : "DEAD"}`);
    }
  } finally {
    watch?.stop();
    dsoWatch?.stop();
    await runtime?.handle.stop().catch(() => undefined);
    bench?.fleet.down();
  }

  console.log(`Fault injection, hub + 3 members (${machine()})\n`);
  console.log(table(["fault", "outcome", "time / load"], results, 99));
  if (failures.length > 0) console.log(`\nProblems found (${failures.length}):\n${failures.slice(0, 40).map((f) => `- ${f}`).join("\n")}`);
  console.log(`\nSUMMARY: ${summary.join("; ")}; ${failures.length} problems`);
}

runBench(main);

export type { k8s };
