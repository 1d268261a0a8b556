/**
 * The composed ONNX graphs (engines/compose.ts) against the adapters (engines/adapt.ts), the reference: labels
 * must be IDENTICAL, on noisy copies of 10 real polyp images (Kvasir-SEG test split, models/polyp, with and
 * without the full-resolution denoiser) and on the default model's sample. Plus the fallbacks and the switch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { noisyBatch } from '../../server/src/core/rng';
import { composeSegmenter } from '../../server/src/engines/compose';
import { composeEnabled, forSampling, newProcessingRecord } from '../../server/src/engines/processing';
import type { Denoiser, Segmenter } from '../../server/src/engines/engine';
import { loadDenoiser, loadSegmenter } from '../../server/src/engines/load';
import { readImage } from '../../server/src/image/read';
import { warmUp, warmUpComposed, warmUpRun } from '../../server/src/engines/warmUp';
import { workingShape } from '../../server/src/engines/workingShape';
import { bindDenoiser, bindSegmenter } from '../../server/src/pipeline/memoryPlan';
import { DT, model, node, tensor, valueInfo } from './onnxWriter';
import { SHARED, seededUniform, tempDir, writeCard } from './helpers';

const ROOT = path.resolve(__dirname, '../..');
const KVASIR = path.join(SHARED, 'datasets/kvasir-seg-256');
const noKvasir = existsSync(path.join(KVASIR, 'splits/test.txt'))
  ? false
  : `skipped: ${KVASIR} not found (needs the read-only ../shared folder next to the repository)`;

process.env.CERTSEG_ORT_COMPOSE = '1'; // the switch is read at each call; one test turns it off and back on

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

/**
 * The reference: the JavaScript adapters. loadSegmenter gives every ONNX segmenter a composer, so the switch is
 * turned off around the reference call (it is read per call).
 */
async function adapters<T>(f: () => Promise<T>): Promise<T> {
  process.env.CERTSEG_ORT_COMPOSE = '0';
  try {
    return await f();
  } finally {
    process.env.CERTSEG_ORT_COMPOSE = '1';
  }
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
    want = await adapters(async () => seg.segment(await den.denoise(x, COPIES, h, w, SIGMA), COPIES, h, w));
  } else {
    got = await composed.composer!.segment(x, COPIES, h, w);
    want = await adapters(() => seg.segment(x, COPIES, h, w));
  }
  assert.ok(got, `${path.basename(file)}: the composed path declined a ${w}×${h} image`);
  return { diff: differing(got, want), total: want.length };
}

