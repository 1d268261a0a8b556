import { mulberry32 } from '../../server/src/core/rng';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ABSTAIN } from '../../server/src/core/labels';
import {
  bonferroniThreshold,
  certifyFromCounts,
  clopperPearsonRadiusMap,
  countHistogram,
  holmThreshold,
  type Threshold,
} from '../../server/src/core/multipleTesting';
import { binomPValueTable, binomUpperTail, clopperPearsonLower, normInv } from '../../server/src/core/stats';

/** Deterministic PRNG so failures reproduce. */
const rng = mulberry32;

/** Textbook Holm over per-pixel p-values: sort ascending, stop at the first p_(r) > α/(K − r + 1). */
function bruteHolm(p: number[], alpha: number): boolean[] {
  const K = p.length;
  const order = p.map((_, i) => i).sort((a, b) => p[a] - p[b]);
  const rej = new Array<boolean>(K).fill(false);
  for (let r = 1; r <= K; r++) {
    const i = order[r - 1];
    if (!(p[i] <= alpha / (K - r + 1))) break;
    rej[i] = true;
  }
  return rej;
}

function bruteBonferroni(p: number[], alpha: number): boolean[] {
  return p.map((v) => v <= alpha / p.length);
}

/** The threshold a brute-force rejection set implies (smallest rejected count, n+1 if none). */
function summarize(rej: boolean[], counts: ArrayLike<number>, n: number): Threshold {
  let minCount = n + 1;
  let rejected = 0;
  for (let i = 0; i < rej.length; i++) {
    if (!rej[i]) continue;
    rejected++;
    minCount = Math.min(minCount, counts[i]);
  }
  return { minCount, rejected };
}

/** Random counts with heavy ties, concentrated near n where the decisions happen. */
function randomCounts(r: () => number, K: number, n: number): Uint16Array {
  const palette = Array.from({ length: 1 + Math.floor(r() * 8) }, () => n - Math.floor(r() * r() * (n + 1)));
  const counts = new Uint16Array(K);
  for (let i = 0; i < K; i++) counts[i] = palette[Math.floor(r() * palette.length)];
  return counts;
}

test('certifyFromCounts equals brute-force Holm and Bonferroni on random inputs', () => {
  const r = rng(12345);
  let holmOnlyGains = 0;
  for (let trial = 0; trial < 300; trial++) {
    const n = 1 + Math.floor(r() * 150);
    const tau = 0.5 + 0.49 * r();
    const K = 1 + Math.floor(r() * 400);
    const alpha = 10 ** (-1 - 5 * r());
    const counts = randomCounts(r, K, n);
    const selected = new Uint8Array(K).map(() => Math.floor(r() * 20));
    const table = binomPValueTable(n, tau);
    const p = Array.from(counts, (k) => table[k]);
    for (const correction of ['holm', 'bonferroni'] as const) {
      const rej = correction === 'holm' ? bruteHolm(p, alpha) : bruteBonferroni(p, alpha);
      const res = certifyFromCounts(selected, counts, n, tau, alpha, correction);
      assert.deepEqual({ minCount: res.minCount, rejected: res.rejected }, summarize(rej, counts, n));
      const expected = selected.map((c, i) => (rej[i] ? c : ABSTAIN));
      assert.deepEqual(res.certified, expected);
    }
    const h = certifyFromCounts(selected, counts, n, tau, alpha, 'holm').rejected;
    const b = certifyFromCounts(selected, counts, n, tau, alpha, 'bonferroni').rejected;
    assert.ok(h >= b, 'Holm is uniformly more powerful than Bonferroni');
    if (h > b) holmOnlyGains++;
  }
  assert.ok(holmOnlyGains > 0, 'the random cases must exercise the step-down (Holm > Bonferroni somewhere)');
});

test('holmThreshold equals brute force on synthetic non-increasing p-value tables', () => {
  // Tables with p-values straddling α/(K − r): stresses the step-down directly.
  const r = rng(777);
  for (let trial = 0; trial < 300; trial++) {
    const n = 1 + Math.floor(r() * 30);
    const K = 1 + Math.floor(r() * 60);
    const alpha = 0.05;
    const raw = Array.from({ length: n + 1 }, () => (alpha / K) * 3 * r());
    raw.sort((a, b) => b - a); // non-increasing in count
    if (r() < 0.3) raw[Math.floor(r() * (n + 1))] = raw[0]; // ties across counts
    raw.sort((a, b) => b - a);
    const pValues = Float64Array.from(raw);
    const counts = randomCounts(r, K, n);
    const hist = countHistogram(counts, n);
    const p = Array.from(counts, (k) => pValues[k]);
    assert.deepEqual(holmThreshold(hist, pValues, alpha), summarize(bruteHolm(p, alpha), counts, n));
    assert.deepEqual(bonferroniThreshold(hist, pValues, alpha), summarize(bruteBonferroni(p, alpha), counts, n));
  }
});

