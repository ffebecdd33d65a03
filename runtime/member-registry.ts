/**
 * The registered members, kept in step with the labelled kubeconfig Secrets in the
 * runtime's namespace: a connection per member, rebuilt when its kubeconfig changes,
 * dropped when its Secret goes.
 */
import type * as k8s from "@kubernetes/client-node";
import { MEMBER_LABEL } from "../components/labels";
import { type MemberListener, MemberConnection, type MemberSettings } from "./member-connection";
import type { HubClient } from "../members/hub";
import type { Logger } from "./log";
import type { RuntimeMetrics } from "./metrics";
import { WatchedCache } from "./watch";

export interface MemberRegistryListener extends MemberListener {
  /** A member was added, replaced or removed. */
  membership(member: string): void;
}

export class MemberRegistry {
  readonly secrets: WatchedCache<k8s.V1Secret>;
  private readonly connections = new Map<string, MemberConnection>();

  constructor(
    hub: HubClient,
    namespace: string,
    private readonly settings: MemberSettings,
    private readonly listener: MemberRegistryListener,
    private readonly metrics: RuntimeMetrics,
    private readonly log: Logger,
    onState: () => void,
  ) {
    this.secrets = new WatchedCache<k8s.V1Secret>({
      what: "watch member secrets",
      config: hub.config,
      path: `/api/v1/namespaces/${namespace}/secrets`,
      labelSelector: MEMBER_LABEL,
      list: () => hub.listMemberSecrets(namespace),
      onChange: (change, secret) => this.secretChanged(change, secret),
      onState,
      log,
    });
  }

  start(): void {
    this.secrets.start();
  }

  async stop(): Promise<void> {
    await this.secrets.stop();
    await Promise.all([...this.connections.values()].map((c) => c.stop()));
    this.connections.clear();
  }

  /** Names of the registered members: who takes part in a DSO that lists none. */
  names(): string[] {
    return [...this.connections.keys()].sort();
  }

  get(member: string): MemberConnection | undefined {
    return this.connections.get(member);
  }

  private secretChanged(change: "add" | "update" | "delete", secret: k8s.V1Secret): void {
    const member = secret.metadata?.labels?.[MEMBER_LABEL];
    if (!member) return;
    const existing = this.connections.get(member);
    const encoded = secret.data?.kubeconfig;
    const kubeconfig = change === "delete" || encoded === undefined ? undefined : Buffer.from(encoded, "base64").toString("utf8");
    if (existing !== undefined && existing.kubeconfig === kubeconfig) return;

    // Stopping silences the old connection at once; its watches close in the background.
    if (existing !== undefined) {
      this.connections.delete(member);
      void existing.stop();
    }
    if (kubeconfig === undefined) {
      this.metrics.forgetMember(member);
      this.log.info({ member }, "member removed");
    } else {
      const source = { namespace: secret.metadata?.namespace ?? "", name: secret.metadata?.name ?? "" };
      const connection = new MemberConnection(member, source, kubeconfig, this.settings, this.listener, this.metrics, this.log);
      this.connections.set(member, connection);
      connection.start();
      this.log.info({ member, id: connection.id }, existing ? "member kubeconfig changed; reconnected" : "member added");
    }
    this.listener.membership(member);
  }
}
