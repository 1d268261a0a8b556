/**
 * The composed ONNX graphs (engines/compose.ts) against the adapters (engines/adapt.ts), the reference: labels
 * must be IDENTICAL, on noisy copies of 10 real polyp images (Kvasir-SEG test split, models/polyp, with and
 * without the full-resolution denoiser) and on the default model's sample. Plus the fallbacks and the switch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { noisyBatch } from '../../server/src/core/rng';
import { composeSegmenter } from '../../server/src/engines/compose';
import { composeEnabled, forSampling, newProcessingRecord } from '../../server/src/engines/processing';
import type { Denoiser, Segmenter } from '../../server/src/engines/engine';
import { loadDenoiser, loadSegmenter } from '../../server/src/engines/load';
import { readImage } from '../../server/src/image/read';
import { SHARED } from './helpers';

const ROOT = path.resolve(__dirname, '../..');
const KVASIR = path.join(SHARED, 'datasets/kvasir-seg-256');
const noKvasir = existsSync(path.join(KVASIR, 'splits/test.txt'))
  ? false
  : `skipped: ${KVASIR} not found (needs the read-only ../shared folder next to the repository)`;

const SIGMA = 0.25;
const COPIES = 4; // noisy copies per image, one batch

function testImages(n: number): string[] {
  const ids = readFileSync(path.join(KVASIR, 'splits/test.txt'), 'utf8').split('\n').filter(Boolean).slice(0, n);
  return ids.map((id) => {
    for (const ext of ['.jpg', '.png', '.jpeg']) {
      const f = path.join(KVASIR, 'images', id + ext);
      if (existsSync(f)) return f;
    }
    throw new Error(`no image for ${id}`);
  });
}

function noisy(image: Float32Array, seed: number): Float32Array {
  const out = new Float32Array(COPIES * image.length);
  noisyBatch(image, SIGMA, seed, 0, COPIES, out, new Float32Array(image.length));
  return out;
}

function differing(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++;
  return d;
}

/** Labels through the composed graphs and through the adapters, on the same noisy batch; returns the number of differing labels. */
async function compare(
  seg: Segmenter,
  composed: Segmenter,
  den: Denoiser | null,
  file: string,
  seed: number,
): Promise<{ diff: number; total: number }> {
  const img = await readImage(file);
  const { height: h, width: w } = img;
  const x = noisy(img.data, seed);
  let got: Uint8Array | null, want: Uint8Array;
  if (den) {
    got = await composed.composer!.chain(den, x, COPIES, h, w, SIGMA);
    want = await seg.segment(await den.denoise(x, COPIES, h, w, SIGMA), COPIES, h, w);
  } else {
    got = await composed.composer!.segment(x, COPIES, h, w);
    want = await seg.segment(x, COPIES, h, w);
  }
  assert.ok(got, `${path.basename(file)}: the composed path declined a ${w}×${h} image`);
  return { diff: differing(got, want), total: want.length };
}

test('CERTSEG_ORT_COMPOSE: 1 on, 0 or unset off', () => {
  assert.equal(composeEnabled({ CERTSEG_ORT_COMPOSE: '1' }), true);
  assert.equal(composeEnabled({ CERTSEG_ORT_COMPOSE: '0' }), false);
  assert.equal(composeEnabled({}), false);
});

test('polyp segmenter: composed graph = adapter labels on 10 noisy Kvasir test images', { skip: noKvasir }, async () => {
  const seg = await loadSegmenter(path.join(ROOT, 'models/polyp/segmenter.card.json'), { engine: 'onnx' });
  const composed = composeSegmenter(seg);
  try {
    let diff = 0,
      total = 0;
    for (const [k, f] of testImages(10).entries()) {
      const r = await compare(seg, composed, null, f, 100 + k);
      diff += r.diff;
      total += r.total;
    }
    assert.equal(total, 10 * COPIES * 256 * 256);
    assert.equal(diff, 0, `${diff} of ${total} labels differ`);
  } finally {
    await seg.dispose();
  }
});

