/**
 * Test and benchmark helper for real network faults between a client and a member API server:
 * Toxiproxy (test/toxiproxy, built from its Go module), driven through its HTTP API, plus one
 * fault Toxiproxy cannot express (connections open at a moment going silent while new ones
 * pass), done with nftables on loopback.
 *
 *   const toxiproxy = await Toxiproxy.start();
 *   const proxy = await toxiproxy.proxy("member-1", "127.0.0.1:6443");
 *   const client = new MemberClient("member-1", throughProxy(kubeconfig, proxy.listen), { timeoutMs: 2000 });
 *   await proxy.blackhole(); ... await proxy.heal();
 *   await toxiproxy.stop();
 *
 * What each fault looks like to a client (pinned by test/toxiproxy.cluster-test.ts):
 * - blackhole(): a `timeout` toxic with timeout 0 on both streams. Connections are still
 *   accepted (the proxy's listener answers the TCP handshake), but no byte passes either way, on
 *   new and existing connections (watches included): requests hang until the client's timeout.
 *   Removing it (heal) closes every connection that was open under it: Toxiproxy's timeout toxic
 *   closes its stream on cleanup, so open watches end then.
 * - latency(ms, jitterMs): a `latency` toxic on the downstream (server to client) stream: every
 *   chunk the server sends is held ms ± jitterMs. A request on an open connection pays it once;
 *   on a new TLS connection twice (server handshake flight, then the response).
 * - bandwidth(kbPerSecond): a `bandwidth` toxic on the downstream stream (rate in KB/s).
 * - resetPeer(): a `reset_peer` toxic with timeout 0 on the downstream stream: a connection is
 *   closed as soon as the server sends anything on it (a new one during its TLS handshake, an
 *   idle watch at its next event). New connections get a real reset (RST: the client sees
 *   ECONNRESET); connections already open when the toxic was added get a plain close (FIN: undici
 *   says UND_ERR_SOCKET "other side closed"), because Toxiproxy sets SO_LINGER 0 only on the
 *   connections it accepts while a reset_peer toxic is present.
 * - disable()/enable(): the proxy stops listening (connection refused) and starts again on the
 *   same port. Disabling also closes every open connection.
 * - silenceOpenConnections(): the TCP connections open to the proxy at that moment stop passing
 *   packets (dropped in the kernel, so nothing is closed or reset and the senders retransmit),
 *   while new connections pass. Needs root or CAP_NET_ADMIN and nf_tables in the kernel (see
 *   silenceSupport()); the `nft` command comes from Debian's nftables packages, unpacked (not
 *   installed) by test/nft/fetch.sh. heal() lets the packets through again; retransmission then delivers what
 *   was held back, so a silenced watch receives its events late, not never.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot, toolchainOutput } from "./fleet";

/** toxiproxy-server, built once per process (cached across runs by test/toxiproxy/build.sh). */
export function toxiproxyBinDir(): string {
  return toolchainOutput("test/toxiproxy/build.sh");
}

let nftDir: { dir: string } | { why: string } | undefined;

/**
 * The directory holding `nft`, fetched once per process (cached across runs by test/nft/fetch.sh,
 * which unpacks Debian's nftables packages without installing them); throws with fetch.sh's
 * reason when it cannot.
 */
