import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalShift, circularSegment, measureCircularConsistency, rollImage, rollLabels } from '../../server/src/consistency/circular';
import { randomImage, smoothRandomImage, stride2Segmenter, thresholdSegmenter } from '../../server/src/consistency/synthetic';
import { mulberry32 } from '../../server/src/consistency/common';
import type { SegmentFn } from '../../server/src/consistency/common';

/** zero-padded 3×3 box filter + threshold: equivariant to circular shifts only away from the borders */
const zeroPadBox: SegmentFn = {
  segment: async (images, b, h, w) => {
    const out = new Uint8Array(b * h * w);
    const per = images.length / b;
    for (let k = 0; k < b; k++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          let s = 0;
          for (let i = -1; i <= 1; i++)
            for (let j = -1; j <= 1; j++) {
              const yy = y + i,
                xx = x + j;
              if (yy >= 0 && yy < h && xx >= 0 && xx < w) s += images[k * per + yy * w + xx];
            }
          out[k * h * w + y * w + x] = s / 9 > 0.45 ? 1 : 0;
        }
    return out;
  },
};

test('roll helpers are inverse and agree with each other', () => {
  const img = randomImage(1, 5, 7, 1);
  const r = rollImage(img, 1, 5, 7, 2, 3);
  assert.equal(r[0], img[2 * 7 + 3]);
  assert.deepEqual(rollImage(r, 1, 5, 7, -2, -3), img);
  const lab = Uint8Array.from(img, (v) => Math.floor(v * 200));
  assert.deepEqual(rollLabels(rollLabels(lab, 5, 7, 4, -1), 5, 7, -4, 1), lab);
});

test('circular shifts: canonicalised segmentation is exactly invariant (100%), even for non-equivariant segmenters', async () => {
  const rnd = mulberry32(99);
  let total = 0,
    exact = 0;
  for (let s = 0; s < 6; s++) {
    const h = 20 + Math.floor(rnd() * 12),
      w = 20 + Math.floor(rnd() * 12);
    const img = s % 2 ? randomImage(3, h, w, s) : smoothRandomImage(h, w, s, { noise: 0.3 });
    for (const seg of [stride2Segmenter(0.45), zeroPadBox, thresholdSegmenter(0.45)]) {
      const r = await measureCircularConsistency(seg, img, h, w, { count: 6, shiftSeed: s });
      total += r.shifts;
      exact += r.canonicalExact * r.shifts;
      assert.equal(r.canonicalExact, 1);
      assert.equal(r.canonicalChangedFraction, 0);
    }
    // the pointwise threshold segmenter is circularly equivariant even without canonicalisation
    assert.equal((await measureCircularConsistency(thresholdSegmenter(0.45), img, h, w, { count: 3 })).plainExact, 1);
  }
  assert.equal(exact, total);
  // the stride-2 segmenter alone is not invariant to odd circular shifts
  const img = smoothRandomImage(24, 24, 3, { noise: 0.5 });
  const plain = await measureCircularConsistency(stride2Segmenter(0.45), img, 24, 24, {
    shifts: [
      [0, 1],
      [1, 0],
      [1, 1],
      [3, 5],
    ],
  });
  assert.ok(plain.plainExact < 1, JSON.stringify(plain));
  assert.equal(plain.canonicalExact, 1);
});

test('ties: the canonical image stays exact for images with tied maxima (periodic and flat regions)', async () => {
  const h = 12,
    w = 12;
  // periodic image (period 4 in x, 3 in y): every maximum is tied with its translates
  const per = new Float32Array(3 * h * w);
  for (let k = 0; k < 3; k++)
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) per[k * h * w + y * w + x] = ((x % 4) * 3 + (y % 3)) / 12 + 0.05 * k;
  // mostly flat image with two identical bumps
  const flat = new Float32Array(3 * h * w).fill(0.5);
  for (const [y, x] of [
    [2, 2],
    [8, 7],
  ])
    for (let k = 0; k < 3; k++) flat[k * h * w + y * w + x] = 0.9;
  const constant = new Float32Array(3 * h * w).fill(0.3);
  for (const img of [per, flat, constant]) {
    const c = canonicalShift(img, h, w);
    if (img !== flat) assert.ok(c.ties > 1);
    for (const [dy, dx] of [
      [1, 0],
      [0, 5],
      [7, 3],
      [11, 11],
    ]) {
      const shifted = rollImage(img, 3, h, w, -dy, -dx);
      const cs = canonicalShift(shifted, h, w);
      assert.deepEqual(rollImage(shifted, 3, h, w, cs.dy, cs.dx), rollImage(img, 3, h, w, c.dy, c.dx));
      const a = (await circularSegment(stride2Segmenter(0.6), img, h, w)).labels;
      const b = (await circularSegment(stride2Segmenter(0.6), shifted, h, w)).labels;
      assert.deepEqual(rollLabels(b, h, w, dy, dx), a);
    }
  }
});
