/**
 * The memory plan (pipeline/memoryPlan.ts): the estimate never exceeds the budget, the batch shrinks before the
 * resolution, only fully convolutional models are scaled, fixed-size models are left alone, and an image that
 * cannot fit is refused with one line naming what it needs. Checked against a brute-force search over batch
 * sizes and pixel caps. (The measured peaks against the budget are in docs/memory.md, from `npm run bench`.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { CertsegError } from '../../server/src/core/errors';
import { loadDenoiser, loadSegmenter } from '../../server/src/engines/load';
import { workingPixels, workingShape, type WorkingShape } from '../../server/src/engines/workingShape';
import type { InputSpec } from '../../server/src/models/card';
import {
  ACTIVATION_MARGIN,
  DEFAULT_BYTES_PER_PIXEL,
  HOST_BYTES_PER_PIXEL,
  MIN_WORKING_PIXELS,
  NOISE_THREAD_BYTES_PER_PIXEL,
  NOISE_THREAD_RESERVE_BYTES,
  RUNTIME_RESERVE_BYTES,
  planMemory,
  sideBytes,
  type MemoryPlanInput,
} from '../../server/src/pipeline/memoryPlan';

const MiB = 2 ** 20;
const fcn = (bytesPerPixel?: number): { spec: InputSpec } => ({
  spec: { layout: 'NCHW', height: null, width: null, batch: null, channels: 3, range: [0, 1], ...(bytesPerPixel ? { bytesPerPixel } : {}) },
});
const fixed = (size: number, bytesPerPixel: number): { spec: InputSpec } => ({
  spec: { layout: 'NCHW', height: size, width: size, batch: null, channels: 3, range: [-1, 1], bytesPerPixel },
});

const input = (over: Partial<MemoryPlanInput>): MemoryPlanInput => ({
  height: 256,
  width: 256,
  batchSize: 8,
  budgetBytes: 2048 * MiB,
  baselineBytes: 200 * MiB,
  numClasses: 4,
  segmenter: fcn(640),
  denoiser: fcn(2100),
  ...over,
});

/** The plan's own cost model, written out once more: what a batch of b at these shapes is estimated to take. */
function estimate(p: MemoryPlanInput, b: number, cap: number | null, shapes?: WorkingShape[]): number {
  const hw = p.height * p.width;
  const models = [p.segmenter, ...(p.denoiser ? [p.denoiser] : [])];
  const shape = (i: number) => shapes?.[i] ?? workingShape(models[i].spec, p.height, p.width, cap);
  const act = models.reduce((a, m, i) => a + (m.spec.bytesPerPixel ?? DEFAULT_BYTES_PER_PIXEL) * workingPixels(shape(i)), 0);
  return (
    p.baselineBytes +
    RUNTIME_RESERVE_BYTES +
    hw * (34 + 2 * p.numClasses) +
    (p.sideBytes ?? 0) +
    b * (hw * HOST_BYTES_PER_PIXEL + ACTIVATION_MARGIN * act)
  );
}

test("small images keep the config's batch at full resolution; larger ones lose batch first, then resolution", () => {
  const small = planMemory(input({}));
  assert.equal(small.limitedBy, 'nothing');
  assert.equal(small.batchSize, 8);
  assert.equal(small.segmenter.how, 'native');
  const mid = planMemory(input({ height: 512, width: 512 }));
  assert.equal(mid.limitedBy, 'batch');
  assert.ok(mid.batchSize >= 1 && mid.batchSize < 8);
  assert.equal(mid.segmenter.how, 'native');
  const big = planMemory(input({ height: 2048, width: 2048 }));
  assert.equal(big.limitedBy, 'resolution');
  assert.equal(big.batchSize, 1);
  assert.equal(big.segmenter.how, 'scaled');
  assert.deepEqual([big.denoiser!.height, big.denoiser!.width], [big.segmenter.height, big.segmenter.width]);
  for (const p of [small, mid, big]) assert.ok(p.estimatedBytes <= p.budgetBytes);
});

