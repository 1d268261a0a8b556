import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  selectCrop,
  scoreWindow,
  ricsSegment,
  ricsBound,
  ricsOnePixelBound,
  ricsAnyShiftRate,
  ricsWindowFor,
  SCORE_KINDS,
} from '../../server/src/consistency/rics';
import { crop, NOT_COVERED } from '../../server/src/consistency/common';
import { DIRECTIONS } from '../../server/src/consistency/shift';
import { randomImage, smoothRandomImage, stride2Segmenter } from '../../server/src/consistency/synthetic';
import { CertsegError } from '../../server/src/core/errors';

test('selectCrop: geometry, default crop size, window inside the frame', () => {
  const img = smoothRandomImage(40, 50, 1);
  for (const score of SCORE_KINDS) {
    const s = selectCrop(img, 40, 50, 8, { score });
    assert.equal(s.cropH, 33);
    assert.equal(s.cropW, 43);
    assert.ok(s.y >= 0 && s.y < 8 && s.x >= 0 && s.x < 8);
    assert.equal(s.score, Math.max(...scoreWindow(img, 40, 50, 8, { score })));
  }
  // configurable crop: the M×M window of origins is centred in the frame
  const s = selectCrop(img, 40, 50, 4, { cropH: 20, cropW: 20 });
  assert.equal(s.windowY, Math.floor((40 - 20 - 3) / 2));
  assert.equal(s.windowX, Math.floor((50 - 20 - 3) / 2));
  assert.ok(s.y >= s.windowY && s.y < s.windowY + 4);
});

test('covariance: the score of the same content is the same in shifted views', () => {
  const img = smoothRandomImage(48, 48, 2);
  const M = 8,
    v = 40;
  for (const score of SCORE_KINDS) {
    const a = scoreWindow(crop(img, 3, 48, 48, 2, 3, v, v), v, v, M, { score });
    const b = scoreWindow(crop(img, 3, 48, 48, 3, 5, v, v), v, v, M, { score });
    // candidate (i,j) in view a is content position (2+i,3+j) = candidate (i-1, j-2) in view b
    for (let i = 1; i < M; i++) for (let j = 2; j < M; j++) assert.equal(a[i * M + j], b[(i - 1) * M + (j - 2)]);
  }
});

test('selection changes exactly when the union argmax lies outside the intersection', () => {
  // a larger frame holds the union of both windows: check the characterisation used in the bound
  const M = 6;
  for (let s = 0; s < 40; s++) {
    const img = smoothRandomImage(40, 40, 200 + s, { noise: 0.5 });
    const [dy, dx] = DIRECTIONS[s % 8];
    const v = 36;
    const A = crop(img, 3, 40, 40, 2, 2, v, v),
      B = crop(img, 3, 40, 40, 2 + dy, 2 + dx, v, v);
    const sa = selectCrop(A, v, v, M),
      sb = selectCrop(B, v, v, M);
    const changed = 2 + sa.y !== 2 + dy + sb.y || 2 + sa.x !== 2 + dx + sb.x;
    // union scores in absolute content coordinates
    const wa = scoreWindow(A, v, v, M),
      wb = scoreWindow(B, v, v, M);
    const pts = new Map<string, number>();
    for (let i = 0; i < M; i++)
      for (let j = 0; j < M; j++) {
        pts.set(`${2 + i},${2 + j}`, wa[i * M + j]);
        pts.set(`${2 + dy + i},${2 + dx + j}`, wb[i * M + j]);
      }
    let best = '',
      bv = -Infinity;
    for (const [k, val] of [...pts].sort((p, q) => {
      const [a1, a2] = p[0].split(',').map(Number),
        [b1, b2] = q[0].split(',').map(Number);
      return a1 - b1 || a2 - b2;
    })) {
      if (val > bv) {
        bv = val;
        best = k;
      }
    }
    const [uy, ux] = best.split(',').map(Number);
    const inA = uy >= 2 && uy < 2 + M && ux >= 2 && ux < 2 + M;
    const inB = uy >= 2 + dy && uy < 2 + dy + M && ux >= 2 + dx && ux < 2 + dx + M;
    assert.equal(changed, !(inA && inB), `seed ${s}`);
  }
});

