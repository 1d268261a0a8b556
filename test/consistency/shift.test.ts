import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureShiftConsistency, summarizeShift, DIRECTIONS, ricsPredictor } from '../../server/src/consistency/shift';
import { smoothRandomImage, thresholdSegmenter, boxFilterSegmenter, stride2Segmenter } from '../../server/src/consistency/synthetic';
import { NOT_COVERED, type SegmentFn } from '../../server/src/consistency/common';
import { CertsegError } from '../../server/src/core/errors';

const H = 40,
  W = 48;

test('pointwise threshold segmenter: exactly 0 flips on the overlap for all 8 one-pixel shifts', async () => {
  for (let s = 0; s < 5; s++) {
    const img = smoothRandomImage(H, W, s);
    const r = await measureShiftConsistency(thresholdSegmenter(0.45), img, H, W);
    assert.equal(r.directions.length, 8);
    assert.equal(r.viewHeight, H - 2);
    assert.equal(r.viewWidth, W - 2);
    for (const d of r.directions) {
      assert.equal(d.changed, 0, `direction ${d.dy},${d.dx}`);
      assert.equal(d.compared, (H - 2 - Math.abs(d.dy)) * (W - 2 - Math.abs(d.dx)));
    }
    assert.equal(r.anyChanged, false);
    assert.ok(r.flipMap.every((v) => v === 0));
    // the reference prediction is placed in the frame; the 1-pixel frame border is not seen by it
    assert.equal(r.reference[0], NOT_COVERED);
  }
});

test('alignment is on content: a segmenter that labels by absolute position in the view flips', async () => {
  // label = x parity in view coordinates: every horizontal shift flips every compared pixel
  const parity: SegmentFn = {
    segment: async (_i, b, h, w) => {
      const o = new Uint8Array(b * h * w);
      for (let i = 0; i < o.length; i++) o[i] = (i % w) % 2;
      return o;
    },
  };
  const r = await measureShiftConsistency(parity, smoothRandomImage(H, W, 1), H, W);
  for (const d of r.directions) assert.equal(d.fraction, d.dx === 0 ? 0 : 1);
  assert.equal(r.worst.fraction, 1);
  assert.deepEqual([r.worst.dy, r.worst.dx], [-1, -1]); // first of the worst in DIRECTIONS order
  // interior frame pixel: flipped by the 6 shifts with dx ≠ 0
  assert.equal(r.flipMap[10 * W + 10], 6);
});

test('local box filter: flips (if any) only within the clamped border band', async () => {
  const img = smoothRandomImage(H, W, 3, { noise: 0.3 });
  const r = await measureShiftConsistency(boxFilterSegmenter(1, 0.45), img, H, W);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      if (y >= 3 && y < H - 3 && x >= 3 && x < W - 3) assert.equal(r.flipMap[y * W + x], 0, `(${y},${x})`);
    }
});

test('stride-2 segmenter: one-pixel shifts change pixels', async () => {
  const reports = [];
  for (let s = 0; s < 6; s++)
    reports.push(await measureShiftConsistency(stride2Segmenter(0.45), smoothRandomImage(H, W, 10 + s, { noise: 0.4 }), H, W));
  const sum = summarizeShift(reports);
  assert.equal(sum.images, 6);
  assert.ok(sum.shareChangedAny > 0.5, JSON.stringify(sum));
  assert.ok(sum.meanChangedFraction > 0.001);
  assert.equal(sum.perDirectionShareChanged.length, DIRECTIONS.length);
  // every changed pixel is counted in the flip map
  for (const r of reports) {
    const total = r.directions.reduce((a, d) => a + d.changed, 0);
    assert.equal(
      r.flipMap.reduce((a, v) => a + v, 0),
      total,
    );
  }
});

test('crop-selection predictor: pixels change only when the selected content changes', async () => {
  for (let s = 0; s < 8; s++) {
    const img = smoothRandomImage(H, W, 30 + s, { noise: 0.4 });
    const r = await measureShiftConsistency(stride2Segmenter(0.45), img, H, W, { predictor: ricsPredictor(stride2Segmenter(0.45), 6) });
    assert.ok(r.selectionChangeRate !== undefined);
    for (const d of r.directions) if (!d.selectionChanged) assert.equal(d.changed, 0, `seed ${s} dir ${d.dy},${d.dx}`);
  }
});

test('bad inputs: clear CertsegError', async () => {
  await assert.rejects(measureShiftConsistency(thresholdSegmenter(), new Float32Array(3 * 4), 2, 2), CertsegError);
  await assert.rejects(measureShiftConsistency(thresholdSegmenter(), new Float32Array(10), 4, 4), CertsegError);
  const wrong: SegmentFn = { segment: async () => new Uint8Array(3) };
  await assert.rejects(measureShiftConsistency(wrong, smoothRandomImage(8, 8, 1), 8, 8), CertsegError);
});
