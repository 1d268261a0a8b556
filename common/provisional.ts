/**
 * The provisional state of a pixel during a run, from its votes so far and the run's two thresholds
 * (derived by server/src/core/provisional.ts, which explains why they are exact). The live preview draws
 * these states; the server's tests check them against the final decision.
 */
import type { ProvisionalThresholds } from '../protocol/results';

export type { ProvisionalThresholds } from '../protocol/results';

/** Per-pixel provisional state codes (the webview draws them). */
export const UNDECIDED = 0;
export const WILL_CERTIFY = 1;
export const CANNOT_CERTIFY = 2;
export type ProvisionalState = typeof UNDECIDED | typeof WILL_CERTIFY | typeof CANNOT_CERTIFY;

/** The state of a pixel with `count` votes after `done` of the n estimation samples. */
export function provisionalState(count: number, done: number, t: ProvisionalThresholds): ProvisionalState {
  if (count >= t.certainAt) return WILL_CERTIFY;
  if (count + (t.n - done) < t.reachableAt) return CANNOT_CERTIFY;
  return UNDECIDED;
}