export function nftBinDir(): string {
  if (nftDir === undefined) {
    const result = spawnSync(join(repoRoot, "test/nft/fetch.sh"), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    const stderr = (result.stderr ?? "").trim();
    if (stderr !== "") process.stderr.write(`${stderr}\n`);
    const dir = (result.stdout ?? "").trim().split("\n").at(-1) ?? "";
    if (result.status === 0 && dir !== "") nftDir = { dir };
    else nftDir = { why: `test/nft/fetch.sh failed (${result.error?.message ?? `exit ${result.status ?? result.signal}`}): ${stderr.split("\n").at(-1) || "no reason given"}` };
  }
  if ("why" in nftDir) throw new Error(nftDir.why);
  return nftDir.dir;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Toxiproxy {
  private readonly proxies = new Map<string, ToxiProxy>();
  private readonly onExit = () => this.kill();

  private constructor(
    /** Base URL of the HTTP API, e.g. http://127.0.0.1:8474. */
    readonly api: string,
    private readonly child: ChildProcess,
    private readonly logDir: string,
  ) {
    process.on("exit", this.onExit);
  }

  /** Starts toxiproxy-server on 127.0.0.1 and a free port; resolves once its API answers. */
  static async start(): Promise<Toxiproxy> {
    const server = join(toxiproxyBinDir(), "toxiproxy-server");
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const logDir = mkdtempSync(join(tmpdir(), "fleetscale-toxiproxy-"));
      const log = join(logDir, "toxiproxy.log");
      const fd = openSync(log, "a");
      // The server logs every API call and closed connection at info/debug; keep it in a file.
      const child = spawn(server, ["-host", "127.0.0.1", "-port", String(port)], {
        stdio: ["ignore", fd, fd],
        env: { ...process.env, LOG_LEVEL: process.env["TOXIPROXY_LOG_LEVEL"] ?? "info" },
      });
      closeSync(fd);
      child.unref();
      const toxiproxy = new Toxiproxy(`http://127.0.0.1:${port}`, child, logDir);
      let exited = false;
      child.once("exit", () => (exited = true));
      const deadline = Date.now() + 10_000;
      while (!exited && Date.now() < deadline) {
        try {
          const response = await fetch(`${toxiproxy.api}/version`, { signal: AbortSignal.timeout(1_000) });
          if (response.ok) {
            await response.text();
            return toxiproxy;
          }
        } catch {
          // not listening yet
        }
        await sleep(50);
      }
      const output = readFileSync(log, "utf8").trim().split("\n").slice(-5).join("\n");
      toxiproxy.kill();
      // Another process may have taken the port between freePort() and the bind: try again.
      if (exited && attempt < 3 && /address already in use/.test(output)) continue;
      throw new Error(`toxiproxy-server did not answer on ${toxiproxy.api} within 10 s${exited ? " (it exited)" : ""}:\n${output}`);
    }
  }

  /**
   * Creates a proxy named `name` listening on 127.0.0.1 (a port Toxiproxy picks, free at that
   * moment) and forwarding to `upstream` ("127.0.0.1:port").
   */
  async proxy(name: string, upstream: string): Promise<ToxiProxy> {
    const created = (await this.request("POST", "/proxies", { name, listen: "127.0.0.1:0", upstream, enabled: true })) as { listen: string };
    const proxy = new ToxiProxy(this, name, created.listen, upstream);
    this.proxies.set(name, proxy);
    return proxy;
  }

  /** One call of the HTTP API; throws with the status and body when it fails. */
  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.api}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`toxiproxy ${method} ${path}: ${response.status} ${text.trim()}`);
    return text === "" ? undefined : JSON.parse(text);
  }

  /** Removes every proxy's nftables rules and kills the server. */
  async stop(): Promise<void> {
    const running = this.child.exitCode === null && this.child.signalCode === null;
    const exited = running ? new Promise((resolve) => this.child.once("exit", resolve)) : Promise.resolve();
    this.child.ref(); // keep the event loop alive until the exit is seen
    this.kill();
    await exited;
  }

  private kill(): void {
    for (const proxy of this.proxies.values()) proxy.unsilence();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    rmSync(this.logDir, { recursive: true, force: true });
    process.off("exit", this.onExit);
  }
}

export type Stream = "upstream" | "downstream";

export class ToxiProxy {
  private readonly toxics = new Set<string>();
  private silenced = false;
  /** nftables table of silenceOpenConnections(), one per proxy. */
  private readonly table: string;

  constructor(
    private readonly toxiproxy: Toxiproxy,
    readonly name: string,
    /** Where clients connect: "127.0.0.1:port". */
    readonly listen: string,
    readonly upstream: string,
  ) {
    this.table = `fleetscale_silence_${this.port}`;
  }

  get port(): number {
    return Number(this.listen.slice(this.listen.lastIndexOf(":") + 1));
  }

  /** Adds one toxic; heal() removes it. */
  async addToxic(name: string, type: string, stream: Stream, attributes: Record<string, number>, toxicity = 1): Promise<void> {
    await this.toxiproxy.request("POST", `/proxies/${this.name}/toxics`, { name, type, stream, toxicity, attributes });
    this.toxics.add(name);
  }

  /** No byte passes either way, on new and open connections; new connections are still accepted. */
  async blackhole(): Promise<void> {
    await this.addToxic("blackhole-up", "timeout", "upstream", { timeout: 0 });
    await this.addToxic("blackhole-down", "timeout", "downstream", { timeout: 0 });
  }

  /** Everything the server sends arrives `ms` ± `jitterMs` later. */
  async latency(ms: number, jitterMs = 0): Promise<void> {
    await this.addToxic("latency", "latency", "downstream", { latency: ms, jitter: jitterMs });
  }

  /** The server's answers trickle at `kbPerSecond` KB/s. */
  async bandwidth(kbPerSecond: number): Promise<void> {
    await this.addToxic("bandwidth", "bandwidth", "downstream", { rate: kbPerSecond });
  }

  /** Connections are closed as soon as the server sends anything: RST on new ones, FIN on open ones. */
  async resetPeer(): Promise<void> {
    await this.addToxic("reset-peer", "reset_peer", "downstream", { timeout: 0 });
  }

  /** Stops listening (connection refused) and closes every open connection. */
  async disable(): Promise<void> {
    await this.toxiproxy.request("POST", `/proxies/${this.name}`, { enabled: false });
  }

  /** Listens again, on the same port. */
  async enable(): Promise<void> {
    await this.toxiproxy.request("POST", `/proxies/${this.name}`, { enabled: true });
  }

