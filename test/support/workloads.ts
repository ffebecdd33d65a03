/** Kubernetes objects that tests create in member clusters. */
export function deployment(name: string, replicas: number, namespace = "default") {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      // kwok runs no containers: any image name works.
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image: "registry.invalid/app:1" }] } },
    },
  };
}

/** Polls until `done` holds, or fails the test with the last value seen. */
export async function eventually<T>(what: string, read: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
