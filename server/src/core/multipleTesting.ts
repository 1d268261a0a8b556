/**
 * SegCertify's family-wise tests over K pixels. Each pixel's p-value depends only on
 * its integer count k ∈ {0..n}, so everything works on the (n+1)-entry p-value table
 * and a histogram of counts: O(K + n) instead of sorting K p-values.
 */
import { ABSTAIN } from './labels';
import { binomPValueTable, clopperPearsonLower, normInv } from './stats';

import type { Correction } from '../../../protocol/config';

export type { Correction } from '../../../protocol/config';

export interface Threshold {
  /** Certify exactly the pixels with count ≥ minCount: the smallest count among rejected pixels, n+1 if none. */
  minCount: number;
  /** Number of rejected null hypotheses (= certified pixels). */
  rejected: number;
}

export interface CertifyResult extends Threshold {
  /** Per pixel: the selected class where certified, else ABSTAIN. */
  certified: Uint8Array;
  /** pValues[k] = P[Bin(n, τ) ≥ k]. */
  pValues: Float64Array;
}

type Counts = Uint16Array | Uint32Array;
type Histogram = Float64Array | Uint32Array;

function checkAlpha(alpha: number): void {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
}

function checkTable(hist: Histogram, pValues: Float64Array): void {
  if (hist.length !== pValues.length) {
    throw new RangeError(`histogram has ${hist.length} entries but the p-value table ${pValues.length}`);
  }
}

function total(hist: Histogram): number {
  let k = 0;
  for (let c = 0; c < hist.length; c++) k += hist[c];
  return k;
}

/**
 * Holm step-down via the count histogram. pValues must be non-increasing in the
 * count (true for binomial upper tails), so walking counts from n down visits
 * p-values in ascending order; a block of tied pixels passes as a whole iff its
 * first member (strictest threshold α/(K − r)) passes, exactly as textbook Holm.
 */
export function holmThreshold(hist: Histogram, pValues: Float64Array, alpha: number): Threshold {
  checkAlpha(alpha);
  checkTable(hist, pValues);
  const K = total(hist);
  let rejected = 0;
  let minCount = hist.length; // n + 1
  for (let c = hist.length - 1; c >= 0; c--) {
    const m = hist[c];
    if (m === 0) continue;
    if (!(pValues[c] <= alpha / (K - rejected))) break;
    rejected += m;
    minCount = c;
  }
  return { minCount, rejected };
}

/** Bonferroni: reject iff p ≤ α/K. */
export function bonferroniThreshold(hist: Histogram, pValues: Float64Array, alpha: number): Threshold {
  checkAlpha(alpha);
  checkTable(hist, pValues);
  const K = total(hist);
  const thr = alpha / K;
  let rejected = 0;
  let minCount = hist.length;
  for (let c = hist.length - 1; c >= 0; c--) {
    const m = hist[c];
    if (m === 0) continue;
    if (!(pValues[c] <= thr)) break; // p non-increasing in c: every lower count fails too
    rejected += m;
    minCount = c;
  }
  return { minCount, rejected };
}

/** hist[k] = number of pixels with count k, k = 0..n. Throws on a count above n (a counting bug). */
export function countHistogram(counts: Counts, n: number): Uint32Array {
  const hist = new Uint32Array(n + 1);
  for (let i = 0; i < counts.length; i++) {
    const k = counts[i];
    if (k > n) throw new RangeError(`pixel ${i} has count ${k} > n = ${n}`);
    hist[k]++;
  }
  return hist;
}

/** SegCertify's test: certified[i] = selected[i] if pixel i's H0 (p ≤ τ) is rejected, else ABSTAIN. */
export function certifyFromCounts(
  selected: Uint8Array,
  counts: Counts,
  n: number,
  tau: number,
  alpha: number,
  correction: Correction,
): CertifyResult {
  if (selected.length !== counts.length) {
    throw new RangeError(`selected has ${selected.length} pixels but counts ${counts.length}`);
  }
  const pValues = binomPValueTable(n, tau);
  const hist = countHistogram(counts, n);
  const t = correction === 'holm' ? holmThreshold(hist, pValues, alpha) : bonferroniThreshold(hist, pValues, alpha);
  const certified = new Uint8Array(counts.length);
  const minCount = t.minCount;
  for (let i = 0; i < counts.length; i++) certified[i] = counts[i] >= minCount ? selected[i] : ABSTAIN;
  return { certified, minCount, rejected: t.rejected, pValues };
}

/**
 * Cohen-style per-pixel radius map: σ·Φ⁻¹(p_lower) with p_lower the one-sided
 * Clopper-Pearson bound at alphaPerPixel (pass α/K for Bonferroni), 0 where
 * p_lower ≤ ½ (abstain). One bound per distinct count, not per pixel.
 */
export function clopperPearsonRadiusMap(counts: Counts, n: number, alphaPerPixel: number, sigma: number): Float32Array {
  checkAlpha(alphaPerPixel);
  const radius = new Float64Array(n + 1);
  for (let k = 0; k <= n; k++) {
    // p_lower < k/n for α < ½, so counts ≤ n/2 can never clear ½: skip the solve.
    if (alphaPerPixel < 0.5 && 2 * k <= n) continue;
    const pl = clopperPearsonLower(k, n, alphaPerPixel);
    radius[k] = pl > 0.5 ? sigma * normInv(pl) : 0;
  }
  const out = new Float32Array(counts.length);
  for (let i = 0; i < counts.length; i++) {
    const k = counts[i];
    if (k > n) throw new RangeError(`pixel ${i} has count ${k} > n = ${n}`);
    out[i] = radius[k];
  }
  return out;
}
