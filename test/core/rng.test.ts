import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fillGaussian, noisyBatch, Xoshiro128 } from '../../server/src/core/rng';

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
  for (const [start, count] of [[0, 4], [4, 2]]) {
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
  let s = 0, s2 = 0, beyond2 = 0;
  for (const v of a) {
    s += v;
    s2 += v * v;
    if (Math.abs(v) > 2 * 0.3) beyond2++;
  }
  const mean = s / n;
  const variance = s2 / n - mean * mean;
  assert.ok(Math.abs(mean) < 5 * 0.3 / Math.sqrt(n), `mean ${mean}`);
  assert.ok(Math.abs(variance / 0.09 - 1) < 5 * Math.sqrt(2 / n), `variance ${variance}`);
  const p = 0.04550026389635842; // P[|Z| > 2]
  assert.ok(Math.abs(beyond2 / n - p) < 5 * Math.sqrt((p * (1 - p)) / n), `tail ${beyond2 / n}`);
});

test('xoshiro128** streams are distinct for neighbouring stream ids', () => {
  const first = new Set<number>();
  for (let s = 0; s < 1000; s++) first.add(new Xoshiro128(0, s).nextU32());
  assert.ok(first.size > 995);
});
