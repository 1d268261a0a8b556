/**
 * Working shapes (engines/workingShape.ts): where a model sees the image. Geometry of letterbox / stretch /
 * scaled shapes, exact padding, the denoiser's noise step following the image's part of the tensor, and a real
 * ONNX model (a 1×1 convolution: class = brightest of R, G) giving the same labels letterboxed into a fixed
 * size as at the image's own size, while a stretch is reported with its distortion.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { alphasCumprod, carliniTimestep } from '../../server/src/core/diffusion';
import { noiseStdFactor, resizeNCHW } from '../../server/src/core/resize';
import { loadDenoiser, loadSegmenter } from '../../server/src/engines/load';
import { describeShape, toWorking, workingShape } from '../../server/src/engines/workingShape';
import type { InputSpec } from '../../server/src/models/card';
import { DT, epsModel, model, node, tensor, valueInfo } from './onnxWriter';
import { seededUniform, tempDir, writeCard } from './helpers';

const spec = (height: number | null, width: number | null, fit?: 'stretch' | 'letterbox'): InputSpec => ({
  layout: 'NCHW',
  height,
  width,
  batch: null,
  channels: 3,
  range: [0, 1],
  ...(fit ? { fit } : {}),
});

test('letterbox (the default) keeps the aspect ratio and centres the image; stretch reports its distortion', () => {
  // PH2's full size into the 128×128 denoiser
  const lb = workingShape(spec(128, 128), 572, 765);
  assert.equal(lb.how, 'letterbox');
  assert.deepEqual([lb.height, lb.width], [128, 128]);
  assert.deepEqual(lb.inner, { top: 16, left: 0, height: 96, width: 128 }); // 572·128/765 = 95.7 → 96
  const st = workingShape(spec(128, 128, 'stretch'), 572, 765);
  assert.equal(st.how, 'stretch');
  assert.deepEqual(st.inner, { top: 0, left: 0, height: 128, width: 128 });
  assert.ok(Math.abs(st.distortion - 765 / 572) < 1e-12);
  assert.match(describeShape(st, 572, 765), /765×572 → 128×128 \(stretched .* 1\.34×\)/);
  // same aspect ratio: a plain resize, whatever fit says
  for (const fit of ['stretch', 'letterbox'] as const) assert.equal(workingShape(spec(128, 128, fit), 256, 256).how, 'resized');
  // the Selfie model's 144×256 (landscape) input and a square image: pillarbox
  const sq = workingShape(spec(144, 256), 300, 300);
  assert.deepEqual(sq.inner, { top: 0, left: 56, height: 144, width: 144 });
});

test('fully convolutional models run at the image size, or scaled down with the aspect kept under a pixel cap', () => {
  assert.equal(workingShape(spec(null, null), 572, 765).how, 'native');
  assert.equal(workingShape(spec(null, null), 572, 765, 572 * 765).how, 'native');
  const sliver = workingShape(spec(null, null), 999, 1, 500);
  assert.deepEqual([sliver.height, sliver.width], [500, 1]);
  for (const [h, w, cap] of [
    [572, 765, 100_000],
    [2048, 2048, 262_144],
    [4000, 300, 50_000],
    [999, 3, 500],
  ]) {
    const s = workingShape(spec(null, null), h, w, cap);
    assert.equal(s.how, 'scaled');
    assert.ok(s.height * s.width <= cap, `${s.width}×${s.height} within ${cap}`);
    assert.ok(Math.abs(s.height / s.width - h / w) <= (h / w) * (1 / s.width + 1 / s.height) + 1e-12, 'aspect kept to a pixel');
    assert.ok((s.height + 1) * (s.width + 1) > cap, 'no smaller than it needs to be');
  }
});

test('toWorking pads a letterbox with exact zeros and puts the resized image in its inner rectangle', () => {
  const h = 30,
    w = 50,
    img = seededUniform(3 * h * w, 3);
  const s = workingShape(spec(40, 40), h, w);
  assert.deepEqual(s.inner, { top: 8, left: 0, height: 24, width: 40 });
  const t = toWorking(img, 3, h, w, s, 'area');
  const r = resizeNCHW(img, 1, 3, h, w, 24, 40, 'area');
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 40; y++) {
      for (let x = 0; x < 40; x++) {
        const v = t[(c * 40 + y) * 40 + x];
        if (y < 8 || y >= 32) assert.equal(v, 0);
        else assert.equal(v, r[(c * 24 + y - 8) * 40 + x]);
      }
    }
  }
});

/** logits = [R, G]: class 1 where green beats red; a 1×1 convolution, any input size or a fixed one. */
function redGreenModel(size: [number | string, number | string]): Uint8Array {
  return model({
    nodes: [node('Conv', ['x', 'w', 'b'], ['logits'], [{ name: 'kernel_shape', ints: [1, 1] }])],
    initializers: [tensor('w', [2, 3, 1, 1], Float32Array.of(1, 0, 0, 0, 1, 0)), tensor('b', [2], Float32Array.of(0, 0))],
    inputs: [valueInfo('x', DT.FLOAT, ['N', 3, ...size])],
    outputs: [valueInfo('logits', DT.FLOAT, ['N', 2, ...size])],
  });
}

