/**
 * Generated invalid inputs: a valid DSO (or stack config) with 1-3 invalidating mutations
 * chosen by fast-check from a fixed seed. Each mutation names the field path(s) a
 * correct rejection must report. Mutations touching overlapping fields are not combined,
 * so every expected path must still be reported.
 */
import fc from "fast-check";
import { API_GROUP, API_VERSION } from "../../schema/dso-names";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Mutation {
  id: string;
  /** Fields it replaces: two mutations conflict when one slot is a prefix of the other. */
  slots: string[];
  /** Paths (as formatted by schema/validate.ts) of which each must be reported, exactly or as an ancestor of a reported path. */
  expect: string[];
  /** The API server cannot receive it as a DSO (kind/apiVersion are in the URL). */
  offlineOnly?: boolean;
  apply(input: Json): void;
}

export interface Generated {
  input: Json;
  mutations: string[];
  expect: string[];
  offlineOnly: boolean;
}

const within = (a: string, b: string) => a === b || b.startsWith(`${a}.`) || b.startsWith(`${a}[`);
const conflict = (a: Mutation, b: Mutation) => a.slots.some((x) => b.slots.some((y) => within(x, y) || within(y, x)));

export function reported(expected: string, paths: readonly string[]): boolean {
  return paths.some((p) => within(expected, p));
}

function generate(base: () => Json, mutations: readonly Mutation[], count: number, seed: number): Generated[] {
  const pick = fc.uniqueArray(fc.integer({ min: 0, max: mutations.length - 1 }), { minLength: 1, maxLength: 3 });
  return fc.sample(pick, { numRuns: count, seed }).map((indices) => {
    const chosen: Mutation[] = [];
    for (const i of indices) if (!chosen.some((c) => conflict(c, mutations[i]!))) chosen.push(mutations[i]!);
    const input = base();
    for (const m of chosen) m.apply(input);
    return { input, mutations: chosen.map((m) => m.id), expect: chosen.flatMap((m) => m.expect), offlineOnly: chosen.some((m) => m.offlineOnly === true) };
  });
}

// ---------------------------------------------------------------- DSOs

export const DSO_MEMBERS = ["member-1", "member-2", "member-3"];

export function validDso(name: string, target: string): Json {
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: "DistributedScaledObject",
    metadata: { name, namespace: "default" },
    spec: {
      memberClusters: DSO_MEMBERS.map((m, i) => ({ name: m, weight: i + 1 })),
      rebalancingPolicy: { gracePeriod: "5s", maxRebalancePercentage: 25 },
      scaledObjectSpec: { scaleTargetRef: { name: target }, minReplicaCount: 1, maxReplicaCount: 10 },
      totalTargetReplicas: 6,
    },
  };
}

