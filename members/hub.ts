/**
 * The one client of the hub cluster, for the provider, the CLI and the runtime: the member
 * kubeconfigs that MemberCluster stores there, the DistributedScaledObjects (read, list,
 * status), Events on them, and who leads. Every request is bounded by HUB_TIMEOUT_MS, so
 * a slow hub can stall no loop. The runtime's total sources (KEDA, the built-in trigger)
 * make their own API clients from the same KubeConfig (`config`).
 */
import type * as k8s from "@kubernetes/client-node";
import { MEMBER_LABEL } from "../components/labels";
import { clientNode, kubeConfigFromString, timeoutOptions } from "./client-node";
import { API_GROUP, API_VERSION, KIND, PLURAL, RUNTIME_LEASE_NAME } from "../schema/dso-names";

export const HUB_TIMEOUT_MS = 10_000;
export const DSO_PATH = `/apis/${API_GROUP}/${API_VERSION}/${PLURAL}`;

/** The hub as callers have it: a kubeconfig's content, or a KubeConfig they loaded themselves. */
export type HubConnection = string | k8s.KubeConfig;

export function hubKubeConfig(hub: HubConnection): k8s.KubeConfig {
  return typeof hub === "string" ? kubeConfigFromString(hub) : hub;
}

/** A DSO as the hub serves it: not validated yet. */
export interface DsoObject extends k8s.KubernetesObject {
  spec?: unknown;
  status?: unknown;
}

/** One Event on a DSO, as the runtime's event recorder counts it. */
export interface EventWrite {
  reason: string;
  message: string;
  count: number;
  firstTimestamp: Date;
  lastTimestamp: Date;
}

/** Who records Events: the component and this instance of it. */
export interface EventSource {
  component: string;
  instance: string;
}

export class HubClient {
  readonly config: k8s.KubeConfig;
  private readonly core: k8s.CoreV1Api;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly coordination: k8s.CoordinationV1Api;

  constructor(
    hub: HubConnection,
    private readonly source: EventSource = { component: "fleetscale", instance: "" },
  ) {
    const lib = clientNode();
    this.config = hubKubeConfig(hub);
    this.core = this.config.makeApiClient(lib.CoreV1Api);
    this.custom = this.config.makeApiClient(lib.CustomObjectsApi);
    this.coordination = this.config.makeApiClient(lib.CoordinationV1Api);
  }

  /**
   * The identity of the runtime leading in `namespace`, or undefined when its Lease is free or
   * expired. One read, so it trusts the renew time the leader wrote (the runtime's own election,
   * runtime/lease.ts, watches the Lease change instead, as client-go does). A clock skewed by
   * more than the lease duration would see a live leader as gone (two writers) or a stopped one
   * as leading (`up` waits for it and times out naming it).
   */
  async runtimeLeader(namespace: string, now = Date.now()): Promise<string | undefined> {
    let lease: k8s.V1Lease;
    try {
      lease = await this.coordination.readNamespacedLease({ namespace, name: RUNTIME_LEASE_NAME }, timeoutOptions(HUB_TIMEOUT_MS));
    } catch (error) {
      if ((error as { code?: unknown }).code === 404) return undefined;
      throw error;
    }
    const holder = lease.spec?.holderIdentity;
    const renewed = lease.spec?.renewTime ?? lease.spec?.acquireTime;
    if (!holder || renewed === undefined) return undefined;
    const expires = new Date(renewed as unknown as string).getTime() + (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
    return expires > now ? holder : undefined;
  }

  /** The labelled member Secrets in the fleet's hub namespace. */
  async listMemberSecrets(namespace: string): Promise<k8s.V1SecretList> {
    return this.core.listNamespacedSecret({ namespace, labelSelector: MEMBER_LABEL }, timeoutOptions(HUB_TIMEOUT_MS));
  }

  /** Member name -> kubeconfig, from the labelled Secrets in the fleet's hub namespace. */
  async memberKubeconfigs(namespace: string): Promise<Map<string, string>> {
    const secrets = await this.listMemberSecrets(namespace);
    const found = new Map<string, string>();
    for (const secret of secrets.items) {
      const member = secret.metadata?.labels?.[MEMBER_LABEL];
      const data = secret.data?.kubeconfig;
      if (member && data) found.set(member, Buffer.from(data, "base64").toString("utf8"));
    }
    return found;
  }

  /** The live DSO, or undefined when it does not exist (yet). */
  async distributedScaledObject(namespace: string, name: string): Promise<Record<string, unknown> | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: PLURAL, name }, timeoutOptions(HUB_TIMEOUT_MS))) as Record<
        string,
        unknown
      >;
    } catch (error) {
      if ((error as { code?: unknown }).code === 404) return undefined;
      throw error;
    }
  }

  async listDsos(): Promise<k8s.KubernetesListObject<DsoObject>> {
    return (await this.custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: PLURAL }, timeoutOptions(HUB_TIMEOUT_MS))) as k8s.KubernetesListObject<DsoObject>;
  }

  /**
   * Replaces the whole status with one JSON Patch "add": no read-modify-write conflicts
   * with spec updates, and members no longer listed disappear (a merge patch would keep them).
   */
  async writeStatus(namespace: string, name: string, status: unknown): Promise<DsoObject> {
    const body = [{ op: "add", path: "/status", value: status }];
    return (await this.custom.patchNamespacedCustomObjectStatus({ group: API_GROUP, version: API_VERSION, namespace, plural: PLURAL, name, body }, timeoutOptions(HUB_TIMEOUT_MS))) as DsoObject;
  }

  /** An Event on the DSO (the runtime's event recorder decides between creating and updating one). */
  async createEvent(dso: DsoObject, event: EventWrite): Promise<string> {
    const namespace = dso.metadata?.namespace ?? "default";
    const created = await this.core.createNamespacedEvent(
      {
        namespace,
        body: {
          metadata: { generateName: `${dso.metadata?.name}.`, namespace },
          involvedObject: {
            apiVersion: dso.apiVersion ?? `${API_GROUP}/${API_VERSION}`,
            kind: KIND,
            name: dso.metadata?.name,
            namespace,
            uid: dso.metadata?.uid,
            resourceVersion: dso.metadata?.resourceVersion,
          },
          reason: event.reason,
          message: event.message,
          type: "Normal",
          source: { component: this.source.component },
          reportingComponent: this.source.component,
          reportingInstance: this.source.instance,
          firstTimestamp: event.firstTimestamp,
          lastTimestamp: event.lastTimestamp,
          count: event.count,
        },
      },
      timeoutOptions(HUB_TIMEOUT_MS),
    );
    return created.metadata?.name ?? "";
  }

  /** Counts another occurrence into an Event created before. */
  async updateEvent(dso: DsoObject, name: string, event: EventWrite): Promise<void> {
    const lib = clientNode();
    const body = { count: event.count, message: event.message, lastTimestamp: event.lastTimestamp.toISOString() };
    const options = lib.setHeaderOptions("Content-Type", lib.PatchStrategy.MergePatch, timeoutOptions(HUB_TIMEOUT_MS));
    await this.core.patchNamespacedEvent({ namespace: dso.metadata?.namespace ?? "default", name, body }, options);
  }
}
