import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { clientNode, httpStatusOf, kubeConfigFromString } from "./client-node";

/** An API server stand-in that answers every request with an empty namespace list and counts TCP connections. */
async function countingServer() {
  let connections = 0;
  const server = createServer((_request, response) => {
    response.setHeader("Content-Type", "application/json");
    response.end(JSON.stringify({ apiVersion: "v1", kind: "NamespaceList", metadata: {}, items: [] }));
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: secret-token } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`;
  return { kubeconfig, connections: () => connections, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function list20Times(config: ReturnType<typeof kubeConfigFromString>): Promise<void> {
  const core = config.makeApiClient(clientNode().CoreV1Api);
  for (let i = 0; i < 20; i++) await core.listNamespace();
}

describe("client-node connections", () => {
  it("20 requests through one kubeconfig share its connections", async () => {
    const server = await countingServer();
    try {
      await list20Times(kubeConfigFromString(server.kubeconfig));
      // undici may open a second one while the first response is still being released.
      assert.ok(server.connections() <= 2, `${server.connections()} connections for 20 requests`);
    } finally {
      await server.close();
    }
  });

  it("(the reason) a plain client-node KubeConfig opens one connection per request", async () => {
    const server = await countingServer();
    try {
      const plain = new (clientNode().KubeConfig)();
      plain.loadFromString(server.kubeconfig);
      await list20Times(plain);
      assert.equal(server.connections(), 20);
    } finally {
      await server.close();
    }
  });
  it("every request waits for the gate (a rate limit) once", async () => {
    const server = await countingServer();
    try {
      let taken = 0;
      await list20Times(kubeConfigFromString(server.kubeconfig, { take: async () => void taken++ }));
      assert.equal(taken, 20);
    } finally {
      await server.close();
    }
  });

  it("an aborted or timed-out request has no HTTP status (its DOMException code 23 is none)", () => {
    assert.equal(httpStatusOf(new DOMException("timed out", "TimeoutError")), undefined);
    assert.equal(httpStatusOf(new DOMException("aborted", "AbortError")), undefined);
    assert.equal(httpStatusOf(Object.assign(new Error("Conflict"), { code: 409 })), 409);
    assert.equal(httpStatusOf(Object.assign(new Error("Not Found"), { statusCode: 404 })), 404);
  });
});