function dsoMutations(): Mutation[] {
  const list: Mutation[] = [];
  const member = (i: number) => `spec.memberClusters[${i}]`;
  for (let i = 0; i < 3; i++) {
    const m = (s: Json) => s.spec.memberClusters[i];
    const w = `${member(i)}.weight`;
    list.push(
      { id: `m${i}.weight=-3`, slots: [w], expect: [w], apply: (s) => (m(s).weight = -3) },
      { id: `m${i}.weight=1.5`, slots: [w], expect: [w], apply: (s) => (m(s).weight = 1.5) },
      { id: `m${i}.weight="2"`, slots: [w], expect: [w], apply: (s) => (m(s).weight = "2") },
      { id: `m${i}.weight=2e6`, slots: [w], expect: [w], apply: (s) => (m(s).weight = 2_000_000) },
      { id: `m${i}.name=Member_X`, slots: [`${member(i)}.name`], expect: [`${member(i)}.name`], apply: (s) => (m(s).name = `Member_${i}`) },
      { id: `m${i}.name=41 chars`, slots: [`${member(i)}.name`], expect: [`${member(i)}.name`], apply: (s) => (m(s).name = `m${"x".repeat(39)}${i}`) },
      { id: `m${i}.min>max`, slots: [`${member(i)}.minReplicas`, `${member(i)}.maxReplicas`], expect: [`${member(i)}.minReplicas`], apply: (s) => Object.assign(m(s), { minReplicas: 5, maxReplicas: 2 }) },
      { id: `m${i}.maxReplicas=-1`, slots: [`${member(i)}.maxReplicas`], expect: [`${member(i)}.maxReplicas`], apply: (s) => (m(s).maxReplicas = -1) },
      { id: `m${i}.maxReplicas=2^31`, slots: [`${member(i)}.maxReplicas`], expect: [`${member(i)}.maxReplicas`], apply: (s) => (m(s).maxReplicas = 2 ** 31) },
      { id: `m${i}.unknown field`, slots: [`${member(i)}.wieght`], expect: [member(i)], apply: (s) => (m(s).wieght = 2) },
      { id: `m${i}.targetNamespace=Default`, slots: [`${member(i)}.targetNamespace`], expect: [`${member(i)}.targetNamespace`], apply: (s) => (m(s).targetNamespace = "Default") },
    );
  }
  list.push(
    { id: "duplicate member", slots: [`${member(1)}.name`], expect: [`${member(1)}.name`], apply: (s) => (s.spec.memberClusters[1].name = s.spec.memberClusters[0].name) },
    // Weight 0 drains one member; all of them at 0 is the invalid case.
    { id: "every weight 0", slots: DSO_MEMBERS.map((_, i) => `${member(i)}.weight`), expect: ["spec.memberClusters"], apply: (s) => s.spec.memberClusters.forEach((m: Json) => (m.weight = 0)) },
    { id: "257 members", slots: ["spec.memberClusters"], expect: ["spec.memberClusters"], apply: (s) => s.spec.memberClusters.push(...Array.from({ length: 254 }, (_, k) => ({ name: `extra-${k}`, weight: 1 }))) },
    { id: "memberClusters not a list", slots: ["spec.memberClusters"], expect: ["spec.memberClusters"], apply: (s) => (s.spec.memberClusters = "member-1") },
    { id: "gracePeriod=soon", slots: ["spec.rebalancingPolicy.gracePeriod"], expect: ["spec.rebalancingPolicy.gracePeriod"], apply: (s) => (s.spec.rebalancingPolicy.gracePeriod = "soon") },
    { id: "gracePeriod=-5s", slots: ["spec.rebalancingPolicy.gracePeriod"], expect: ["spec.rebalancingPolicy.gracePeriod"], apply: (s) => (s.spec.rebalancingPolicy.gracePeriod = "-5s") },
    { id: "maxRebalancePercentage=0", slots: ["spec.rebalancingPolicy.maxRebalancePercentage"], expect: ["spec.rebalancingPolicy.maxRebalancePercentage"], apply: (s) => (s.spec.rebalancingPolicy.maxRebalancePercentage = 0) },
    { id: "maxRebalancePercentage=101", slots: ["spec.rebalancingPolicy.maxRebalancePercentage"], expect: ["spec.rebalancingPolicy.maxRebalancePercentage"], apply: (s) => (s.spec.rebalancingPolicy.maxRebalancePercentage = 101) },
    { id: "totalTargetReplicas=-1", slots: ["spec.totalTargetReplicas"], expect: ["spec.totalTargetReplicas"], apply: (s) => (s.spec.totalTargetReplicas = -1) },
    { id: "totalTargetReplicas=2.5", slots: ["spec.totalTargetReplicas"], expect: ["spec.totalTargetReplicas"], apply: (s) => (s.spec.totalTargetReplicas = 2.5) },
    { id: "totalTargetReplicas=ten", slots: ["spec.totalTargetReplicas"], expect: ["spec.totalTargetReplicas"], apply: (s) => (s.spec.totalTargetReplicas = "ten") },
    { id: "totalTargetReplicas=2^31", slots: ["spec.totalTargetReplicas"], expect: ["spec.totalTargetReplicas"], apply: (s) => (s.spec.totalTargetReplicas = 2 ** 31) },
    { id: "kind=Pod", slots: ["spec.scaledObjectSpec.scaleTargetRef.kind"], expect: ["spec.scaledObjectSpec.scaleTargetRef.kind"], apply: (s) => (s.spec.scaledObjectSpec.scaleTargetRef.kind = "Pod") },
    { id: "target name empty", slots: ["spec.scaledObjectSpec.scaleTargetRef.name"], expect: ["spec.scaledObjectSpec.scaleTargetRef.name"], apply: (s) => (s.spec.scaledObjectSpec.scaleTargetRef.name = "") },
    { id: "target name Web_App", slots: ["spec.scaledObjectSpec.scaleTargetRef.name"], expect: ["spec.scaledObjectSpec.scaleTargetRef.name"], apply: (s) => (s.spec.scaledObjectSpec.scaleTargetRef.name = "Web_App") },
    { id: "target apiVersion apps/v2", slots: ["spec.scaledObjectSpec.scaleTargetRef.apiVersion"], expect: ["spec.scaledObjectSpec.scaleTargetRef.apiVersion"], apply: (s) => (s.spec.scaledObjectSpec.scaleTargetRef.apiVersion = "apps/v2") },
    { id: "minReplicaCount>max", slots: ["spec.scaledObjectSpec.minReplicaCount", "spec.scaledObjectSpec.maxReplicaCount"], expect: ["spec.scaledObjectSpec.minReplicaCount"], apply: (s) => Object.assign(s.spec.scaledObjectSpec, { minReplicaCount: 9, maxReplicaCount: 3 }) },
    { id: "maxReplicaCount=0", slots: ["spec.scaledObjectSpec.maxReplicaCount"], expect: ["spec.scaledObjectSpec.maxReplicaCount"], apply: (s) => (s.spec.scaledObjectSpec.maxReplicaCount = 0) },
    { id: "pollingInterval=0", slots: ["spec.scaledObjectSpec.pollingInterval"], expect: ["spec.scaledObjectSpec.pollingInterval"], apply: (s) => (s.spec.scaledObjectSpec.pollingInterval = 0) },
    { id: "trigger type empty", slots: ["spec.scaledObjectSpec.triggers"], expect: ["spec.scaledObjectSpec.triggers[0].type"], apply: (s) => (s.spec.scaledObjectSpec.triggers = [{ type: "", metadata: {} }]) },
    { id: "trigger metadata not string", slots: ["spec.scaledObjectSpec.triggers"], expect: ["spec.scaledObjectSpec.triggers[0].metadata"], apply: (s) => (s.spec.scaledObjectSpec.triggers = [{ type: "cpu", metadata: { value: 50 } }]) },
    { id: "scaledObjectSpec missing", slots: ["spec.scaledObjectSpec"], expect: ["spec.scaledObjectSpec"], apply: (s) => delete s.spec.scaledObjectSpec },
    { id: "unknown spec field", slots: ["spec.replicas"], expect: ["spec"], apply: (s) => (s.spec.replicas = 3) },
    { id: "name with dots", slots: ["metadata.name"], expect: ["metadata.name"], apply: (s) => (s.metadata.name = `${s.metadata.name}.v2`) },
    { id: "kind ScaledObject", slots: ["kind"], expect: ["kind"], offlineOnly: true, apply: (s) => (s.kind = "ScaledObject") },
    { id: "apiVersion v9", slots: ["apiVersion"], expect: ["apiVersion"], offlineOnly: true, apply: (s) => (s.apiVersion = `${API_GROUP}/v9`) },
  );
  return list;
}

