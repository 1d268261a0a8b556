import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noiseStdFactor, resizeLabelsNearest, resizeNCHW, resizeWeights1D } from '../../server/src/core/resize';

test('weights: rows sum to 1; area-downsample by 2 averages pairs; identity is exact', () => {
  for (const [s, d] of [
    [8, 4],
    [7, 3],
    [5, 11],
    [256, 100],
    [4, 4],
  ]) {
    const { weight, taps } = resizeWeights1D(s, d);
    for (let j = 0; j < d; j++) {
      let sum = 0;
      for (let k = 0; k < taps; k++) sum += weight[j * taps + k];
      assert.ok(Math.abs(sum - 1) < 1e-6, `${s}→${d} row ${j}`);
    }
  }
  const w = resizeWeights1D(8, 4);
  assert.deepEqual(Array.from(w.index.subarray(0, 2)), [0, 1]);
  assert.deepEqual(Array.from(w.weight.subarray(0, 2)), [0.5, 0.5]);
});

test('resizeNCHW: constant stays constant, 2×2 block means, bilinear half-pixel upsampling', () => {
  const c = new Float32Array(2 * 3 * 10 * 14).fill(0.37);
  for (const v of resizeNCHW(c, 2, 3, 10, 14, 7, 23)) assert.ok(Math.abs(v - 0.37) < 1e-6);
  const img = Float32Array.from({ length: 16 }, (_, i) => i);
  assert.deepEqual(Array.from(resizeNCHW(img, 1, 1, 4, 4, 2, 2)), [2.5, 4.5, 10.5, 12.5]);
  const up = resizeNCHW(Float32Array.from([0, 1]), 1, 1, 1, 2, 1, 4);
  assert.deepEqual(Array.from(up), [0, 0.25, 0.75, 1]);
  assert.equal(resizeNCHW(img, 1, 1, 4, 4, 4, 4), img);
});

test('resizeLabelsNearest picks pixel-centre neighbours', () => {
  const l = Uint8Array.from([1, 2, 3, 4]);
  assert.deepEqual(Array.from(resizeLabelsNearest(l, 1, 2, 2, 4, 4)), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  assert.deepEqual(Array.from(resizeLabelsNearest(Uint8Array.from([1, 2, 3, 4, 5, 6]), 1, 1, 6, 1, 3)), [2, 4, 6]);
});

test('noiseStdFactor: identity 1, area /2 per axis 0.5, matches empirical std of resized noise', () => {
  assert.equal(noiseStdFactor(64, 64, 64, 64), 1);
  assert.ok(Math.abs(noiseStdFactor(256, 256, 128, 128) - 0.5) < 1e-7);
  // empirical: resize N(0,1) noise 96×80 → 41×57 and compare std
  let seed = 1;
  const rnd = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const h = 96,
    w = 80,
    oh = 41,
    ow = 57,
    reps = 40;
  const noise = new Float32Array(reps * h * w);
  for (let i = 0; i < noise.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(rnd() + 1e-12)),
      th = 2 * Math.PI * rnd();
    noise[i] = r * Math.cos(th);
    noise[i + 1] = r * Math.sin(th);
  }
  const out = resizeNCHW(noise, reps, 1, h, w, oh, ow);
  const std = Math.sqrt(out.reduce((s, v) => s + v * v, 0) / out.length);
  const f = noiseStdFactor(h, w, oh, ow);
  assert.ok(Math.abs(std - f) / f < 0.02, `empirical ${std} vs ${f}`);
});

test("mode 'bilinear' downsampling samples at half-pixel centres (no antialiasing)", () => {
  const x = Float32Array.from({ length: 6 }, (_, i) => i);
  // 6 → 2: centres at 1 and 4 (x = (j+0.5)·3 − 0.5)
  assert.deepEqual(Array.from(resizeNCHW(x, 1, 1, 1, 6, 1, 2, 'bilinear')), [1, 4]);
  assert.deepEqual(Array.from(resizeNCHW(x, 1, 1, 1, 6, 1, 2)), [1, 4]); // area means of 0..2 and 3..5
  assert.equal(noiseStdFactor(1, 6, 1, 2, 'bilinear'), 1); // picks single pixels: noise std unchanged
  assert.ok(Math.abs(noiseStdFactor(1, 6, 1, 2) - 1 / Math.sqrt(3)) < 1e-7);
});