test('measured selection-change rate of crop selection stays within its bound (generated images, many shifts)', () => {
  const H = 56,
    W = 56,
    vh = H - 2,
    vw = W - 2;
  const N = 120;
  for (const M of [4, 8]) {
    let changed = 0,
      total = 0;
    for (let s = 0; s < N; s++) {
      const img = smoothRandomImage(H, W, 1000 + s);
      const ref = selectCrop(crop(img, 3, H, W, 1, 1, vh, vw), vh, vw, M);
      for (const [dy, dx] of DIRECTIONS) {
        const sel = selectCrop(crop(img, 3, H, W, 1 + dy, 1 + dx, vh, vw), vh, vw, M);
        if (ref.y !== dy + sel.y || ref.x !== dx + sel.x) changed++;
        total++;
      }
    }
    const rate = changed / total;
    const { bound, exchangeable } = ricsOnePixelBound(M);
    // 3 binomial standard errors of slack (pairs from one image are correlated: use the image count)
    const slack = 3 * Math.sqrt((bound * (1 - bound)) / N);
    assert.ok(rate <= bound + slack, `M=${M}: measured ${rate.toFixed(3)} > bound ${bound.toFixed(3)}`);
    assert.ok(
      Math.abs(rate - exchangeable) < 3 * Math.sqrt((exchangeable * (1 - exchangeable)) / N),
      `M=${M}: measured ${rate.toFixed(3)} far from exchangeable ${exchangeable.toFixed(3)}`,
    );
  }
});

/** Does some one-pixel shift of the (1,1) reference view change the selected content? (frame coordinates) */
function anyShiftChanges(img: Float32Array, H: number, W: number, M: number): boolean {
  const vh = H - 2,
    vw = W - 2;
  const ref = selectCrop(crop(img, 3, H, W, 1, 1, vh, vw), vh, vw, M);
  return DIRECTIONS.some(([dy, dx]) => {
    const s = selectCrop(crop(img, 3, H, W, 1 + dy, 1 + dx, vh, vw), vh, vw, M);
    return ref.y !== dy + s.y || ref.x !== dx + s.x;
  });
}

test("any of the 8 shifts changes the selection exactly when the argmax of the 9 windows' union lies outside their intersection", () => {
  const H = 36,
    W = 36,
    M = 6;
  let changes = 0;
  for (let s = 0; s < 60; s++) {
    const img = smoothRandomImage(H, W, 700 + s, { noise: 0.5 });
    // the union E of the 9 windows, scored on the frame: origins 0..M+1 for the same crop size, E's argmax
    const E = scoreWindow(img, H, W, M + 2, { cropH: H - 2 - M + 1, cropW: W - 2 - M + 1 });
    let best = 0;
    for (let i = 1; i < E.length; i++) if (E[i] > E[best]) best = i;
    const uy = Math.floor(best / (M + 2)),
      ux = best % (M + 2);
    // the intersection C of the windows [1+dy, 1+dy+M): frame origins 2..M−1
    const inCore = uy >= 2 && uy < M && ux >= 2 && ux < M;
    const changed = anyShiftChanges(img, H, W, M);
    assert.equal(changed, !inCore, `seed ${s}`);
    if (changed) changes++;
  }
  assert.ok(changes > 0 && changes < 60, 'both outcomes occur');
});