test('CERTSEG_ORT_COMPOSE: 0 off, 1 or unset on', () => {
  assert.equal(composeEnabled({ CERTSEG_ORT_COMPOSE: '1' }), true);
  assert.equal(composeEnabled({ CERTSEG_ORT_COMPOSE: '0' }), false);
  assert.equal(composeEnabled({}), true);
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
    process.env.CERTSEG_ORT_COMPOSE = '0';
    try {
      const img = await readImage(sample);
      assert.equal(await composed.composer!.segment(img.data, 1, img.height, img.width), null, 'CERTSEG_ORT_COMPOSE=0 still composed');
    } finally {
      process.env.CERTSEG_ORT_COMPOSE = '1';
    }
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

test(
  'polyp shipped config (denoiser at 128×128: resizing inside the graph): composed = adapters on 10 Kvasir test images',
  { skip: noKvasir },
  async () => {
    const seg = await loadSegmenter(path.join(ROOT, 'models/polyp/segmenter.card.json'), { engine: 'onnx' });
    const den = await loadDenoiser(path.join(ROOT, 'models/polyp/denoiser128.card.json'), { engine: 'onnx' });
    const composed = composeSegmenter(seg);
    try {
      let diff = 0,
        total = 0;
      for (const [k, f] of testImages(10).entries()) {
        const r = await compare(seg, composed, den, f, 300 + k);
        diff += r.diff;
        total += r.total;
      }
      assert.equal(total, 10 * COPIES * 256 * 256);
      assert.equal(diff, 0, `${diff} of ${total} labels differ`);
      // a non-square crop: letterboxed into 128×128 (padding and cropping inside the graph)
      const img = await readImage(testImages(1)[0]);
      const [h, w] = [256, 200];
      const crop = new Float32Array(3 * h * w);
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < h; y++) crop.set(img.data.subarray((c * 256 + y) * 256, (c * 256 + y) * 256 + w), (c * h + y) * w);
      const x = noisy(crop, 7);
      const got = await composed.composer!.chain(den, x, COPIES, h, w, SIGMA);
      assert.ok(got, 'the letterboxed chain was not composed');
      const want = await adapters(async () => seg.segment(await den.denoise(x, COPIES, h, w, SIGMA), COPIES, h, w));
      assert.equal(differing(got, want), 0);
    } finally {
      await den.dispose();
      await composed.dispose();
    }
  },
);

/** A 3×3 'same' convolution with `cin` input channels and `cout` outputs: random weights give plenty of near-ties. */
function conv(cin: number, cout: number, seed: number, squeeze = false): Uint8Array {
  const wt = seededUniform(cout * cin * 9, seed).map((v) => v - 0.5);
  const bias = seededUniform(cout, seed + 1).map((v) => 0.2 * (v - 0.5));
  const pads = { name: 'pads', ints: [1, 1, 1, 1] };
  const kernel = { name: 'kernel_shape', ints: [3, 3] };
  return model({
    // squeeze: a 1-channel output declared as [N,H,W]
    nodes: squeeze
      ? [node('Conv', ['x', 'w', 'b'], ['y4'], [pads, kernel]), node('Squeeze', ['y4', 'axes'], ['y'])]
      : [node('Conv', ['x', 'w', 'b'], ['y'], [pads, kernel])],
    initializers: [tensor('w', [cout, cin, 3, 3], wt), tensor('b', [cout], bias), tensor('axes', [1], BigInt64Array.of(1n))],
    inputs: [valueInfo('x', DT.FLOAT, ['N', cin, 'H', 'W'])],
    outputs: [valueInfo('y', DT.FLOAT, squeeze ? ['N', 'H', 'W'] : ['N', cout, 'H', 'W'])],
  });
}

/** The same convolution behind NHWC input and output (transposes around it). */
function convNHWC(cin: number, cout: number, seed: number): Uint8Array {
  const wt = seededUniform(cout * cin * 9, seed).map((v) => v - 0.5);
  const pads = { name: 'pads', ints: [1, 1, 1, 1] };
  const kernel = { name: 'kernel_shape', ints: [3, 3] };
  return model({
    nodes: [
      node('Transpose', ['x'], ['xc'], [{ name: 'perm', ints: [0, 3, 1, 2] }]),
      node('Conv', ['xc', 'w'], ['yc'], [pads, kernel]),
      node('Transpose', ['yc'], ['y'], [{ name: 'perm', ints: [0, 2, 3, 1] }]),
    ],
    initializers: [tensor('w', [cout, cin, 3, 3], wt)],
    inputs: [valueInfo('x', DT.FLOAT, ['N', 'H', 'W', cin])],
    outputs: [valueInfo('y', DT.FLOAT, ['N', 'H', 'W', cout])],
  });
}

function card(file: string, input: Record<string, unknown>, output: Record<string, unknown>, classes: number): Record<string, unknown> {
  return {
    cardVersion: 1,
    name: path.basename(file, '.onnx'),
    role: 'segmenter',
    file,
    input: { layout: 'NCHW', batch: null, range: [0, 1], ...input },
    output: { layout: 'NCHW', height: null, width: null, batch: null, ...output },
    classes: Array.from({ length: classes }, (_, k) => ({ name: `c${k}`, color: `#0000${k}0` })),
  };
}

test('card transforms in the graph: luma + letterbox + sigmoid, mean/std + bilinear stretch + argmax, [N,H,W] output, exact on near-ties', async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'grey.onnx'), conv(1, 1, 3));
  writeFileSync(path.join(dir, 'rgb.onnx'), conv(3, 4, 5));
  writeFileSync(path.join(dir, 'rank3.onnx'), conv(3, 1, 6, true));
  const cases = [
    card(
      'grey.onnx',
      { channels: 1, height: 40, width: 40, fit: 'letterbox', mean: [0.4], std: [0.2] },
      { channels: 1, kind: 'sigmoid', sigmoidIsLogit: true },
      2,
    ),
    card(
      'rgb.onnx',
      {
        channels: 3,
        height: 48,
        width: 20,
        fit: 'stretch',
        resize: 'bilinear',
        range: [-1, 1],
        mean: [0.1, 0.2, 0.3],
        std: [0.5, 0.6, 0.7],
      },
      { channels: 4, kind: 'logits' },
      4,
    ),
    card('rgb.onnx', { channels: 3, height: null, width: null }, { channels: 4, kind: 'probabilities' }, 4),
    card('rank3.onnx', { channels: 3, height: 24, width: 64, fit: 'letterbox' }, { channels: 1, kind: 'sigmoid' }, 2),
  ];
  const [h, w, b] = [33, 57, 3];
  const x = seededUniform(b * 3 * h * w, 9).map((v) => 1.4 * v - 0.2); // noisy images go outside [0,1]
  for (const [k, c] of cases.entries()) {
    const seg = await loadSegmenter(writeCard(dir, `case${k}`, c), { engine: 'onnx' });
    const composed = composeSegmenter(seg);
    try {
      const got = await composed.composer!.segment(x, b, h, w);
      assert.ok(got, `case ${k} was not composed`);
      assert.equal(differing(got, await adapters(() => seg.segment(x, b, h, w))), 0, `case ${k}`);
    } finally {
      await composed.dispose();
    }
  }
});

