/** The health endpoints (kubelet probes) and the Prometheus endpoint, on their own ports. */
import { type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface Listening {
  port: number;
  close(): Promise<void>;
}

/**
 * /healthz: the process answers. /readyz: the hub caches are synced and the hub answers
 * (a standby is ready too); `notReady` says why not, or undefined.
 */
export function serveHealth(port: number, notReady: () => string | undefined): Promise<Listening> {
  return listen(
    createServer((request, response) => {
      const path = request.url?.split("?")[0];
      if (path === "/healthz") return reply(response, 200, "ok\n");
      if (path === "/readyz") {
        const why = notReady();
        return why === undefined ? reply(response, 200, "ok\n") : reply(response, 503, `${why}\n`);
      }
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
