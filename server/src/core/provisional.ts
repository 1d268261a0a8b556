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
import type { Correction } from './multipleTesting';
import { binomPValueTable } from './stats';

export interface ProvisionalThresholds {
  /** estimation samples of the run */
  n: number;
  /** votes at or above this: certified by the final decision (n + 1 if no count is) */
  certainAt: number;
  /** a final count below this is never certified (n + 1 if no count is) */
  reachableAt: number;
}

/** Per-pixel provisional state codes (the webview draws them). */
export const UNDECIDED = 0;
export const WILL_CERTIFY = 1;
export const CANNOT_CERTIFY = 2;
export type ProvisionalState = typeof UNDECIDED | typeof WILL_CERTIFY | typeof CANNOT_CERTIFY;

/** Smallest count k with pValues[k] ≤ level (pValues non-increasing in k); pValues.length (= n + 1) if none. */
export function smallestCountAtLevel(pValues: Float64Array, level: number): number {
  let k = pValues.length;
  while (k > 0 && pValues[k - 1] <= level) k--;
  return k;
}

/** The two thresholds of a run: K is the number of tested pixels (the certified region). */
export function provisionalThresholds(n: number, tau: number, alpha: number, numPixels: number, correction: Correction): ProvisionalThresholds {
  const pValues = binomPValueTable(n, tau);
  // alpha / numPixels: the very expression holmThreshold and bonferroniThreshold compare with
  const certainAt = smallestCountAtLevel(pValues, alpha / numPixels);
  const reachableAt = correction === 'holm' ? smallestCountAtLevel(pValues, alpha) : certainAt;
  return { n, certainAt, reachableAt };
}

/** The state of a pixel with `count` votes after `done` of the n estimation samples. */
export function provisionalState(count: number, done: number, t: ProvisionalThresholds): ProvisionalState {
  if (count >= t.certainAt) return WILL_CERTIFY;
  if (count + (t.n - done) < t.reachableAt) return CANNOT_CERTIFY;
  return UNDECIDED;
}
