/**
 * Kubeconfig text in and out: where an admin kubeconfig points, and the kubeconfig the
 * hub runtime uses to reach a member with nothing but the member's scaler token.
 */
import { parse, stringify } from "yaml";

interface NamedCluster {
  name?: unknown;
  cluster?: { server?: unknown };
}

interface NamedContext {
  name?: unknown;
  context?: { cluster?: unknown };
}

/**
 * The API server URL of the kubeconfig's current context (or of its only cluster when no
 * context is current). Throws naming `source` when the kubeconfig does not say.
 */
export function kubeconfigServer(text: string, source: string): string {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    // Only where: the parser's message quotes the offending line, which may hold a token.
    const at = (error as { linePos?: { line: number; col: number }[] }).linePos?.[0];
    throw new Error(`${source}: not a kubeconfig (YAML parse error${at ? ` at line ${at.line}, column ${at.col}` : ""})`);
  }
  const config = (document ?? {}) as { clusters?: NamedCluster[]; contexts?: NamedContext[]; "current-context"?: unknown };
  const clusters = Array.isArray(config.clusters) ? config.clusters : [];
  const contexts = Array.isArray(config.contexts) ? config.contexts : [];
  const current = contexts.find((c) => c?.name === config["current-context"]);
  const cluster = current ? clusters.find((c) => c?.name === current.context?.cluster) : clusters.length === 1 ? clusters[0] : undefined;
  const server = cluster?.cluster?.server;
  if (typeof server !== "string" || server === "") {
    throw new Error(`${source}: cannot tell the API server URL (no server for the current context); set apiUrl for this member`);
  }
  return server;
}

export interface TokenKubeconfigArgs {
  /** Names the cluster, user and context inside the kubeconfig. */
  clusterName: string;
  server: string;
  /** Base64 PEM of the API server's CA, as the token Secret's ca.crt carries it. */
  caData: string;
  /** The ServiceAccount token, decoded. */
  token: string;
  namespace: string;
}

/** A single-context kubeconfig authenticating with a bearer token. */
export function tokenKubeconfig(args: TokenKubeconfigArgs): string {
  const user = `fleetscale-scaler@${args.clusterName}`;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: args.clusterName, cluster: { server: args.server, "certificate-authority-data": args.caData } }],
    users: [{ name: user, user: { token: args.token } }],
    contexts: [{ name: args.clusterName, context: { cluster: args.clusterName, user, namespace: args.namespace } }],
    "current-context": args.clusterName,
  });
}
