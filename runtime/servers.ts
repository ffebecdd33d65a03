/** The health endpoints (kubelet probes) and the Prometheus endpoint, on their own ports. */
import { type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface Listening {
  port: number;
  close(): Promise<void>;
}

/** /healthz: the process answers. /readyz: the hub caches are synced (a standby is ready too). */
export function serveHealth(port: number, ready: () => boolean): Promise<Listening> {
  return listen(
    createServer((request, response) => {
      const path = request.url?.split("?")[0];
      if (path === "/healthz") return reply(response, 200, "ok\n");
      if (path === "/readyz") return ready() ? reply(response, 200, "ok\n") : reply(response, 503, "caches not synced\n");
      reply(response, 404, "not found\n");
    }),
    port,
  );
}

export function serveMetrics(port: number, registry: Registry): Promise<Listening> {
  return listen(
    createServer((request, response) => {
      if (request.url?.split("?")[0] !== "/metrics") return reply(response, 404, "not found\n");
      registry.metrics().then(
        (text) => reply(response, 200, text, registry.contentType),
        (error: unknown) => reply(response, 500, `${(error as Error).message}\n`),
      );
    }),
    port,
  );
}

function reply(response: ServerResponse, status: number, body: string, contentType = "text/plain; charset=utf-8"): void {
  response.writeHead(status, { "Content-Type": contentType });
  response.end(body);
}

function listen(server: Server, port: number): Promise<Listening> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