test('Holm walk: hand-worked example', () => {
  // K = 4, α = 0.1: thresholds 0.025, 0.0333, 0.05, 0.1 by rank.
  // counts 3,3 (p = 0.02), count 2 (p = 0.04), count 1 (p = 0.2).
  const pValues = Float64Array.from([1, 0.2, 0.04, 0.02]);
  const hist = Float64Array.from([0, 1, 1, 2]);
  // Block of 3s: 0.02 ≤ 0.1/4 → r = 2; count 2: 0.04 ≤ 0.1/2 → r = 3; count 1: 0.2 > 0.1/1 → stop.
  assert.deepEqual(holmThreshold(hist, pValues, 0.1), { minCount: 2, rejected: 3 });
  // Bonferroni: only p ≤ 0.025.
  assert.deepEqual(bonferroniThreshold(hist, pValues, 0.1), { minCount: 3, rejected: 2 });
});

test('edge cases: K = 1, all counts equal, none and all certifiable, empty image', () => {
  const n = 100;
  const tau = 0.75;
  const one = certifyFromCounts(Uint8Array.of(7), Uint16Array.of(100), n, tau, 1e-3, 'holm');
  assert.deepEqual([...one.certified], [7]); // 0.75^100 ≈ 3e-13 ≤ 1e-3
  assert.equal(one.minCount, 100);

  const K = 1000;
  const sel = new Uint8Array(K).fill(3);
  const allEqual = certifyFromCounts(sel, new Uint16Array(K).fill(95), n, tau, 1e-3, 'holm');
  // p[95] ≈ 6.2e-8 ≤ 1e-3/1000, so the whole block goes at once.
  assert.ok(binomUpperTail(95, n, tau) <= 1e-3 / K);
  assert.equal(allEqual.rejected, K);
  assert.ok(allEqual.certified.every((c) => c === 3));

  const none = certifyFromCounts(sel, new Uint16Array(K).fill(80), n, tau, 1e-3, 'holm');
  assert.deepEqual({ minCount: none.minCount, rejected: none.rejected }, { minCount: n + 1, rejected: 0 });
  assert.ok(none.certified.every((c) => c === ABSTAIN));

  const empty = certifyFromCounts(new Uint8Array(0), new Uint16Array(0), n, tau, 1e-3, 'bonferroni');
  assert.deepEqual({ minCount: empty.minCount, rejected: empty.rejected }, { minCount: n + 1, rejected: 0 });
  assert.equal(empty.pValues.length, n + 1);
});

test('countHistogram counts and rejects counts above n', () => {
  assert.deepEqual([...countHistogram(Uint16Array.of(0, 2, 2, 3), 3)], [1, 0, 2, 1]);
  assert.throws(() => countHistogram(Uint16Array.of(4), 3), RangeError);
  assert.throws(() => certifyFromCounts(Uint8Array.of(1), Uint16Array.of(1, 2), 3, 0.75, 0.01, 'holm'), RangeError);
});

test('clopperPearsonRadiusMap matches per-pixel Cohen radii', () => {
  const n = 100;
  const alpha = 1e-3 / 4096;
  const sigma = 0.25;
  const counts = Uint16Array.from({ length: n + 1 }, (_, k) => k);
  const map = clopperPearsonRadiusMap(counts, n, alpha, sigma);
  let prev = 0;
  for (let k = 0; k <= n; k++) {
    const pl = clopperPearsonLower(k, n, alpha);
    const expected = pl > 0.5 ? sigma * normInv(pl) : 0;
    assert.equal(map[k], Math.fround(expected), `k = ${k}`);
    assert.ok(map[k] >= prev);
    prev = map[k];
  }
  assert.equal(map[50], 0);
  assert.ok(map[100] > 0);
});

test('speed (informal): certifyFromCounts on 1024×2048 pixels', () => {
  const K = 1024 * 2048;
  const r = rng(1);
  const counts = new Uint16Array(K);
  for (let i = 0; i < K; i++) counts[i] = 90 + Math.floor(r() * 11);
  const selected = new Uint8Array(K).fill(1);
  certifyFromCounts(selected, counts, 100, 0.75, 1e-3, 'holm'); // warm-up
  const t0 = performance.now();
  const res = certifyFromCounts(selected, counts, 100, 0.75, 1e-3, 'holm');
  const ms = performance.now() - t0;
  console.log(`certifyFromCounts, ${K} pixels: ${ms.toFixed(1)} ms`);
  assert.equal(res.certified.length, K);
  assert.ok(res.rejected > 0 && res.rejected < K);
});
