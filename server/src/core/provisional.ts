/**
 * What the votes of a run in progress already say about SegCertify's final decision: exact statements,
 * read from the counts alone, for the live preview (never shown as certified).
 *
 * SegCertify certifies pixel i iff the one-sided test P[Bin(n, τ) ≥ k_i] (binomPValueTable, the table
 * certifyFromCounts uses) is rejected by Holm or Bonferroni at family-wise level α over K pixels. The
 * p-value falls as the count grows, and estimation counts only grow, so two integer thresholds, derived
 * once per run, decide a pixel early:
 *  - certainAt: smallest k with p(k) ≤ α/K. Bonferroni rejects it, and Holm rejects everything Bonferroni
 *    rejects (each Holm level α/(K − r) ≥ α/K). A pixel at certainAt is certified whatever comes next.
 *  - reachableAt: smallest k that can ever be rejected: p(k) ≤ α for Holm (no Holm level exceeds α/1),
 *    p(k) ≤ α/K for Bonferroni. A pixel that stays below it even if every remaining sample votes for its
 *    class (k + n − done < reachableAt) abstains whatever comes next.
 * Everything in between is undecided: it depends on the remaining votes and, for Holm, on the other pixels.
 */
import type { Correction } from '../../../protocol/config';
import { binomPValueTable } from './stats';
import type { ProvisionalThresholds } from '../../../protocol/results';

export type { ProvisionalThresholds } from '../../../protocol/results';
/** The per-pixel states the preview draws: common/provisional.ts. */
export { CANNOT_CERTIFY, UNDECIDED, WILL_CERTIFY, provisionalState, type ProvisionalState } from '../../../common/provisional';

/** Smallest count k with pValues[k] ≤ level (pValues non-increasing in k); pValues.length (= n + 1) if none. */
export function smallestCountAtLevel(pValues: Float64Array, level: number): number {
  let k = pValues.length;
  while (k > 0 && pValues[k - 1] <= level) k--;
  return k;
}

/** The two thresholds of a run: K is the number of tested pixels (the certified region). */
export function provisionalThresholds(
  n: number,
  tau: number,
  alpha: number,
  numPixels: number,
  correction: Correction,
): ProvisionalThresholds {
  const pValues = binomPValueTable(n, tau);
  // alpha / numPixels: the very expression holmThreshold and bonferroniThreshold compare with
  const certainAt = smallestCountAtLevel(pValues, alpha / numPixels);
  const reachableAt = correction === 'holm' ? smallestCountAtLevel(pValues, alpha) : certainAt;
  return { n, certainAt, reachableAt };
}
