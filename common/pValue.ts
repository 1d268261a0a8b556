/**
 * The per-pixel p-value as the preview shows it: the exact one-sided binomial tail of common/stats.ts, the
 * very function certification tests with (server/src/core/multipleTesting.ts), and its display format.
 */
import { binomUpperTail } from './stats';

/** One-sided binomial p-value P(X ≥ c) for X ~ Bin(n, τ): the per-pixel test of SegCertify. */
export function binomialPValue(c: number, n: number, tau: number): number {
  return binomUpperTail(c, n, tau);
}

/** 4 decimals, or 3 significant digits in exponent form below 0.001. */
export function formatPValue(p: number): string {
  return p >= 0.001 ? p.toFixed(4) : p.toExponential(2);
}
