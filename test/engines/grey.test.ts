/**
 * 1-channel (grey) segmenters: the card says input.channels 1 and the adapter feeds the BT.601 luma of the
 * RGB image (exactly the grey value for a grey image). A real ONNX model whose output is known in closed
 * form (a 1×1 convolution: class 1 where grey > 0.5), fed NCHW [N,1,H,W] and rank-3 [N,H,W], and one real
 * certification of a grey chest X-ray (or a generated grey image when ../shared is absent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { CertsegError } from '../../server/src/core/errors';
import { ABSTAIN } from '../../server/src/core/labels';
import { LUMA } from '../../server/src/engines/adapt';
import { loadSegmenter } from '../../server/src/engines/load';
import { loadCard } from '../../server/src/models/loadCard';
import { loadConfig } from '../../server/src/config/config';
import { certifyImage } from '../../server/src/pipeline/certifyImage';
import { disposeModels } from '../../server/src/pipeline/models';
import { DT, model, node, tensor, valueInfo } from './onnxWriter';
import { SHARED, seededUniform, tempDir, writeCard } from './helpers';

/** logits = [0, x − 0.5]: class 1 exactly where the grey value is above 0.5. */
function greyThresholdModel(rank3: boolean): Uint8Array {
  const nodes = rank3
    ? [node('Unsqueeze', ['x', 'axes'], ['x4']), node('Conv', ['x4', 'w', 'b'], ['logits'], [{ name: 'kernel_shape', ints: [1, 1] }])]
    : [node('Conv', ['x', 'w', 'b'], ['logits'], [{ name: 'kernel_shape', ints: [1, 1] }])];
  return model({
    nodes,
    initializers: [
      tensor('w', [2, 1, 1, 1], Float32Array.of(0, 1)),
      tensor('b', [2], Float32Array.of(0, -0.5)),
      ...(rank3 ? [tensor('axes', [1], BigInt64Array.of(1n))] : []),
    ],
    inputs: [valueInfo('x', DT.FLOAT, rank3 ? ['N', 'H', 'W'] : ['N', 1, 'H', 'W'])],
    outputs: [valueInfo('logits', DT.FLOAT, ['N', 2, 'H', 'W'])],
  });
}

function greyCard(file: string): Record<string, unknown> {
  return {
    cardVersion: 1,
    name: 'grey-threshold',
    role: 'segmenter',
    file,
    input: { layout: 'NCHW', height: null, width: null, batch: null, channels: 1, range: [0, 1] },
    output: { layout: 'NCHW', height: null, width: null, batch: null, channels: 2, kind: 'logits' },
    classes: [
      { name: 'background', color: '#000000' },
      { name: 'bright', color: '#ffffff' },
    ],
  };
}

test('a 1-channel segmenter gets the luma of the image, as [N,1,H,W] or [N,H,W]', async () => {
  const dir = tempDir();
  const h = 5,
    w = 7,
    hw = h * w;
  const rgb = seededUniform(3 * hw, 5);
  const grey = new Float32Array(3 * hw);
  for (let i = 0; i < hw; i++) grey[i] = grey[hw + i] = grey[2 * hw + i] = rgb[i]; // R = G = B
  for (const rank3 of [false, true]) {
    writeFileSync(path.join(dir, `g${rank3}.onnx`), greyThresholdModel(rank3));
    const seg = await loadSegmenter(writeCard(dir, `g${rank3}`, greyCard(`g${rank3}.onnx`)));
    const batch = new Float32Array(6 * hw);
    batch.set(grey, 0);
    batch.set(rgb, 3 * hw);
    const labels = await seg.segment(batch, 2, h, w);
    for (let i = 0; i < hw; i++) {
      assert.equal(labels[i], rgb[i] > 0.5 ? 1 : 0, `grey pixel ${i}`);
      const luma = LUMA[0] * rgb[i] + LUMA[1] * rgb[hw + i] + LUMA[2] * rgb[2 * hw + i];
      if (Math.abs(luma - 0.5) > 1e-5) assert.equal(labels[hw + i], luma > 0.5 ? 1 : 0, `colour pixel ${i}`);
    }
    await seg.dispose();
  }
});

test('cards: input.channels is 3 or 1 for a segmenter, 3 for a denoiser', async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'g.onnx'), greyThresholdModel(false));
  const bad = async (card: Record<string, unknown>, re: RegExp) =>
    assert.rejects(
      loadSegmenter(writeCard(dir, 'bad', card)),
      (e: unknown) => e instanceof CertsegError && e.code === 'config' && re.test(e.message),
    );
  const c = greyCard('g.onnx');
  await bad({ ...c, input: { ...(c.input as object), channels: 2 } }, /input\.channels must be 3 \(RGB\) or 1 \(grey\), got 2/);
  const den = {
    cardVersion: 1,
    name: 'grey-denoiser',
    role: 'denoiser',
    file: 'g.onnx',
    denoiser: { kind: 'direct', sigma: 0.25 },
    input: { layout: 'NCHW', height: null, width: null, batch: null, channels: 1, range: [0, 1] },
    output: { layout: 'NCHW', height: null, width: null, batch: null, channels: 1 },
  };
  await assert.rejects(
    loadCard(writeCard(dir, 'den', den)),
    (e: unknown) => e instanceof CertsegError && /input\.channels must be 3 \(RGB\) for a denoiser, got 1/.test(e.message),
  );
  // the model's declared 1 channel contradicts a card that says 3
  await assert.rejects(
    loadSegmenter(writeCard(dir, 'three', { ...c, input: { ...(c.input as object), channels: 3 } })),
    /input\.channels 3 expected at axis 1, model has 1/,
  );
});

const CXR = path.join(SHARED, 'datasets/cxr-lungs-256/images/cxr000.png');

test('certify a grey image with a 1-channel model: certified pixels agree with the clean prediction', async (t) => {
  t.after(disposeModels);
  const dir = tempDir();
  writeFileSync(path.join(dir, 'g.onnx'), greyThresholdModel(false));
  const card = writeCard(dir, 'g', greyCard('g.onnx'));
  let image = CXR;
  if (!existsSync(CXR)) {
    // no ../shared: a generated grey gradient
    image = path.join(dir, 'grey.png');
    await sharp(Buffer.from(Array.from({ length: 64 * 64 }, (_, i) => (i % 64) * 4)), { raw: { width: 64, height: 64, channels: 1 } })
      .png()
      .toFile(image);
  }
  const config = await loadConfig(null, { segmenter: card, denoiser: null, n0: 8, n: 100, sigma: 0.12, seed: 1, radiusMap: false });
  const r = await certifyImage({ imagePath: image, config });
  let certified = 0;
  for (let i = 0; i < r.certified.length; i++) {
    if (r.certified[i] === ABSTAIN) continue;
    certified++;
    assert.equal(r.certified[i], r.clean[i], `pixel ${i}`);
  }
  console.log(`# 1-channel model on ${path.basename(image)}: ${certified} of ${r.certified.length} pixels certified`);
  assert.ok(certified > r.certified.length / 4, `${certified} certified`);
});