test('fallbacks: an NHWC card and the tfjs engine run the adapters, with the same labels', async () => {
  const sample = path.join(ROOT, 'models/default/sample.png');
  const img = await readImage(sample);
  const { height: h, width: w } = img;
  const x = noisy(img.data, 3);
  const tf = await loadSegmenter(path.join(ROOT, 'models/default/segmenter.card.json'), { engine: 'tfjs' });
  try {
    const composed = composeSegmenter(tf);
    assert.equal(await composed.composer!.segment(x, COPIES, h, w), null);
    const rec = newProcessingRecord();
    const pair = forSampling(composed, null, SIGMA, rec);
    assert.equal(differing(await pair.segmenter.segment(x, COPIES, h, w), await tf.segment(x, COPIES, h, w)), 0);
    assert.deepEqual([...rec.segmenter], ['adapters']);
  } finally {
    await tf.dispose();
  }
  const dir = tempDir();
  writeFileSync(path.join(dir, 'nhwc.onnx'), convNHWC(3, 2, 4));
  const nhwc = card(
    'nhwc.onnx',
    { channels: 3, height: null, width: null, layout: 'NHWC' },
    { channels: 2, kind: 'logits', layout: 'NHWC' },
    2,
  );
  const seg = await loadSegmenter(writeCard(dir, 'nhwc', nhwc), { engine: 'onnx' });
  const composed = composeSegmenter(seg);
  try {
    const y = seededUniform(2 * 3 * 8 * 8, 1);
    assert.equal(await composed.composer!.segment(y, 2, 8, 8), null);
    assert.equal(differing(await composed.segment(y, 2, 8, 8), await adapters(() => seg.segment(y, 2, 8, 8))), 0);
  } finally {
    await composed.dispose();
  }
});

test('warm-up of the composed graphs: only when a warm-up is wanted (GPU or CERTSEG_WARMUP=1), once per size and batch', async () => {
  const seg0 = await loadSegmenter(path.join(ROOT, 'models/default/segmenter.card.json'), { engine: 'onnx' });
  const den = await loadDenoiser(path.join(ROOT, 'models/default/denoiser.card.json'), { engine: 'onnx' });
  const seg = bindSegmenter(seg0, workingShape(seg0.card.input, 32, 48));
  const before = process.env.CERTSEG_WARMUP;
  try {
    process.env.CERTSEG_WARMUP = '0';
    assert.equal(await warmUpComposed(seg, den, 32, 48, 2, SIGMA), 0);
    process.env.CERTSEG_WARMUP = '1';
    assert.ok((await warmUpComposed(seg, den, 32, 48, 2, SIGMA)) > 0);
    assert.equal(await warmUpComposed(seg, den, 32, 48, 2, SIGMA), 0, 'warmed twice');
  } finally {
    if (before === undefined) delete process.env.CERTSEG_WARMUP;
    else process.env.CERTSEG_WARMUP = before;
    await den.dispose();
    await seg0.dispose();
  }
});

test('a run warms the composed graphs and leaves the plain sessions cold (no second arena); with composition off it warms the plain sessions', async () => {
  const before = process.env.CERTSEG_WARMUP;
  process.env.CERTSEG_WARMUP = '1';
  const load = async () => {
    const seg0 = await loadSegmenter(path.join(ROOT, 'models/default/segmenter.card.json'), { engine: 'onnx' });
    const den0 = await loadDenoiser(path.join(ROOT, 'models/default/denoiser.card.json'), { engine: 'onnx' });
    const shape = workingShape(seg0.card.input, 24, 40);
    const bound = { segmenter: bindSegmenter(seg0, shape), denoiser: bindDenoiser(den0, workingShape(den0.card.input, 24, 40)) };
    return { loaded: { segmenter: seg0, denoiser: den0 }, bound, shape };
  };
  // warmUp() on a plain session returns 0 when that session was already warmed at this shape and batch
  const plainWasWarmed = async (m: Awaited<ReturnType<typeof load>>) =>
    (await warmUp(m.loaded.segmenter, m.shape, 2)) === 0 && (await warmUp(m.loaded.denoiser, m.bound.denoiser.shape!, 2)) === 0;
  const on = await load();
  const off = await load();
  try {
    assert.ok((await warmUpRun(on.loaded, on.bound, 24, 40, 2, SIGMA)) > 0);
    assert.equal(await plainWasWarmed(on), false, 'composition on: the plain sessions were warmed as well');
    assert.equal(await warmUpRun(on.loaded, on.bound, 24, 40, 2, SIGMA), 0, 'warmed twice');
    process.env.CERTSEG_ORT_COMPOSE = '0';
    assert.ok((await warmUpRun(off.loaded, off.bound, 24, 40, 2, SIGMA)) > 0);
    assert.equal(await plainWasWarmed(off), true, 'composition off: the plain sessions, which take the batches, were not warmed');
  } finally {
    process.env.CERTSEG_ORT_COMPOSE = '1';
    if (before === undefined) delete process.env.CERTSEG_WARMUP;
    else process.env.CERTSEG_WARMUP = before;
    for (const m of [on, off]) {
      await m.loaded.denoiser.dispose();
      await m.loaded.segmenter.dispose();
    }
  }
});
