/**
 * Tie ranks: when two members have exactly equal claim to the next replica, the one
 * with the lower rank wins. Ranks come from a hash of workload and member name, so
 * ties fall differently for different workloads (no member is favoured fleet-wide,
 * as it would be with alphabetical order) yet identically for the same input.
 */
function fnv1a(text: string, seed = 0x811c9dc5): number {
  let hash = seed;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * murmur3's 32-bit finalizer. FNV-1a alone ends with one multiply after the last
 * character, so names differing only there ("member-1" ... "member-5") fall into a
 * handful of relative orders whatever the workload: one member won most ties fleet-wide.
 */
function avalanche(hash: number): number {
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** Returns rank[i] for names[i]: 0 for the member that wins ties, then 1, 2, ... */
export function tieRanks(workload: string, names: readonly string[]): number[] {
  const seed = fnv1a("\u0000", fnv1a(workload));
  const hashes = names.map((name) => avalanche(fnv1a(name, seed)));
  const order = names.map((_, index) => index);
  order.sort((a, b) => hashes[a]! - hashes[b]! || (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : 0));
  const ranks = new Array<number>(names.length);
  order.forEach((index, rank) => (ranks[index] = rank));
  return ranks;
}