test('any-shift rate: exact formula, and i.i.d. scores match it (random-noise images)', () => {
  assert.ok(Math.abs(ricsAnyShiftRate(32) - (1 - (30 / 34) ** 2)) < 1e-15);
  assert.equal(ricsAnyShiftRate(1), 1);
  assert.equal(ricsAnyShiftRate(2), 1);
  // the window a 5% any-shift rate needs: M = 156 (a 256×256 frame keeps a 99×99 crop)
  assert.equal(ricsWindowFor(0.05), 156);
  assert.ok(ricsAnyShiftRate(155) > 0.05 && ricsAnyShiftRate(156) <= 0.05);
  for (const t of [0.5, 0.2, 0.1, 0.01]) {
    const M = ricsWindowFor(t);
    assert.ok(ricsAnyShiftRate(M) <= t && (M === 1 || ricsAnyShiftRate(M - 1) > t), `target ${t}`);
  }
  // hash scores of i.i.d. noise patches are exchangeable: the measured share of images matches the formula
  const H = 30,
    W = 30,
    N = 300;
  for (const M of [4, 8]) {
    let changed = 0;
    for (let s = 0; s < N; s++) if (anyShiftChanges(randomImage(3, H, W, 9000 + s), H, W, M)) changed++;
    const p = ricsAnyShiftRate(M),
      rate = changed / N;
    assert.ok(Math.abs(rate - p) < 3 * Math.sqrt((p * (1 - p)) / N), `M=${M}: measured ${rate.toFixed(3)}, formula ${p.toFixed(3)}`);
  }
});

test('ricsBound formulas', () => {
  assert.equal(ricsBound(8, 0, 1).bound, 2 / 8);
  assert.ok(Math.abs(ricsBound(8, 0, 1).exchangeable - 2 / 9) < 1e-12);
  assert.equal(ricsBound(8, 1, 1).bound, (2 * (64 - 49)) / 64);
  assert.equal(ricsBound(2, 3, 0).bound, 1);
  assert.ok(ricsOnePixelBound(64).bound < ricsOnePixelBound(16).bound);
});

test('ricsSegment: prediction placed at the crop, NOT_COVERED elsewhere, crop identical to direct segmentation', async () => {
  const H = 30,
    W = 34,
    M = 5;
  const imgs = new Float32Array(2 * 3 * H * W);
  imgs.set(smoothRandomImage(H, W, 5, { noise: 0.5 }), 0);
  imgs.set(smoothRandomImage(H, W, 6, { noise: 0.5 }), 3 * H * W);
  const seg = stride2Segmenter(0.45);
  const r = await ricsSegment(seg, imgs, 2, H, W, M);
  for (let b = 0; b < 2; b++) {
    const s = r.selections[b];
    const direct = await seg.segment(
      crop(imgs.subarray(b * 3 * H * W, (b + 1) * 3 * H * W), 3, H, W, s.y, s.x, s.cropH, s.cropW),
      1,
      s.cropH,
      s.cropW,
    );
    let uncovered = 0;
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const v = r.labels[b * H * W + y * W + x];
        const inside = y >= s.y && y < s.y + s.cropH && x >= s.x && x < s.x + s.cropW;
        if (inside) assert.equal(v, direct[(y - s.y) * s.cropW + (x - s.x)]);
        else {
          assert.equal(v, NOT_COVERED);
          uncovered++;
        }
      }
    assert.equal(uncovered, H * W - s.cropH * s.cropW);
  }
});

test('bad inputs: image smaller than crop + window, bad M, bad score', () => {
  const img = smoothRandomImage(10, 10, 1);
  assert.throws(
    () => selectCrop(img, 10, 10, 4, { cropH: 8 }),
    (e: unknown) => e instanceof CertsegError && /too small/.test(e.message),
  );
  assert.throws(() => selectCrop(img, 10, 10, 11), CertsegError);
  assert.throws(() => selectCrop(img, 10, 10, 0), CertsegError);
  assert.throws(() => selectCrop(img, 10, 10, 2.5), CertsegError);
  assert.throws(() => selectCrop(img, 10, 10, 3, { score: 'nope' as never }), CertsegError);
  assert.throws(() => selectCrop(new Float32Array(7), 10, 10, 3), CertsegError);
});
