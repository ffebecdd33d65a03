/**
 * Bounded Webster (Sainte-Laguë) apportionment: splits `total` replicas among claims
 * in proportion to their weights, rounding remainders fairly, within per-claim bounds.
 *
 * The result is the one the sequential highest-averages procedure gives (start every
 * claim at its minimum, then hand out replicas one at a time to the claim with the
 * highest weight / (allocated + 1/2), ties to the lower rank). Being sequential, it is
 * house-monotone: raising the total never lowers any claim. This implementation gets
 * there quickly instead of one replica at a time: it rounds at an estimated divisor
 * (a valid divisor apportionment for some total), then adds or removes the few
 * replicas in between in exactly the sequential order.
 */
export interface Claim {
  weight: number;
  min: number;
  /** Infinity when unbounded. */
  max: number;
  /** Tie rank: lower wins the next replica, and keeps its last one longest. */
  rank: number;
}

/**
 * When the bounds cannot all hold, bounds win over the total: the sum is the sum of
 * the minimums when those exceed the total, the sum of the maximums when those fall
 * short of it. Callers compare the sum with the total to report that.
 */
export function apportion(total: number, claims: readonly Claim[]): number[] {
  const n = claims.length;
  let sumMin = 0;
  let sumMax = 0;
  for (const c of claims) {
    sumMin += c.min;
    sumMax += c.max;
  }
  if (total <= sumMin) return claims.map((c) => c.min);
  if (total >= sumMax) return claims.map((c) => c.max);

  const alloc = roundAtEstimatedDivisor(total, claims);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += alloc[i]!;

  // Priority of claim i's next replica is weight / (2a + 1); of its last one, weight / (2a - 1).
  // Compared by cross-multiplication, so no floating-point division decides a tie.
  while (sum < total) {
    let best = -1;
    for (let i = 0; i < n; i++) {
      const c = claims[i]!;
      if (alloc[i]! >= c.max) continue;
      if (best < 0) {
        best = i;
        continue;
      }
      const b = claims[best]!;
      const lhs = c.weight * (2 * alloc[best]! + 1);
      const rhs = b.weight * (2 * alloc[i]! + 1);
      if (lhs > rhs || (lhs === rhs && c.rank < b.rank)) best = i;
    }
    alloc[best]!++;
    sum++;
  }
  while (sum > total) {
    let worst = -1;
    for (let i = 0; i < n; i++) {
      const c = claims[i]!;
      if (alloc[i]! <= c.min) continue;
      if (worst < 0) {
        worst = i;
        continue;
      }
      const w = claims[worst]!;
      const lhs = c.weight * (2 * alloc[worst]! - 1);
      const rhs = w.weight * (2 * alloc[i]! - 1);
      if (lhs < rhs || (lhs === rhs && c.rank > w.rank)) worst = i;
    }
    alloc[worst]!--;
    sum--;
  }
  return alloc;
}

/**
 * Rounds weight / d half-up within bounds for every claim at one divisor d, refining d
 * over the claims no bound holds so that the sum lands close to the total even when
 * many bounds bind. A rounding of all claims at one divisor is itself a valid bounded
 * Webster apportionment (of its own sum), which is what lets the caller finish with
 * exact sequential steps.
 *
 * Each round fixes only the bound claims on one side: those held up at their minimum
 * when the bounds added replicas, those held down at their maximum when they took some
 * away, so every round fixes at least one claim and the divisor settles near the one
 * the total needs. (Fixing both sides at once could strand a claim at its minimum whose
 * share later grew past it, and leave the sequential steps billions of replicas to hand
 * out one at a time.) Rounds on different sides can still leave a claim fixed at a bound
 * that the last divisor no longer holds it at, so the result is every claim rounded anew
 * at the last divisor.
 */
function roundAtEstimatedDivisor(total: number, claims: readonly Claim[]): number[] {
  const n = claims.length;
  const alloc = claims.map((c) => c.min);
  const fixed = new Array<boolean>(n).fill(false);
  // The divisor is total / weight of the free claims in the last round: shares are weight * total / weight.
  let divisor: { total: number; weight: number } | undefined;
  for (let round = 0; round < n; round++) {
    let freeWeight = 0;
    let freeTotal = total;
    for (let i = 0; i < n; i++) {
      if (fixed[i]) freeTotal -= alloc[i]!;
      else freeWeight += claims[i]!.weight;
    }
    if (freeWeight === 0) break;
    divisor = { total: freeTotal, weight: freeWeight };
    let excess = 0;
    const low: number[] = [];
    const high: number[] = [];
    for (let i = 0; i < n; i++) {
      if (fixed[i]) continue;
      const c = claims[i]!;
      const ideal = freeTotal > 0 ? roundHalfUp(c.weight * freeTotal, freeWeight) : 0;
      alloc[i] = Math.min(c.max, Math.max(c.min, ideal));
      if (alloc[i]! > ideal) low.push(i);
      if (alloc[i]! < ideal) high.push(i);
      excess += alloc[i]! - ideal;
    }
    if (low.length === 0 && high.length === 0) break;
    for (const i of excess > 0 ? low : excess < 0 ? high : [...low, ...high]) fixed[i] = true;
  }
  if (divisor === undefined) return alloc;
  // Every claim rounded at that one divisor, the fixed ones too: a claim fixed at a bound in an
  // earlier round need not be held there at the last divisor (fixing at the maximum lowers the
  // divisor, fixing at the minimum raises it). Rounding all at one divisor is what makes the
  // result a valid apportionment of its own sum, which the sequential steps rely on.
  const { total: shareTotal, weight: shareWeight } = divisor;
  return claims.map((c) => Math.min(c.max, Math.max(c.min, shareTotal > 0 ? roundHalfUp(c.weight * shareTotal, shareWeight) : 0)));
}

/** round(numerator / denominator), halves up, exact for integers below 2^53. */
function roundHalfUp(numerator: number, denominator: number): number {
  const dividend = 2 * numerator + denominator;
  const divisor = 2 * denominator;
  let quotient = Math.floor(dividend / divisor);
  if (quotient * divisor > dividend) quotient--;
  else if ((quotient + 1) * divisor <= dividend) quotient++;
  return quotient;
}