test('polyp denoiser + segmenter: one composed graph = adapter labels on 10 noisy Kvasir test images', { skip: noKvasir }, async () => {
  const seg = await loadSegmenter(path.join(ROOT, 'models/polyp/segmenter.card.json'), { engine: 'onnx' });
  const den = await loadDenoiser(path.join(ROOT, 'models/polyp/denoiser.card.json'), { engine: 'onnx' });
  const composed = composeSegmenter(seg);
  try {
    let diff = 0,
      total = 0;
    for (const [k, f] of testImages(10).entries()) {
      const r = await compare(seg, composed, den, f, 200 + k);
      diff += r.diff;
      total += r.total;
    }
    assert.equal(total, 10 * COPIES * 256 * 256);
    assert.equal(diff, 0, `${diff} of ${total} labels differ`);
  } finally {
    await den.dispose();
    await composed.dispose();
  }
});

test('default models: composed = adapters on the shipped sample, with and without the denoiser (Carlini and MICCAI)', async () => {
  const sample = path.join(ROOT, 'models/default/sample.png');
  const seg = await loadSegmenter(path.join(ROOT, 'models/default/segmenter.card.json'), { engine: 'onnx' });
  const composed = composeSegmenter(seg);
  try {
    assert.equal((await compare(seg, composed, null, sample, 1)).diff, 0);
    for (const convention of ['carlini', 'miccai'] as const) {
      const den = await loadDenoiser(path.join(ROOT, 'models/default/denoiser.card.json'), { engine: 'onnx', convention });
      try {
        assert.equal((await compare(seg, composed, den, sample, 2)).diff, 0, convention);
      } finally {
        await den.dispose();
      }
    }
  } finally {
    await composed.dispose();
  }
});

test('fallbacks: a resized working shape and the tfjs engine run the adapters, with the same labels', async () => {
  const sample = path.join(ROOT, 'models/default/sample.png');
  const img = await readImage(sample); // 128×128: doubled, so that denoiser128 has to resize
  const [h, w] = [2 * img.height, 2 * img.width];
  const big = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) big[(c * h + y) * w + x] = img.data[(c * img.height + (y >> 1)) * img.width + (x >> 1)];
  const x = noisy(big, 3);
  const seg = await loadSegmenter(path.join(ROOT, 'models/polyp/segmenter.card.json'), { engine: 'onnx' });
  const den128 = await loadDenoiser(path.join(ROOT, 'models/polyp/denoiser128.card.json'), { engine: 'onnx' });
  try {
    const composed = composeSegmenter(seg);
    // denoiser128 works at 128×128: resizing stays in JavaScript, so the chain declines
    assert.equal(await composed.composer!.chain(den128, x, COPIES, h, w, SIGMA), null);
    const rec = newProcessingRecord();
    const pair = forSampling(composed, den128, SIGMA, rec);
    const got = await pair.segmenter.segment(await pair.denoiser!.denoise(x, COPIES, h, w, SIGMA), COPIES, h, w);
    const want = await seg.segment(await den128.denoise(x, COPIES, h, w, SIGMA), COPIES, h, w);
    assert.equal(differing(got, want), 0);
    assert.deepEqual([...rec.denoiser], ['adapters']);
    assert.deepEqual([...rec.segmenter], ['graph']); // the segmenter alone still runs composed
  } finally {
    await den128.dispose();
    await seg.dispose();
  }
  const tf = await loadSegmenter(path.join(ROOT, 'models/default/segmenter.card.json'), { engine: 'tfjs' });
  try {
    const composed = composeSegmenter(tf);
    assert.equal(await composed.composer!.segment(x, COPIES, h, w), null);
    assert.equal(differing(await composed.segment(x, COPIES, h, w), await tf.segment(x, COPIES, h, w)), 0);
  } finally {
    await tf.dispose();
  }
});