  /**
   * The TCP connections open to this proxy right now stop passing packets, both ways, dropped
   * by an nftables rule on the proxy port and the clients' ports; new connections pass. Returns
   * how many connections it silenced. Throws when silenceSupport() says it cannot work here.
   */
  async silenceOpenConnections(): Promise<number> {
    const why = silenceSupport();
    if (why !== undefined) throw new Error(`cannot silence connections: ${why}`);
    const ports = openClientPorts(this.port);
    const elements = ports.length === 0 ? "" : `add element inet ${this.table} silenced { ${ports.join(", ")} }\n`;
    nft(
      `table inet ${this.table} {\n` +
        `  set silenced { type inet_service; }\n` +
        `  chain input {\n` +
        `    type filter hook input priority filter; policy accept;\n` +
        `    tcp dport ${this.port} tcp sport @silenced drop\n` +
        `    tcp sport ${this.port} tcp dport @silenced drop\n` +
        `  }\n` +
        `}\n` +
        elements,
    );
    this.silenced = true;
    return ports.length;
  }

  /** Removes every fault: toxics, the silence, and enables the proxy. */
  async heal(): Promise<void> {
    this.unsilence();
    await this.removeToxics();
    await this.enable();
    // Removing a timeout toxic closes the connections under it; give the client's event loop a
    // moment to see those closes, so that its next request does not pick a connection that is
    // already gone (it would fail at once with UND_ERR_SOCKET "other side closed").
    await sleep(200);
  }

  /** Removes the toxics only; silenced connections stay silent. */
  async removeToxics(): Promise<void> {
    for (const name of [...this.toxics]) {
      await this.toxiproxy.request("DELETE", `/proxies/${this.name}/toxics/${name}`);
      this.toxics.delete(name);
    }
  }

  /** @internal */
  unsilence(): void {
    if (!this.silenced) return;
    try {
      nft(`delete table inet ${this.table}\n`);
    } catch {
      // already gone
    }
    this.silenced = false;
  }
}

/** A kubeconfig (as text) whose `server:` URLs point at `listen` ("127.0.0.1:port") instead. */
export function throughProxy(kubeconfig: string, listen: string): string {
  let replaced = 0;
  const rewritten = kubeconfig.replace(/^(\s*server:\s*["']?https?:\/\/)[^/\s"']+/gm, (_match, prefix: string) => {
    replaced++;
    return `${prefix}${listen}`;
  });
  if (replaced === 0) throw new Error("the kubeconfig has no server: URL to rewrite");
  return rewritten;
}

let support: { why: string | undefined } | undefined;

/**
 * Why silenceOpenConnections() cannot work on this machine, or undefined when it can: it needs
 * the right to change the ruleset (root or CAP_NET_ADMIN) and nf_tables in the kernel; the `nft`
 * command itself is fetched (nftBinDir()), so only a failed fetch (no Debian mirror) adds a
 * reason. Checked once per process by creating and deleting an empty table.
 */
export function silenceSupport(): string | undefined {
  if (support === undefined) {
    const probe = `fleetscale_probe_${process.pid}`;
    try {
      nft(`table inet ${probe} {\n  set s { type inet_service; }\n  chain c { type filter hook input priority filter; policy accept; tcp sport @s drop; }\n}\n`);
      nft(`delete table inet ${probe}\n`);
      support = { why: undefined };
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: string };
      support = { why: e.stderr ? `nft refused: ${e.stderr.trim()}` : e.message };
    }
  }
  return support.why;
}

/**
 * Runs `nft -f <file>` on `script` with the fetched nft. NFT=<command> runs that instead: NFT=true
 * (silencing nothing) shows that the silence tests of test/toxiproxy.cluster-test.ts can fail. (A file,
 * not stdin, so that a command that reads nothing does not fail with EPIPE.)
 */
function nft(script: string): void {
  const command = process.env["NFT"] ?? join(nftBinDir(), "nft");
  const dir = mkdtempSync(join(tmpdir(), "fleetscale-nft-"));
  try {
    const file = join(dir, "rules.nft");
    writeFileSync(file, script);
    execFileSync(command, ["-f", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Local ports of the established TCP connections (IPv4 and IPv6) whose remote port is `port`,
 * read from /proc/net/tcp{,6}: the client ends of connections to a local proxy.
 */
export function openClientPorts(port: number): number[] {
  const ports = new Set<number>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.trim().split("\n").slice(1)) {
      const [, local, remote, state] = line.trim().split(/\s+/);
      if (state !== "01" || !local || !remote) continue; // 01 = ESTABLISHED
      if (parseInt(remote.slice(remote.lastIndexOf(":") + 1), 16) === port) {
        ports.add(parseInt(local.slice(local.lastIndexOf(":") + 1), 16));
      }
    }
  }
  return [...ports].sort((a, b) => a - b);
}
