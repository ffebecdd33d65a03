/**
 * What the runtime does in the hub besides watching: write DSO status through the status
 * subresource, record Events on DSOs. Every request is bounded in time.
 */
import type * as k8s from "@kubernetes/client-node";
import type { DsoStatus } from "../schema/dso";
import type { EventWrite } from "./event-recorder";
import { API_GROUP, API_VERSION, KIND, PLURAL } from "../schema/dso-names";
import { clientNode, timeoutOptions } from "../members/client-node";

export const HUB_TIMEOUT_MS = 10_000;
export const DSO_PATH = `/apis/${API_GROUP}/${API_VERSION}/${PLURAL}`;

/** A DSO as the hub serves it: not validated yet. */
export interface DsoObject extends k8s.KubernetesObject {
  spec?: unknown;
  status?: unknown;
}

export class HubApi {
  private readonly core: k8s.CoreV1Api;
  private readonly custom: k8s.CustomObjectsApi;

  constructor(
    config: k8s.KubeConfig,
    private readonly component: string,
    private readonly instance: string,
  ) {
    const lib = clientNode();
    this.core = config.makeApiClient(lib.CoreV1Api);
    this.custom = config.makeApiClient(lib.CustomObjectsApi);
  }

  async listDsos(): Promise<k8s.KubernetesListObject<DsoObject>> {
    return (await this.custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: PLURAL }, timeoutOptions(HUB_TIMEOUT_MS))) as k8s.KubernetesListObject<DsoObject>;
  }

  /**
   * Replaces the whole status with one JSON Patch "add": no read-modify-write conflicts
   * with spec updates, and members no longer listed disappear (a merge patch would keep them).
   */
  async writeStatus(namespace: string, name: string, status: DsoStatus): Promise<DsoObject> {
    const body = [{ op: "add", path: "/status", value: status }];
    return (await this.custom.patchNamespacedCustomObjectStatus({ group: API_GROUP, version: API_VERSION, namespace, plural: PLURAL, name, body }, timeoutOptions(HUB_TIMEOUT_MS))) as DsoObject;
  }

  /** An Event on the DSO (event-recorder.ts decides between creating and updating one). */
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
          source: { component: this.component },
          reportingComponent: this.component,
          reportingInstance: this.instance,
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