test('a real model letterboxed into a fixed size gives the labels it gives at the image size (blocks of 4 px)', async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'any.onnx'), redGreenModel(['H', 'W']));
  writeFileSync(path.join(dir, 'fixed.onnx'), redGreenModel([64, 64]));
  const card = (file: string, size: number | null, fit?: string) => ({
    cardVersion: 1,
    name: file,
    role: 'segmenter',
    file,
    input: { layout: 'NCHW', height: size, width: size, batch: null, channels: 3, range: [0, 1], ...(fit ? { fit } : {}) },
    output: { layout: 'NCHW', height: size, width: size, batch: null, channels: 2, kind: 'logits' },
    classes: [
      { name: 'red', color: '#ff0000' },
      { name: 'green', color: '#00ff00' },
    ],
  });
  const native = await loadSegmenter(writeCard(dir, 'any', card('any.onnx', null)));
  const boxed = await loadSegmenter(writeCard(dir, 'boxed', card('fixed.onnx', 64)));
  const stretched = await loadSegmenter(writeCard(dir, 'stretched', card('fixed.onnx', 64, 'stretch')));
  // 32×128 image (aspect 4) of 4×4 blocks, each red or green: letterboxed to 16×64 inside 64×64, i.e. area /2
  const h = 32,
    w = 128,
    hw = h * w;
  const img = new Float32Array(3 * hw);
  const coin = seededUniform(hw / 16, 9);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const green = coin[(y >> 2) * (w / 4) + (x >> 2)] > 0.5;
      // symmetric margins (±0.8), so that resizing scores back (bilinear) never flips a block's corner
      img[y * w + x] = green ? 0.1 : 0.9;
      img[hw + y * w + x] = green ? 0.9 : 0.1;
    }
  const a = await native.segment(img, 1, h, w);
  const b = await boxed.segment(img, 1, h, w);
  assert.equal(boxed.card.input.fit, undefined, 'no fit in the card: letterbox is the default');
  assert.deepEqual(Array.from(b), Array.from(a), 'letterbox: same labels as at the image size');
  assert.ok(a.some((v) => v === 1) && a.some((v) => v === 0));
  // the stretch squashes 4:1 into 1:1 (vertical ×2, horizontal ÷2): still block-aligned here, so the same labels
  const c = await stretched.segment(img, 1, h, w);
  assert.deepEqual(Array.from(c), Array.from(a));
  assert.equal(workingShape(stretched.card.input, h, w).distortion, 4);
  for (const m of [native, boxed, stretched]) await m.dispose();
});

test("the denoiser's noise step follows the image's part of a letterboxed input", async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'eps.onnx'), epsModel({ c: 3, d: 0, size: [128, 128] }));
  const schedule = { type: 'linear', betaStart: 0.0001, betaEnd: 0.02 };
  const den = await loadDenoiser(
    writeCard(dir, 'den', {
      cardVersion: 1,
      name: 'eps',
      role: 'denoiser',
      file: 'eps.onnx',
      input: { name: 'x', layout: 'NCHW', height: 128, width: 128, batch: null, channels: 3, range: [-1, 1] },
      output: { name: 'out', layout: 'NCHW', height: 128, width: 128, batch: null, channels: 3 },
      denoiser: { kind: 'ddpm-eps', schedule, T: 1000, timestep: { input: 't', dtype: 'int64' } },
    }),
  );
  const abar = alphasCumprod(schedule as never, 1000);
  const sigma = 0.25;
  const t = den.timestepFor(sigma, 572, 765);
  assert.equal(t, carliniTimestep(abar, sigma * noiseStdFactor(572, 765, 96, 128)), 'the factor of 765×572 → 128×96, not → 128×128');
  assert.notEqual(t, carliniTimestep(abar, sigma * noiseStdFactor(572, 765, 128, 128)));
  assert.equal(den.timestepFor(sigma, 256, 256), carliniTimestep(abar, sigma * 0.5), 'a square 256² image: area /2 halves the noise');
  await den.dispose();
});