export function invalidDsos(count: number, seed: number, target: string): Generated[] {
  let n = 0;
  return generate(() => validDso(`bad-${String(n++).padStart(4, "0")}`, target), dsoMutations(), count, seed);
}

// ---------------------------------------------------------------- stack configs

export function validStackConfig(): Json {
  return {
    hub: { kubeconfigPath: "/tmp/hub.yaml", namespace: "fleetscale-system", replicas: 2 },
    members: { "member-1": { kubeconfigPath: "/tmp/m1.yaml", weight: 1 }, "member-2": { kubeconfig: "apiVersion: v1", weight: 2 } },
    workloads: { web: { totalTargetReplicas: 10, scaledObjectSpec: { scaleTargetRef: { name: "web" } }, memberClusters: [{ name: "member-1" }, { name: "member-2" }] } },
  };
}

/** A stack config as loadStackConfig reads it: key -> raw text; `raw` entries replace a key's JSON text. */
export function configReader(config: Json): (key: string) => string | undefined {
  const raw = (config.$raw ?? {}) as Record<string, string | null>;
  return (key) => (key in raw ? (raw[key] ?? undefined) : config[key] === undefined ? undefined : JSON.stringify(config[key]));
}

function configMutations(): Mutation[] {
  const P = "fleetscale:";
  const hub = `${P}hub`;
  const m1 = `${P}members.member-1`;
  const m2 = `${P}members.member-2`;
  const web = `${P}workloads.web`;
  return [
    { id: "hub both credentials", slots: [`${hub}.kubeconfig`, `${hub}.kubeconfigPath`], expect: [`${hub}.kubeconfig`], apply: (c) => (c.hub.kubeconfig = "apiVersion: v1") },
    { id: "hub no credentials", slots: [`${hub}.kubeconfig`, `${hub}.kubeconfigPath`], expect: [`${hub}.kubeconfig`], apply: (c) => delete c.hub.kubeconfigPath },
    { id: "hub replicas 0", slots: [`${hub}.replicas`], expect: [`${hub}.replicas`], apply: (c) => (c.hub.replicas = 0) },
    { id: "hub replicas 6", slots: [`${hub}.replicas`], expect: [`${hub}.replicas`], apply: (c) => (c.hub.replicas = 6) },
    { id: "hub namespace Fleet", slots: [`${hub}.namespace`], expect: [`${hub}.namespace`], apply: (c) => (c.hub.namespace = "Fleet") },
    { id: "hub image empty", slots: [`${hub}.image`], expect: [`${hub}.image`], apply: (c) => (c.hub.image = "") },
    { id: "hub unknown field", slots: [`${hub}.replica`], expect: [hub], apply: (c) => (c.hub.replica = 1) },
    // A key that is not JSON is reported on its own (loadStackConfig stops before the schema): combined with nothing.
    { id: "hub not JSON", slots: [hub, `${P}members`, `${P}workloads`], expect: [hub], apply: (c) => ((c.$raw ??= {}).hub = "kubeconfigPath=/tmp/hub") },
    { id: "hub missing", slots: [hub], expect: [hub], apply: (c) => ((c.$raw ??= {}).hub = null) },
    { id: "member-1 weight -1", slots: [`${m1}.weight`], expect: [`${m1}.weight`], apply: (c) => (c.members["member-1"].weight = -1) },
    { id: "member-1 inHub and path", slots: [`${m1}.inHub`, `${m1}.kubeconfig`], expect: [`${m1}.kubeconfig`], apply: (c) => (c.members["member-1"].inHub = true) },
    { id: "member-1 apiUrl ftp", slots: [`${m1}.apiUrl`], expect: [`${m1}.apiUrl`], apply: (c) => (c.members["member-1"].apiUrl = "ftp://10.0.0.1") },
    { id: "member-1 credentialGeneration empty", slots: [`${m1}.credentialGeneration`], expect: [`${m1}.credentialGeneration`], apply: (c) => (c.members["member-1"].credentialGeneration = "") },
    { id: "member-2 namespace a_b", slots: [`${m2}.namespace`], expect: [`${m2}.namespace`], apply: (c) => (c.members["member-2"].namespace = "a_b") },
    {
      id: "member-2 inHub in the hub namespace",
      slots: [`${m2}.namespace`, `${m2}.kubeconfig`, `${m2}.inHub`, `${hub}.namespace`],
      expect: [`${m2}.namespace`],
      apply: (c) => {
        delete c.members["member-2"].kubeconfig;
        Object.assign(c.members["member-2"], { inHub: true, namespace: c.hub.namespace });
      },
    },
    {
      id: "two inHub members",
      slots: [`${P}members`],
      expect: [`${P}members`],
      apply: (c) => {
        for (const m of ["member-1", "member-2"]) {
          delete c.members[m].kubeconfig;
          delete c.members[m].kubeconfigPath;
          Object.assign(c.members[m], { inHub: true, namespace: `ns-${m}` });
        }
      },
    },
    { id: "member name Member_3", slots: [`${P}members.Member_3`], expect: [`${P}members`], apply: (c) => (c.members.Member_3 = { kubeconfigPath: "/tmp/m3.yaml" }) },
    { id: "members a string", slots: [`${P}members`], expect: [`${P}members`], apply: (c) => (c.members = "member-1") },
    { id: "members a list", slots: [`${P}members`], expect: [`${P}members`], apply: (c) => (c.members = ["member-1"]) },
    { id: "workload unknown member", slots: [`${web}.memberClusters[0].name`, `${P}members`], expect: [`${web}.memberClusters[0].name`], apply: (c) => (c.workloads.web.memberClusters[0].name = "member-9") },
    { id: "workload total -1", slots: [`${web}.totalTargetReplicas`], expect: [`${web}.totalTargetReplicas`], apply: (c) => (c.workloads.web.totalTargetReplicas = -1) },
    { id: "workload namespace X", slots: [`${web}.namespace`], expect: [`${web}.namespace`], apply: (c) => (c.workloads.web.namespace = "X") },
    { id: "workload name Web", slots: [`${P}workloads.Web`], expect: [`${P}workloads`], apply: (c) => (c.workloads.Web = c.workloads.web && JSON.parse(JSON.stringify(c.workloads.web))) },
    { id: "workload scaledObjectSpec missing", slots: [`${web}.scaledObjectSpec`], expect: [`${web}.scaledObjectSpec`], apply: (c) => delete c.workloads.web.scaledObjectSpec },
    { id: "workload weight -1", slots: [`${web}.memberClusters[1].weight`], expect: [`${web}.memberClusters[1].weight`], apply: (c) => (c.workloads.web.memberClusters[1].weight = -1) },
    {
      id: "workload weights all 0",
      slots: [`${web}.memberClusters[0].weight`, `${web}.memberClusters[1].weight`],
      expect: [`${web}.memberClusters`],
      apply: (c) => c.workloads.web.memberClusters.forEach((m: Json) => (m.weight = 0)),
    },
    { id: "workloads not JSON", slots: [hub, `${P}members`, `${P}workloads`], expect: [`${P}workloads`], apply: (c) => ((c.$raw ??= {}).workloads = "web: {}") },
  ];
}

export function invalidStackConfigs(count: number, seed: number): Generated[] {
  return generate(validStackConfig, configMutations(), count, seed);
}
