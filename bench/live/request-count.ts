/**
 * Counts the HTTP requests this process sends, per API server and kind of request, from
 * undici's diagnostics channel "undici:request:create" (client-node 2.x sends every
 * request, watches included, through undici). With the runtime in this process and the
 * bench itself quiet, that is the runtime's own traffic, counted at the source.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { performance } from "node:perf_hooks";

export type RequestKind = "probe" | "watch" | "list" | "scale" | "status" | "lease" | "event" | "other";

function kindOf(method: string, path: string): RequestKind {
  if (path.includes("selfsubjectreviews")) return "probe";
  if (/[?&]watch=(true|1)/.test(path)) return "watch";
  if (path.includes("/leases")) return "lease";
  if (path.includes("/events")) return "event";
  if (path.split("?")[0]!.endsWith("/scale")) return "scale";
  if (path.split("?")[0]!.endsWith("/status")) return "status";
  if (method === "GET") return "list";
  return "other";
}

export class RequestCounter {
  /** origin -> kind -> count */
  readonly counts = new Map<string, Map<RequestKind, number>>();
  private readonly listener = (message: unknown) => {
    const request = (message as { request: { origin: string | URL; method: string; path: string } }).request;
    const origin = String(request.origin).replace(/\/$/, "");
    const byKind = this.counts.get(origin) ?? new Map<RequestKind, number>();
    const kind = kindOf(request.method, request.path);
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
    this.counts.set(origin, byKind);
  };

  start(): void {
    subscribe("undici:request:create", this.listener);
  }

  stop(): void {
    unsubscribe("undici:request:create", this.listener);
  }

  snapshot(): Map<string, Map<RequestKind, number>> {
    return new Map([...this.counts].map(([o, k]) => [o, new Map(k)]));
  }

  /** Requests per server between two snapshots, by kind. */
  static diff(before: Map<string, Map<RequestKind, number>>, after: Map<string, Map<RequestKind, number>>): Map<string, Map<RequestKind, number>> {
    const result = new Map<string, Map<RequestKind, number>>();
    for (const [origin, kinds] of after) {
      const out = new Map<RequestKind, number>();
      for (const [kind, n] of kinds) {
        const d = n - (before.get(origin)?.get(kind) ?? 0);
        if (d > 0) out.set(kind, d);
      }
      result.set(origin, out);
    }
    return result;
  }
}

export function total(kinds: Map<RequestKind, number> | undefined): number {
  let sum = 0;
  for (const n of kinds?.values() ?? []) sum += n;
  return sum;
}

export function describeKinds(kinds: Map<RequestKind, number> | undefined): string {
  return [...(kinds ?? new Map<RequestKind, number>())]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(", ") || "none";
}

/**
 * Time from a request's creation to its response headers (or error), per API server and
 * kind, for requests created while started: the client's queue, the network and the
 * server, as this process sees it (a busy event loop adds to it).
 */
export class RequestLatency {
  /** origin -> kind -> latencies in ms */
  readonly latencies = new Map<string, Map<RequestKind, number[]>>();
  private readonly started = new WeakMap<object, { origin: string; kind: RequestKind; at: number }>();
  private readonly onCreate = (message: unknown) => {
    const request = (message as { request: { origin: string | URL; method: string; path: string } }).request;
    this.started.set(request, { origin: String(request.origin).replace(/\/$/, ""), kind: kindOf(request.method, request.path), at: performance.now() });
  };
  private readonly onDone = (message: unknown) => {
    const request = (message as { request: object }).request;
    const start = this.started.get(request);
    if (!start) return;
    this.started.delete(request);
    const byKind = this.latencies.get(start.origin) ?? new Map<RequestKind, number[]>();
    const list = byKind.get(start.kind) ?? [];
    list.push(performance.now() - start.at);
    byKind.set(start.kind, list);
    this.latencies.set(start.origin, byKind);
  };

  /** origin -> connections opened (TCP + TLS) */
  readonly connections = new Map<string, number>();
  private readonly onConnected = (message: unknown) => {
    const params = (message as { connectParams: { protocol: string; hostname: string; port: string | number } }).connectParams;
    const origin = `${params.protocol}//${params.hostname}:${params.port}`;
    this.connections.set(origin, (this.connections.get(origin) ?? 0) + 1);
  };

  start(): void {
    subscribe("undici:request:create", this.onCreate);
    subscribe("undici:request:headers", this.onDone);
    subscribe("undici:request:error", this.onDone);
    subscribe("undici:client:connected", this.onConnected);
  }

  stop(): void {
    unsubscribe("undici:request:create", this.onCreate);
    unsubscribe("undici:request:headers", this.onDone);
    unsubscribe("undici:request:error", this.onDone);
    unsubscribe("undici:client:connected", this.onConnected);
  }

  /** Connections opened to the given servers. */
  connectionsTo(origins: readonly string[]): number {
    return origins.reduce((sum, o) => sum + (this.connections.get(o) ?? 0), 0);
  }

  /** The latencies of one kind of request to the given servers. */
  of(origins: readonly string[], kind: RequestKind): number[] {
    return origins.flatMap((o) => this.latencies.get(o)?.get(kind) ?? []);
  }
}
