/**
 * Test support: Pulumi mocks that record every registration and answer roughly as a
 * cluster would. Importing this module installs the mocks, so a test file imports it
 * before any component module; each test file runs in its own process with its own mocks.
 */
import * as pulumi from "@pulumi/pulumi";

export interface Registration {
  type: string;
  name: string;
  /** As the engine would receive them: secrets still wrapped (see isSecretInput). */
  inputs: Record<string, any>;
  /** `<provider urn>::<provider id>`, or empty when the default provider would be used. */
  provider: string;
}

export const registrations: Registration[] = [];

const base64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
export const FAKE_CA_PEM = "-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n";
export const fakeToken = (secretName: string) => `token-for-${secretName}`;

void pulumi.runtime.setMocks(
  {
    newResource(args) {
      registrations.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider ?? "" });
      const state: Record<string, any> = { ...args.inputs };
      // Auto-naming, as the Kubernetes provider does it (without the random suffix).
      if (args.type.startsWith("kubernetes:") && state["metadata"]?.name === undefined) {
        state["metadata"] = { ...state["metadata"], name: args.name };
      }
      // The token controller fills a ServiceAccount token Secret.
      if (args.type === "kubernetes:core/v1:Secret" && args.inputs.type === "kubernetes.io/service-account-token") {
        state["data"] = { token: base64(fakeToken(args.name)), "ca.crt": base64(FAKE_CA_PEM) };
      }
      return { id: `${args.name}-id`, state };
    },
    call: (args) => args.inputs,
  },
  "fleetscale",
  "test",
  false,
);

/** Whether a recorded input value arrived as a Pulumi secret. */
export function isSecretInput(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;
}

/** A recorded input with any secret wrapper removed. */
export function plain(value: any): any {
  return isSecretInput(value) ? value.value : value;
}

export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

export interface Built<T> {
  root: T;
  /** Every resource constructed in the tree, with the options it was given. */
  resources: { resource: pulumi.Resource; type: string; name: string; opts: pulumi.CustomResourceOptions; urn: string }[];
  /** Registrations made while building this tree. */
  registrations: Registration[];
}

/**
 * Builds a component tree and waits until every resource in it is registered. `create`
 * must pass the given options to the root so that its children can be observed.
 */
export async function build<T extends pulumi.Resource>(create: (opts: pulumi.ComponentResourceOptions) => T): Promise<Built<T>> {
  const before = registrations.length;
  // Typed for custom resources so their options (additionalSecretOutputs...) can be checked.
  const seen: { resource: pulumi.Resource; type: string; name: string; opts: pulumi.CustomResourceOptions }[] = [];
  const root = create({
    transformations: [
      ({ resource, type, name, opts }) => {
        seen.push({ resource, type, name, opts });
        return undefined;
      },
    ],
  });
  let urns: string[] = [];
  // Resources can be created inside apply callbacks; wait until no new ones appear.
  for (let count = -1; count !== seen.length; ) {
    count = seen.length;
    urns = await Promise.all(seen.map(({ resource }) => promiseOf(resource.urn)));
  }
  return { root, resources: seen.map((entry, index) => ({ ...entry, urn: urns[index]! })), registrations: registrations.slice(before) };
}

/** The registration of the resource of `type` named `name`; fails the test when there is none or several. */
export function registration(built: Built<unknown>, type: string, name: string): Registration {
  const found = built.registrations.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}: ${built.registrations.map((r) => `${r.type}::${r.name}`).join(", ")}`);
  return found[0]!;
}

/** The chain of types in a URN, outermost parent first. */
export function typeChain(urn: string): string[] {
  return urn.split("::")[2]!.split("$");
}

/**
 * The structural properties every component tree must have: each resource is a child of
 * one of our components (the root is the only one without a parent), and every
 * Kubernetes resource names an explicit provider.
 */
export function structuralProblems(built: Built<unknown>): string[] {
  const problems: string[] = [];
  const [rootEntry, ...children] = built.resources;
  for (const child of children) {
    if (child.opts.parent === undefined) problems.push(`${child.type}::${child.name} has no parent`);
    const chain = typeChain(child.urn);
    const parentType = chain[chain.length - 2];
    if (!parentType?.startsWith("fleetscale:index:")) problems.push(`${child.type}::${child.name} is not a child of a fleetscale component (${child.urn})`);
  }
  if (rootEntry && typeChain(rootEntry.urn).length !== 1) problems.push(`the root ${rootEntry.name} has a parent`);
  if (built.registrations.length !== built.resources.length) {
    problems.push(`${built.registrations.length} registrations but ${built.resources.length} resources in the tree: something was created outside it`);
  }
  for (const r of built.registrations) {
    // The SDK sends no provider reference when the engine is to pick the default provider.
    if (r.type.startsWith("kubernetes:") && !r.provider.startsWith("urn:pulumi:")) problems.push(`${r.type}::${r.name} uses the default provider`);
  }
  return problems;
}
