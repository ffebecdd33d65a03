/**
 * Tie ranks: when two members have exactly equal claim to the next replica, the one
 * with the lower rank wins. Ranks come from a hash of workload and member name, so
 * ties fall differently for different workloads (no member is favoured fleet-wide,
 * as it would be with alphabetical order) yet identically for the same input.
 */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Returns rank[i] for names[i]: 0 for the member that wins ties, then 1, 2, ... */
export function tieRanks(workload: string, names: readonly string[]): number[] {
  const keyed = names.map((name, index) => ({ index, name, hash: fnv1a(`${workload}\u0000${name}`) }));
  keyed.sort((a, b) => a.hash - b.hash || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const ranks = new Array<number>(names.length);
  keyed.forEach((entry, rank) => (ranks[entry.index] = rank));
  return ranks;
}
