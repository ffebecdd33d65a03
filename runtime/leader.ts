/**
 * Runs the leader election loop, client-go's timing: a standby retries every 2 s, the
 * leader renews every 2 s on a 15 s lease, and leadership ends at its renew deadline
 * (10 s) without a renewal. (It renewed every 5 s before: under load a renewal that took a
 * few seconds, followed by the next one 5 s after it ended, passed the deadline with no
 * request failing; the scale bench lost the lease 7 times that way at 1,000 DSOs.) Leadership ends at once when
 * another holder is seen, an update conflicts, or the renew deadline passes without a
 * renewal: a timer ends it then, and isLeader() applies the deadline by the clock besides,
 * so no write happens on an expired lease even while a renewal request hangs. The
 * deadline is shorter than the lease, so a leader cut off from the hub has stopped
 * writing for 5 s before a standby may take the lease.
 */
import type * as k8s from "@kubernetes/client-node";
import { clientNode, httpStatusOf, timeoutOptions } from "../members/client-node";
import { type Sighting, leaseAction, sight } from "./lease";
import type { Logger } from "./log";
import { messageOf } from "./watch";

export interface LeaderTiming {
  leaseDurationMs: number;
  renewIntervalMs: number;
  renewDeadlineMs: number;
  retryIntervalMs: number;
}

export const LEADER_TIMING: LeaderTiming = { leaseDurationMs: 15_000, renewIntervalMs: 2_000, renewDeadlineMs: 10_000, retryIntervalMs: 2_000 };

export interface LeadershipListener {
  started(): void;
  stopped(): void;
}

export class LeaderElector {
  private readonly api: k8s.CoordinationV1Api;
  private leading = false;
  private lastRenew = 0;
  /** When the hub last answered a campaign request (any answer, 404 and 409 included). */
  private lastAnswer = 0;
  private sighting: Sighting | undefined;
  private timer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  constructor(
    config: k8s.KubeConfig,
    private readonly namespace: string,
    private readonly name: string,
    readonly identity: string,
    private readonly listener: LeadershipListener,
    private readonly log: Logger,
    private readonly timing: LeaderTiming = LEADER_TIMING,
  ) {
    this.api = config.makeApiClient(clientNode().CoordinationV1Api);
  }

  isLeader(): boolean {
    return this.leading && Date.now() - this.lastRenew < this.timing.renewDeadlineMs;
  }

  /** Whether the hub answered within the renew deadline: what /readyz and the hub_reachable metric say. */
  hubReachable(): boolean {
    return Date.now() - this.lastAnswer < this.timing.renewDeadlineMs;
  }

  start(): void {
    this.schedule(0);
  }

  /** Stops campaigning; a leader hands the lease back so a standby takes over without waiting for expiry. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.deadlineTimer);
    await this.running;
    if (!this.leading) return;
    this.lose("shutting down");
    try {
      const lease = await this.api.readNamespacedLease({ namespace: this.namespace, name: this.name }, this.options());
      if (lease.spec?.holderIdentity !== this.identity) return;
      const lib = clientNode();
      lease.spec = { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: new lib.V1MicroTime(Date.now()) };
      await this.api.replaceNamespacedLease({ namespace: this.namespace, name: this.name, body: lease }, this.options());
      this.log.info({ lease: this.name }, "leader lease released");
    } catch (error) {
      this.log.warn({ lease: this.name, err: messageOf(error) }, "could not release the leader lease; it expires on its own");
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick();
    }, delayMs);
  }

  private async tick(): Promise<void> {
    const renewedBefore = this.lastRenew;
    try {
      await this.campaign();
      this.lastAnswer = Date.now();
    } catch (error) {
      if (httpStatusOf(error) !== undefined) this.lastAnswer = Date.now();
      this.log.warn({ lease: this.name, err: messageOf(error) }, "leader election request failed");
    }
    this.loseIfExpired();
    // The next renewal counts from when this one started (the deadline does too), so a slow
    // hub shortens the pause instead of pushing the next renewal toward the deadline.
    const renewed = this.leading && this.lastRenew !== renewedBefore;
    this.schedule(renewed ? Math.max(0, this.lastRenew + this.timing.renewIntervalMs - Date.now()) : this.timing.retryIntervalMs);
  }

  private loseIfExpired(): void {
    if (this.leading && !this.isLeader()) this.lose(`no renewal within ${this.timing.renewDeadlineMs} ms`);
  }

  private async campaign(): Promise<void> {
    const lib = clientNode();
    const now = Date.now();
    let lease: k8s.V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ namespace: this.namespace, name: this.name }, this.options());
    } catch (error) {
      if (httpStatusOf(error) !== 404) throw error;
      const body: k8s.V1Lease = {
        metadata: { name: this.name, namespace: this.namespace },
        spec: {
          holderIdentity: this.identity,
          leaseDurationSeconds: this.timing.leaseDurationMs / 1000,
          acquireTime: new lib.V1MicroTime(now),
          renewTime: new lib.V1MicroTime(now),
          leaseTransitions: 0,
        },
      };
      await this.conflictAware(() => this.api.createNamespacedLease({ namespace: this.namespace, body }, this.options()), now);
      return;
    }

    const spec = lease.spec ?? {};
    const record = { holder: spec.holderIdentity, durationMs: (spec.leaseDurationSeconds ?? 15) * 1000, version: lease.metadata?.resourceVersion ?? "" };
    this.sighting = sight(this.sighting, record, now);
    const action = leaseAction(record, this.identity, this.sighting, now);
    if (action === "wait") {
      if (this.leading) this.lose(`lease held by ${record.holder}`);
      return;
    }
    const taking = action === "take";
    lease.spec = {
      ...spec,
      holderIdentity: this.identity,
      leaseDurationSeconds: this.timing.leaseDurationMs / 1000,
      renewTime: new lib.V1MicroTime(now),
      acquireTime: taking ? new lib.V1MicroTime(now) : spec.acquireTime,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (taking && record.holder ? 1 : 0),
    };
    await this.conflictAware(() => this.api.replaceNamespacedLease({ namespace: this.namespace, name: this.name, body: lease }, this.options()), now);
  }

  /** A write that lost a race (409) means another instance got there first. */
  private async conflictAware(write: () => Promise<k8s.V1Lease>, now: number): Promise<void> {
    try {
      const written = await write();
      this.sighting = { version: written.metadata?.resourceVersion ?? "", at: now };
    } catch (error) {
      if (httpStatusOf(error) !== 409) throw error;
      if (this.leading) this.lose("lease update conflicted");
      return;
    }
    this.lastRenew = now;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => this.loseIfExpired(), Math.max(0, now + this.timing.renewDeadlineMs - Date.now()));
    if (!this.leading) {
      this.leading = true;
      this.log.info({ lease: this.name }, "became leader");
      this.listener.started();
    }
  }

  private lose(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    clearTimeout(this.deadlineTimer);
    this.log.warn({ lease: this.name, why }, "stopped leading");
    this.listener.stopped();
  }

  private options(): k8s.ConfigurationOptions {
    // At most half the renew deadline, so a hanging request leaves time for another attempt.
    return timeoutOptions(Math.min(4_000, this.timing.renewDeadlineMs / 2));
  }
}
