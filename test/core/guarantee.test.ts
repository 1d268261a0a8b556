/**
 * The certificate's guarantee, tested end to end through segCertify (real noise, real counting, real
 * statistics) on a segmenter whose smoothed probabilities are known exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { segCertify, type SegCertifyParams } from '../../server/src/core/segcertify';
import { ABSTAIN } from '../../server/src/core/labels';
import { constantImage, toySegmenter } from '../helpers/toySegmenter';

const sigma = 0.25;
const base: Omit<SegCertifyParams, 'seed'> = {
  sigma,
  n0: 10,
  n: 100,
  tau: 0.75,
  alpha: 0.05,
  correction: 'holm',
  batchSize: 16,
  radiusMap: false,
};

for (const correction of ['holm', 'bonferroni'] as const) {
  test(`${correction}: pixels whose true probability is at most τ are falsely certified in at most α of runs`, async () => {
    // 8 pixels exactly at the null boundary p = τ (the worst case for the test), 8 clearly robust ones.
    const probs = [...Array(8).fill(0.75), ...Array(8).fill(0.999)];
    const seg = toySegmenter(probs, sigma);
    const runs = 300;
    let runsWithFalseCertificate = 0;
    let robustCertified = 0;
    for (let r = 0; r < runs; r++) {
      const out = await segCertify({
        image: constantImage(16),
        height: 4,
        width: 4,
        segmenter: seg,
        denoiser: null,
        params: { ...base, correction, seed: 1000 + r },
      });
      if (out.certified.slice(0, 8).some((c) => c !== ABSTAIN)) runsWithFalseCertificate++;
      robustCertified += out.certified.slice(8).filter((c) => c === 1).length;
    }
    // Binomial(300, ≤0.05): mean ≤ 15, sd ≤ 3.8; allow 3 sd of Monte-Carlo error.
    const bound = base.alpha * runs + 3 * Math.sqrt(runs * base.alpha * (1 - base.alpha));
    assert.ok(
      runsWithFalseCertificate <= bound,
      `${runsWithFalseCertificate} of ${runs} runs certified a pixel with p = τ (bound ${bound.toFixed(1)})`,
    );
    // Power: p = 0.999 pixels are certified almost always (P[k ≥ 86 of 100] ≈ 1).
    assert.ok(robustCertified / (runs * 8) > 0.99, `robust pixels certified ${robustCertified} of ${runs * 8}`);
  });
}

test('below-threshold pixels are never certified more often than α even in bulk (p = 0.7 < τ)', async () => {
  const seg = toySegmenter(Array(64).fill(0.7), sigma);
  let falseRuns = 0;
  for (let r = 0; r < 100; r++) {
    const out = await segCertify({
      image: constantImage(64),
      height: 8,
      width: 8,
      segmenter: seg,
      denoiser: null,
      params: { ...base, seed: r },
    });
    if (out.certified.some((c) => c !== ABSTAIN)) falseRuns++;
  }
  assert.ok(falseRuns <= 5 + 3 * Math.sqrt(100 * 0.05), `${falseRuns} of 100 runs`);
});

test('counts are exactly the votes of the n estimation samples, recounted by brute force', async () => {
  const probs = Array.from({ length: 12 }, (_, i) => 0.5 + i / 25);
  const seg = toySegmenter(probs, sigma);
  const params = { ...base, seed: 5, batchSize: 7 };
  const out = await segCertify({ image: constantImage(12), height: 3, width: 4, segmenter: seg, denoiser: null, params });
  // Brute force: regenerate every sample one at a time and count.
  const { noisyBatch } = await import('../../server/src/core/rng');
  const img = constantImage(12);
  const one = new Float32Array(img.length);
  const votes0 = Array.from({ length: 12 }, () => [0, 0]);
  const k = new Array(12).fill(0);
  for (let j = 0; j < params.n0 + params.n; j++) {
    noisyBatch(img, sigma, params.seed, j, 1, one, new Float32Array(img.length));
    const labels = await seg.segment(one, 1, 3, 4);
    for (let i = 0; i < 12; i++) {
      if (j < params.n0) votes0[i][labels[i]]++;
      else if (labels[i] === (votes0[i][1] > votes0[i][0] ? 1 : 0)) k[i]++;
    }
  }
  assert.deepEqual(
    [...out.selected],
    votes0.map((v) => (v[1] > v[0] ? 1 : 0)),
  );
  assert.deepEqual([...out.counts], k);
});

test('same seed, same certificate; batch size does not change the result', async () => {
  const seg = toySegmenter(
    Array.from({ length: 20 }, (_, i) => 0.6 + i / 60),
    sigma,
  );
  const run = (seed: number, batchSize: number) =>
    segCertify({ image: constantImage(20), height: 4, width: 5, segmenter: seg, denoiser: null, params: { ...base, seed, batchSize } });
  const a = await run(3, 16);
  const b = await run(3, 5);
  const c = await run(4, 16);
  assert.deepEqual(a.counts, b.counts);
  assert.deepEqual(a.certified, b.certified);
  assert.notDeepEqual(a.counts, c.counts);
});

test('cancellation stops sampling with a cancelled error', async () => {
  const seg = toySegmenter(Array(16).fill(0.9), sigma);
  const controller = new AbortController();
  const p = segCertify({
    image: constantImage(16),
    height: 4,
    width: 4,
    segmenter: seg,
    denoiser: null,
    params: { ...base, n: 5000, seed: 1, batchSize: 1 },
    signal: controller.signal,
    onProgress: (e) => {
      if (e.phase === 'estimation' && e.done === 10) controller.abort();
    },
  });
  await assert.rejects(p, (e: Error & { code?: string }) => e.code === 'cancelled');
  assert.ok(seg.calls < 100, `segmenter called ${seg.calls} times after cancel`);
});

test('infeasible parameters are refused before any sampling', async () => {
  const seg = toySegmenter(Array(256 * 4).fill(0.99), sigma);
  await assert.rejects(
    segCertify({
      image: constantImage(1024),
      height: 32,
      width: 32,
      segmenter: seg,
      denoiser: null,
      params: { ...base, n: 10, alpha: 1e-6, seed: 0 },
    }),
    (e: Error & { code?: string }) => e.code === 'infeasible' && /too small/.test(e.message),
  );
  assert.equal(seg.calls, 0);
});
