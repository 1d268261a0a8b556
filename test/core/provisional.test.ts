/**
 * The live preview's early decisions (core/provisional.ts) against the real final decision
 * (certifyFromCounts): the two integer thresholds equal a brute-force scan of every count, and on random
 * runs "will be certified" / "can no longer be certified" always match what the final Holm or Bonferroni
 * test does, whatever the remaining samples vote.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ABSTAIN } from '../../server/src/core/labels';
import { certifyFromCounts, type Correction } from '../../server/src/core/multipleTesting';
import { CANNOT_CERTIFY, WILL_CERTIFY, provisionalState, provisionalThresholds } from '../../server/src/core/provisional';
import { mulberry32 } from '../../server/src/core/rng';

/** Is a pixel with final count k certified when all K pixels have count k (Bonferroni at α/K; Holm ties pass as a block at α/K too)? */
function certifiedAmongEqual(k: number, K: number, n: number, tau: number, alpha: number, correction: Correction): boolean {
  const r = certifyFromCounts(new Uint8Array(K), new Uint16Array(K).fill(k), n, tau, alpha, correction);
  return r.certified[0] !== ABSTAIN;
}

/** The single unadjusted test at level α: Holm over one pixel. */
function certifiedAlone(k: number, n: number, tau: number, alpha: number): boolean {
  return certifyFromCounts(new Uint8Array(1), Uint16Array.of(k), n, tau, alpha, 'holm').certified[0] !== ABSTAIN;
}

const GRID = [
  { n: 100, tau: 0.75, alpha: 0.001, K: 256 * 256 },
  { n: 64, tau: 0.75, alpha: 0.001, K: 128 * 128 },
  { n: 100, tau: 0.9, alpha: 0.05, K: 1000 },
  { n: 20, tau: 0.6, alpha: 0.05, K: 1 },
  { n: 30, tau: 0.75, alpha: 0.001, K: 5000 }, // infeasible: no count passes α/K
];

test('thresholds equal a brute-force scan of every count 0..n (Bonferroni level α/K, single test α)', () => {
  for (const { n, tau, alpha, K } of GRID) {
    for (const correction of ['holm', 'bonferroni'] as const) {
      const t = provisionalThresholds(n, tau, alpha, K, correction);
      const bonf: boolean[] = [];
      const single: boolean[] = [];
      for (let k = 0; k <= n; k++) {
        bonf.push(certifiedAmongEqual(k, K, n, tau, alpha, 'bonferroni'));
        single.push(certifiedAlone(k, n, tau, alpha));
      }
      const first = (a: boolean[]) => (a.indexOf(true) < 0 ? n + 1 : a.indexOf(true));
      const where = `n=${n} τ=${tau} α=${alpha} K=${K} ${correction}`;
      assert.equal(t.certainAt, first(bonf), `certainAt, ${where}`);
      // the scan is monotone: every count from the threshold on passes, none below it
      for (let k = 0; k <= n; k++) assert.equal(bonf[k], k >= t.certainAt, `Bonferroni at k=${k}, ${where}`);
      // Holm's per-pixel levels never exceed α; Bonferroni never exceeds α/K
      const reachable = correction === 'holm' ? single : bonf;
      assert.equal(t.reachableAt, first(reachable), `reachableAt, ${where}`);
      for (let k = 0; k <= n; k++) assert.equal(reachable[k], k >= t.reachableAt, `reachable at k=${k}, ${where}`);
      assert.ok(t.reachableAt <= t.certainAt, where);
    }
  }
  // the documented example (algorithms.md): 256×256, α = 1e-3, τ = 0.75, n = 100 needs k ≥ 97
  assert.equal(provisionalThresholds(100, 0.75, 0.001, 256 * 256, 'holm').certainAt, 97);
});

/** Binomial draw by counting uniform successes (small n). */
function binom(rand: () => number, m: number, q: number): number {
  let s = 0;
  for (let j = 0; j < m; j++) if (rand() < q) s++;
  return s;
}

test('"will be certified" ⇒ certified and "can no longer be certified" ⇒ abstains, on random runs with the real Holm and Bonferroni decisions', () => {
  const rand = mulberry32(20261204);
  let will = 0,
    cannot = 0,
    undecided = 0,
    trials = 0;
  for (const n of [20, 64, 100]) {
    for (const tau of [0.6, 0.75, 0.9]) {
      for (const alpha of [0.001, 0.05]) {
        for (const correction of ['holm', 'bonferroni'] as const) {
          for (let rep = 0; rep < 12; rep++) {
            trials++;
            const K = 1 + Math.floor(rand() * 300);
            const t = provisionalThresholds(n, tau, alpha, K, correction);
            const done = Math.floor(rand() * (n + 1));
            const rest = n - done;
            // pixels of every kind: near-unanimous, split, hopeless
            const q = Array.from({ length: K }, () => [1, 0.99, 0.9, 0.75, 0.5, 0.1][Math.floor(rand() * 6)]);
            const counts = q.map((qi) => binom(rand, done, qi));
            const states = counts.map((k) => provisionalState(k, done, t));
            // the remaining votes: all, none, or random per pixel, and an adversarial split that starves
            // the decided-certain pixels and feeds the hopeless ones
            const policy = Math.floor(rand() * 4);
            const final = new Uint16Array(K);
            for (let i = 0; i < K; i++) {
              const extra =
                policy === 0 ? rest : policy === 1 ? 0 : policy === 2 ? binom(rand, rest, q[i]) : states[i] === WILL_CERTIFY ? 0 : rest;
              final[i] = counts[i] + extra;
            }
            const r = certifyFromCounts(new Uint8Array(K).fill(1), final, n, tau, alpha, correction);
            for (let i = 0; i < K; i++) {
              const where = `pixel ${i}: k=${counts[i]} after ${done}/${n}, final ${final[i]}, n=${n} τ=${tau} α=${alpha} K=${K} ${correction} (minCount ${r.minCount})`;
              if (states[i] === WILL_CERTIFY) {
                will++;
                assert.notEqual(r.certified[i], ABSTAIN, `"will be certified" but abstains: ${where}`);
              } else if (states[i] === CANNOT_CERTIFY) {
                cannot++;
                assert.equal(r.certified[i], ABSTAIN, `"can no longer be certified" but certified: ${where}`);
              } else undecided++;
            }
          }
        }
      }
    }
  }
  // not vacuous: every state occurred many times
  assert.ok(will > 1000 && cannot > 1000 && undecided > 1000, `will ${will}, cannot ${cannot}, undecided ${undecided} over ${trials} runs`);
});

test('the thresholds at their edges: one vote more (or one miss more) changes the state', () => {
  // n = 64, τ = 0.75, α = 1e-3, 128×128 (the polyp config of the E2E test): certainAt and reachableAt
  const t = provisionalThresholds(64, 0.75, 0.001, 128 * 128, 'holm');
  // a pixel that never agreed with its class in the first 8 samples cannot reach the threshold any more
  assert.equal(provisionalState(0, 8, t), CANNOT_CERTIFY);
  // a unanimous pixel is undecided until it reaches certainAt, then certain
  assert.notEqual(provisionalState(t.certainAt - 1, t.certainAt - 1, t), WILL_CERTIFY);
  assert.equal(provisionalState(t.certainAt, t.certainAt, t), WILL_CERTIFY);
  // the largest number of misses a pixel may still afford, exactly: one more and it can no longer pass
  const misses = 64 - t.reachableAt;
  assert.notEqual(provisionalState(8 - misses, 8, t), CANNOT_CERTIFY);
  assert.equal(provisionalState(8 - misses - 1, 8, t), CANNOT_CERTIFY);
});