test('against a brute-force search: the largest batch that fits, else the largest pixel cap at batch 1', () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const seen = { refused: 0, nothing: 0, batch: 0, resolution: 0 };
  for (let k = 0; k < 200; k++) {
    const p = input({
      height: 32 + Math.floor(rnd() * 3000),
      width: 32 + Math.floor(rnd() * 3000),
      batchSize: 1 + Math.floor(rnd() * 16),
      budgetBytes: (512 + Math.floor(rnd() * 4096)) * MiB,
      baselineBytes: (100 + Math.floor(rnd() * 200)) * MiB,
      segmenter: fcn(100 + Math.floor(rnd() * 2000)),
      denoiser: rnd() < 0.3 ? null : rnd() < 0.5 ? fixed(128, 1500) : fcn(1500),
      sideBytes: k % 2 ? 0 : ((k * 37) % 300) * MiB, // not from rnd(): the other cases stay as they were
    });
    let plan;
    try {
      plan = planMemory(p);
    } catch (e) {
      assert.ok(e instanceof CertsegError, String(e));
      assert.ok(estimate(p, 1, MIN_WORKING_PIXELS) > p.budgetBytes, 'refused only when even the smallest working image does not fit');
      assert.match(e.message, /needs about \d+ MiB .* the memory budget is \d+ MiB/);
      seen.refused++;
      continue;
    }
    seen[plan.limitedBy]++;
    assert.ok(plan.estimatedBytes <= p.budgetBytes, 'within the budget');
    const shapes = [plan.segmenter, ...(plan.denoiser ? [plan.denoiser] : [])];
    assert.ok(Math.abs(plan.estimatedBytes - estimate(p, plan.batchSize, null, shapes)) < 1, "the estimate is the cost model's");
    if (plan.limitedBy !== 'resolution') {
      let best = 0;
      for (let b = 1; b <= p.batchSize; b++) if (estimate(p, b, null) <= p.budgetBytes) best = b;
      assert.equal(plan.batchSize, best, 'the largest batch that fits');
    } else {
      assert.ok(estimate(p, 1, null) > p.budgetBytes, 'scaled only when one full-size sample does not fit');
      // one pixel more on each side of every scaled model would not fit
      const grown = shapes.map((sh) => (sh.how === 'scaled' ? { ...sh, height: sh.height + 1, width: sh.width + 1 } : sh));
      assert.ok(estimate(p, 1, null, grown) > p.budgetBytes, 'not scaled more than needed');
    }
    if (p.denoiser?.spec.height) assert.equal(plan.denoiser!.height, 128, 'a fixed-size model keeps its size');
  }
  for (const [k, v] of Object.entries(seen)) assert.ok(v >= 3, `${k}: ${v} cases`);
});

test('an image that cannot fit even scaled down is refused with what it needs', () => {
  assert.throws(
    () => planMemory(input({ height: 20000, width: 20000, budgetBytes: 1024 * MiB })),
    (e: unknown) => {
      assert.ok(e instanceof CertsegError);
      assert.match(
        e.message,
        /^a 20000×20000 image needs about \d+ MiB .* memory budget is 1024 MiB\. Raise memoryBudgetMiB \(--memory-budget\)/,
      );
      return true;
    },
  );
  // only fixed-size models: nothing to scale, so a too-small budget is refused too
  assert.throws(() => planMemory(input({ budgetBytes: 300 * MiB, segmenter: fixed(1024, 4000), denoiser: null })), /needs about/);
});

test('a card without bytesPerPixel is planned at the conservative default', () => {
  const a = planMemory(input({ height: 1024, width: 1024, segmenter: fcn(), denoiser: null }));
  const b = planMemory(input({ height: 1024, width: 1024, segmenter: fcn(DEFAULT_BYTES_PER_PIXEL), denoiser: null }));
  assert.deepEqual(a, b);
});

test("what the baseline has not seen yet is planned: the composed graphs' copy of the weights, the noise thread's image copy and isolate", async () => {
  const root = path.resolve(__dirname, '../..');
  const seg = await loadSegmenter(path.join(root, 'models/default/segmenter.card.json'), { engine: 'onnx' });
  const den = await loadDenoiser(path.join(root, 'models/default/denoiser.card.json'), { engine: 'onnx' });
  try {
    const weights = statSync(seg.card.files.onnx!).size + statSync(den.card.files.onnx!).size;
    assert.ok(seg.composer, 'an ONNX segmenter is loaded with its composer');
    assert.equal(sideBytes(seg, den, 256 * 256, { noiseThread: false, compose: true }), weights);
    assert.equal(sideBytes(seg, null, 256 * 256, { noiseThread: false, compose: true }), statSync(seg.card.files.onnx!).size);
    assert.equal(sideBytes(seg, den, 256 * 256, { noiseThread: false, compose: false }), 0);
    assert.equal(
      sideBytes(seg, den, 1000 * 700, { noiseThread: true, compose: false }),
      NOISE_THREAD_RESERVE_BYTES + 1000 * 700 * NOISE_THREAD_BYTES_PER_PIXEL,
    );
  } finally {
    await den.dispose();
    await seg.dispose();
  }
  // planned exactly like the same bytes already in the baseline
  const a = planMemory(input({ height: 512, width: 512, sideBytes: 150 * MiB }));
  const b = planMemory(input({ height: 512, width: 512, baselineBytes: 350 * MiB }));
  assert.deepEqual(a, b);
  assert.ok(a.batchSize < planMemory(input({ height: 512, width: 512 })).batchSize, 'the side bytes cost batch');
});
