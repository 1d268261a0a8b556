/**
 * Can anything be certified at all? The most favourable pixel has count n and, for
 * both Holm and Bonferroni, is tested first at level α/K (Holm's first step equals
 * Bonferroni). If P[Bin(n, τ) ≥ n] = τⁿ > α/K, every pixel abstains whatever the model.
 */
import { CertsegError } from './errors';
import type { Correction } from '../../../protocol/config';
import { binomPValueTable, binomUpperTail } from './stats';

function checkArgs(n: number, tau: number, alpha: number, numPixels: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (!(tau > 0 && tau < 1)) throw new RangeError(`tau must be in (0, 1), got ${tau}`);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!Number.isInteger(numPixels) || numPixels < 1) {
    throw new RangeError(`numPixels must be a positive integer, got ${numPixels}`);
  }
}

/**
 * Smallest count k that a pixel needs to be certified in the best case
 * (P[Bin(n, τ) ≥ k] ≤ α/K, the same table certifyFromCounts uses), or null if even
 * k = n fails. The correction is accepted for symmetry: both start at α/K.
 */
export function minCertifiableCount(n: number, tau: number, alpha: number, numPixels: number, _correction: Correction): number | null {
  checkArgs(n, tau, alpha, numPixels);
  const table = binomPValueTable(n, tau);
  const thr = alpha / numPixels;
  if (!(table[n] <= thr)) return null;
  let k = n;
  while (k > 0 && table[k - 1] <= thr) k--; // table is non-increasing in k
  return k;
}

/** Smallest n with τⁿ ≤ α/K, i.e. the least n under which a unanimous pixel is certifiable. */
export function minFeasibleN(tau: number, alpha: number, numPixels: number): number {
  checkArgs(1, tau, alpha, numPixels);
  const thr = alpha / numPixels;
  // Closed form, then nudged with the same tail function the test uses (rounding).
  let n = Math.max(1, Math.ceil(Math.log(thr) / Math.log(tau)));
  while (n > 1 && binomUpperTail(n - 1, n - 1, tau) <= thr) n--;
  while (!(binomUpperTail(n, n, tau) <= thr)) n++;
  return n;
}

/**
 * Throws CertsegError('infeasible') when no pixel can ever be certified; otherwise
 * returns minCertifiableCount.
 */
export function assertFeasible(n: number, tau: number, alpha: number, numPixels: number, correction: Correction): number {
  const k = minCertifiableCount(n, tau, alpha, numPixels, correction);
  if (k !== null) return k;
  const p = binomUpperTail(n, n, tau);
  const thr = alpha / numPixels;
  throw new CertsegError(
    `n = ${n} is too small: at τ = ${tau}, α = ${alpha} (${correction}) over K = ${numPixels} pixels, ` +
      `even a pixel with all ${n} votes has p = ${fmt(p)} > α/K = ${fmt(thr)}; ` +
      `use n ≥ ${minFeasibleN(tau, alpha, numPixels)}`,
    'infeasible',
  );
}

function fmt(x: number): string {
  return x.toPrecision(3);
}
