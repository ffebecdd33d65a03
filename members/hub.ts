/**
 * What the provider and the runtime read from the hub: the member kubeconfigs that
 * MemberCluster stores there, the live DistributedScaledObjects, and who leads.
 */
import type * as k8s from "@kubernetes/client-node";
import { MEMBER_LABEL } from "../components/labels";
import { clientNode, kubeConfigFromString } from "./client-node";
import { API_GROUP, API_VERSION, PLURAL, RUNTIME_LEASE_NAME } from "../schema/dso-names";

export class HubClient {
  private readonly core: k8s.CoreV1Api;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly coordination: k8s.CoordinationV1Api;

  constructor(kubeconfig: string) {
    const lib = clientNode();
    const config = kubeConfigFromString(kubeconfig);
    this.core = config.makeApiClient(lib.CoreV1Api);
    this.custom = config.makeApiClient(lib.CustomObjectsApi);
    this.coordination = config.makeApiClient(lib.CoordinationV1Api);
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
      lease = await this.coordination.readNamespacedLease({ namespace, name: RUNTIME_LEASE_NAME });
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

  /** Member name -> kubeconfig, from the labelled Secrets in the fleet's hub namespace. */
  async memberKubeconfigs(namespace: string): Promise<Map<string, string>> {
    const secrets = await this.core.listNamespacedSecret({ namespace, labelSelector: MEMBER_LABEL });
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
      return (await this.custom.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: PLURAL, name })) as Record<string, unknown>;
    } catch (error) {
      if ((error as { code?: unknown }).code === 404) return undefined;
      throw error;
    }
  }
}
