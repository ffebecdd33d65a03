/**
 * `fleetscale member add|list|remove`: member management, after Kedify's
 * setup-member / list-members / delete-member. Add and remove edit the stack's config
 * (secrets stay secret); the next `pulumi up` onboards or offboards the member, and
 * offboarding removes its member-side RBAC too. Every input is validated against the
 * stack config schema before anything is written: a rejected command changes nothing.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { kubeconfigServer } from "../components/kubeconfig";
import { MemberClient } from "../members/client";
import { fanOut } from "../members/fan-out";
import { HubClient } from "../members/hub";
import { memberName } from "../schema/dso";
import { type StackConfig, loadStackConfig, memberConfigSchema } from "../schema/stack-config";
import { ValidationError, parseOrThrow } from "../schema/validate";
import { decimalDigits } from "./decimal";
import { type StackRef, getConfigPath, readRawConfig, removeConfigPath, setConfigPath } from "./stack-config-store";
import { renderTable } from "./table";

export interface AddOptions extends StackRef {
  kubeconfig: string;
  apiUrl?: string | undefined;
  weight?: string | undefined;
  /** Store the kubeconfig file's path instead of its content (a secret). */
  byPath?: boolean | undefined;
}

export function addMember(name: string, options: AddOptions): string {
  parseOrThrow(memberName, name, "member", "<name>");
  const file = resolve(options.kubeconfig);
  let content: string;
  try {
    content = readFileSync(file, "utf8");
    kubeconfigServer(content, file);
  } catch (error) {
    throw new ValidationError("member", [{ path: "--kubeconfig", message: (error as Error).message }]);
  }
  const weight = options.weight === undefined ? undefined : parseOrThrow(decimalDigits, options.weight, "member", "--weight");
  const member = parseMemberOptions({ ...(options.byPath ? { kubeconfigPath: file } : { kubeconfig: content }), apiUrl: options.apiUrl, weight });
  const current = currentConfig(options);
  if (name in current.members) throw new ValidationError("member", [{ path: "<name>", message: `member "${name}" already exists` }]);
  // The whole resulting config must still be valid before the first write.
  const raw = readRawConfig(options);
  const members = { ...JSON.parse(raw.get("members") ?? "{}"), [name]: member };
  loadStackConfig((key) => (key === "members" ? JSON.stringify(members) : raw.get(key)));

  // One value per write (the kubeconfig through stdin, never on a command line); if any
  // write fails, the member is taken out again so no half-added member is left behind.
  try {
    if (options.byPath) setConfigPath(options, `members.${name}.kubeconfigPath`, file);
    else setConfigPath(options, `members.${name}.kubeconfig`, content, { secret: true });
    if (options.apiUrl !== undefined) setConfigPath(options, `members.${name}.apiUrl`, options.apiUrl);
    setConfigPath(options, `members.${name}.weight`, member.weight);
  } catch (error) {
    try {
      removeConfigPath(options, `members.${name}`);
    } catch {
      // Nothing was written, or the rollback failed too: the first error says what happened.
    }
    throw error;
  }
  return `member ${name} added to the stack config; run \`pulumi up\` to onboard it\n`;
}

export function removeMember(name: string, options: StackRef): string {
  const current = currentConfig(options);
  if (!(name in current.members)) throw new ValidationError("member", [{ path: "<name>", message: `no member "${name}" (members: ${Object.keys(current.members).join(", ") || "none"})` }]);
  const listedBy = Object.entries(current.workloads).filter(([, w]) => w.memberClusters.some((m) => m.name === name)).map(([w]) => w);
  if (listedBy.length > 0) {
    throw new ValidationError("member", [{ path: "<name>", message: `member "${name}" is listed by workload${listedBy.length > 1 ? "s" : ""} ${listedBy.join(", ")}: remove it from their memberClusters first` }]);
  }
  removeConfigPath(options, `members.${name}`);
  return `member ${name} removed from the stack config; run \`pulumi up\` to offboard it (its RBAC in the member is deleted)\n`;
}

export interface ListOptions extends StackRef {
  output?: "table" | "json";
}

export interface MemberRow {
  name: string;
  apiUrl: string;
  health: string;
  weight: number;
  workloads: string[];
}

export async function listMembers(options: ListOptions): Promise<string> {
  const config = currentConfig(options);
  const stored = await storedKubeconfigs(config, options);
  const names = Object.keys(config.members).sort();
  const probes = await fanOut(names, async (name) => {
    const kubeconfig = stored instanceof Error ? undefined : stored.get(name);
    if (kubeconfig === undefined) return { apiUrl: "", health: stored instanceof Error ? `unknown: ${stored.message}` : "not onboarded (run pulumi up)" };
    const client = new MemberClient(name, kubeconfig, { timeoutMs: 3_000 });
    await client.probe();
    return { apiUrl: client.server, health: "Ready" };
  });
  const rows: MemberRow[] = names.map((name, i) => {
    const probe = probes[i]!;
    const member = config.members[name]!;
    return {
      name,
      apiUrl: member.apiUrl ?? (probe.ok ? probe.value.apiUrl : "") ?? "",
      health: probe.ok ? probe.value.health : `${probe.error.failure}: ${probe.error.detail}`,
      weight: member.weight,
      workloads: Object.entries(config.workloads).filter(([, w]) => w.memberClusters.length === 0 || w.memberClusters.some((m) => m.name === name)).map(([w]) => w),
    };
  });
  if (options.output === "json") return `${JSON.stringify(rows, null, 2)}\n`;
  return renderTable(["NAME", "API URL", "HEALTH", "WEIGHT", "WORKLOADS"], rows.map((r) => [r.name, r.apiUrl || "-", r.health, String(r.weight), r.workloads.join(",") || "-"]));
}

const OPTION_OF: Record<string, string> = { kubeconfig: "--kubeconfig", kubeconfigPath: "--kubeconfig", apiUrl: "--api-url", weight: "--weight" };

/** Validates with the stack config's own member schema; problems are named by the flag the user typed. */
function parseMemberOptions(candidate: Record<string, unknown>) {
  try {
    return parseOrThrow(memberConfigSchema, candidate, "member");
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new ValidationError("member", error.problems.map((p) => ({ ...p, path: OPTION_OF[p.path] ?? p.path })));
  }
}

function currentConfig(ref: StackRef): StackConfig {
  const raw = readRawConfig(ref);
  return loadStackConfig((key) => raw.get(key));
}

/** The member kubeconfigs stored in the hub, read with the hub's admin credentials. */
async function storedKubeconfigs(config: StackConfig, ref: StackRef): Promise<Map<string, string> | Error> {
  try {
    const hubKubeconfig = config.hub.kubeconfigPath !== undefined ? readFileSync(resolve(ref.cwd, config.hub.kubeconfigPath), "utf8") : getConfigPath(ref, "hub.kubeconfig");
    return await new HubClient(hubKubeconfig).memberKubeconfigs(config.hub.namespace);
  } catch (error) {
    return new Error(`hub not reachable (${(error as Error).message.split("\n")[0]})`);
  }
}
