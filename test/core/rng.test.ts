import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fillGaussian, noisyBatch, Xoshiro128 } from '../../server/src/core/rng';
import { normCdf } from '../../server/src/core/stats';

test('every sample of a batch gets its own noise (the reference code reused one draw per batch)', () => {
  const image = new Float32Array(3 * 16 * 16).fill(0.5);
  const batch = 8;
  const out = new Float32Array(batch * image.length);
  noisyBatch(image, 0.25, 42, 0, batch, out, new Float32Array(image.length));
  for (let a = 0; a < batch; a++) {
    for (let b = a + 1; b < batch; b++) {
      const A = out.subarray(a * image.length, (a + 1) * image.length);
      const B = out.subarray(b * image.length, (b + 1) * image.length);
      let same = 0;
      for (let i = 0; i < A.length; i++) if (A[i] === B[i]) same++;
      assert.equal(same, 0, `samples ${a} and ${b} share noise values`);
    }
  }
});

test('same seed gives the same noise, whatever the batch size; another seed does not', () => {
  const image = new Float32Array(3 * 8 * 8).fill(0.2);
  const len = image.length;
  const scratch = new Float32Array(len);
  const all = new Float32Array(6 * len);
  noisyBatch(image, 0.5, 7, 10, 6, all, scratch);
  const pieces = new Float32Array(6 * len);
  for (const [start, count] of [
    [0, 4],
    [4, 2],
  ]) {
    const part = new Float32Array(count * len);
    noisyBatch(image, 0.5, 7, 10 + start, count, part, scratch);
    pieces.set(part, start * len);
  }
  assert.deepEqual(pieces, all);
  const other = new Float32Array(6 * len);
  noisyBatch(image, 0.5, 8, 10, 6, other, scratch);
  assert.notDeepEqual(other, all);
});

test('noise is N(0, σ²): mean, variance, and tail frequency within Monte-Carlo error', () => {
  const n = 200_000;
  const a = new Float32Array(n);
  fillGaussian(a, 0.3, 1, 0);
  let s = 0,
    s2 = 0,
    beyond2 = 0;
  for (const v of a) {
    s += v;
    s2 += v * v;
    if (Math.abs(v) > 2 * 0.3) beyond2++;
  }
  const mean = s / n;
  const variance = s2 / n - mean * mean;
  assert.ok(Math.abs(mean) < (5 * 0.3) / Math.sqrt(n), `mean ${mean}`);
  assert.ok(Math.abs(variance / 0.09 - 1) < 5 * Math.sqrt(2 / n), `variance ${variance}`);
  const p = 0.04550026389635842; // P[|Z| > 2]
  assert.ok(Math.abs(beyond2 / n - p) < 5 * Math.sqrt((p * (1 - p)) / n), `tail ${beyond2 / n}`);
});

test('noise: Kolmogorov–Smirnov against Φ, and 3σ / 4σ tails (several streams, 1.2 M values)', () => {
  const per = 200_003; // odd: the last value of each stream comes from a pair whose second value is dropped
  const all = new Float64Array(6 * per);
  const a = new Float32Array(per);
  for (let j = 0; j < 6; j++) {
    fillGaussian(a, 1, 11, j);
    all.set(a, j * per);
  }
  const n = all.length;
  let b3 = 0,
    b4 = 0;
  for (const v of all) {
    if (Math.abs(v) > 3) b3++;
    if (Math.abs(v) > 4) b4++;
  }
  all.sort();
  let d = 0;
  for (let i = 0; i < n; i++) {
    const F = normCdf(all[i]);
    d = Math.max(d, (i + 1) / n - F, F - i / n);
  }
  // P[D > 1.95/√n] ≈ 0.001 for a correct generator
  assert.ok(d < 1.95 / Math.sqrt(n), `KS D = ${d} (limit ${1.95 / Math.sqrt(n)})`);
  for (const [count, p, what] of [
    [b3, 0.0026997960632601866, '3σ'],
    [b4, 6.334248366623996e-5, '4σ'],
  ] as const) {
    assert.ok(Math.abs(count / n - p) < 5 * Math.sqrt((p * (1 - p)) / n), `${what} tail ${count / n} vs ${p}`);
  }
});

test('noise: values are exactly the polar method applied to the own xoshiro stream of the sample (brute force)', () => {
  const out = new Float32Array(1001);
  fillGaussian(out, 0.7, 3, 12);
  const rng = new Xoshiro128(3, 12);
  const expect: number[] = [];
  while (expect.length < out.length) {
    const u = (rng.nextU32() + 0.5) / 2 ** 31 - 1,
      v = (rng.nextU32() + 0.5) / 2 ** 31 - 1;
    const s = u * u + v * v;
    if (s >= 1) continue; // rejected pair: both values discarded
    const f = 0.7 * Math.sqrt((-2 * Math.log(s)) / s);
    expect.push(u * f, v * f);
  }
  assert.deepEqual(
    Array.from(out),
    expect.slice(0, out.length).map((x) => Math.fround(x)),
  );
});

test('xoshiro128** streams are distinct for neighbouring stream ids', () => {
  const first = new Set<number>();
  for (let s = 0; s < 1000; s++) first.add(new Xoshiro128(0, s).nextU32());
  assert.ok(first.size > 995);
});
