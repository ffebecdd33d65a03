/**
 * The admin kubeconfigs Pulumi uses to reach the hub and each member: inline secrets from
 * the stack config, or files on the operator's machine read once at program start.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CONFIG_NAMESPACE, type StackConfig } from "../schema/stack-config";
import { ValidationError, type FieldProblem } from "../schema/validate";

export interface AdminKubeconfigs {
  hub: string;
  /** Every member, an `inHub` member with the hub's kubeconfig. */
  members: Record<string, string>;
}

type Credential = { kubeconfig?: string; kubeconfigPath?: string };

/**
 * Resolves every credential, reading kubeconfigPath files relative to `baseDir` (the
 * project directory). Throws a ValidationError naming the config path of every file that
 * cannot be read, so all of them are reported at once.
 */
export function readAdminKubeconfigs(config: StackConfig, baseDir: string, readFile = (file: string) => fs.readFileSync(file, "utf8")): AdminKubeconfigs {
  const problems: FieldProblem[] = [];
  const resolve = (credential: Credential, configPath: string): string => {
    if (credential.kubeconfig !== undefined) return credential.kubeconfig;
    const file = path.resolve(baseDir, credential.kubeconfigPath ?? "");
    try {
      return readFile(file);
    } catch (error) {
      problems.push({ path: `${CONFIG_NAMESPACE}:${configPath}.kubeconfigPath`, message: `cannot read ${file}: ${(error as Error).message}` });
      return "";
    }
  };
  const hub = resolve(config.hub, "hub");
  const members = Object.fromEntries(
    Object.entries(config.members).map(([name, member]) => [name, member.inHub ? hub : resolve(member, `members.${name}`)]),
  );
  if (problems.length > 0) throw new ValidationError("stack config", problems);
  return { hub, members };
}
