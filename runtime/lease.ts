/**
 * Leader election over a coordination.k8s.io Lease: the decision, pure. Expiry is
 * judged by the local clock from when this instance last saw the lease record change,
 * never by comparing the holder's renewTime with our clock (the two clocks may differ).
 */
export interface LeaseRecord {
  holder: string | undefined;
  durationMs: number;
  /** Changes on every renewal: how a standby tells a live holder from a dead one. */
  version: string;
}

export type LeaseAction = "renew" | "take" | "wait";

export interface Sighting {
  version: string;
  /** Local epoch ms when `version` was first seen. */
  at: number;
}

/** Remembers when the record was first seen in its current version. */
export function sight(previous: Sighting | undefined, record: LeaseRecord, now: number): Sighting {
  return previous?.version === record.version ? previous : { version: record.version, at: now };
}

export function leaseAction(record: LeaseRecord, identity: string, sighting: Sighting, now: number): LeaseAction {
  if (record.holder === identity) return "renew";
  if (!record.holder) return "take";
  return now - sighting.at >= record.durationMs ? "take" : "wait";
}
