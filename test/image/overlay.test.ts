import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import sharp from 'sharp';
import {
  blend,
  certifiedOverlay,
  colorizeLabels,
  ERROR_COLORS,
  errorMap,
  parseHexColor,
  radiusHeatmap,
  viridis,
} from '../../server/src/image/overlay';
import { readImage, readMask } from '../../server/src/image/read';
import { writePngRGBA } from '../../server/src/image/write';
import { ABSTAIN } from '../../server/src/core/labels';
import { CertsegError } from '../../server/src/core/errors';
import { KVASIR, SKIP_KVASIR, tempDir } from './helpers';

const classes = [
  { name: 'background', color: '#000000' },
  { name: 'polyp', color: '#ff0000' },
];
const px = (rgba: Uint8Array, i: number) => [...rgba.subarray(4 * i, 4 * i + 4)];

test('parseHexColor', () => {
  assert.deepEqual(parseHexColor('#1a2B3c'), [0x1a, 0x2b, 0x3c]);
  assert.deepEqual(parseHexColor('#f0a'), [255, 0, 170]);
  assert.throws(
    () => parseHexColor('red'),
    (e: unknown) => e instanceof CertsegError && /invalid colour 'red'/.test(e.message),
  );
});

test('colorizeLabels: class colours, ABSTAIN as a two-tone checkerboard, unknown labels magenta', () => {
  const w = 8;
  const labels = new Uint8Array(w * 8).fill(ABSTAIN);
  labels[0] = 0;
  labels[1] = 1;
  labels[2] = 7;
  const rgba = colorizeLabels(labels, w, 8, classes);
  assert.deepEqual(px(rgba, 0), [0, 0, 0, 255]);
  assert.deepEqual(px(rgba, 1), [255, 0, 0, 255]);
  assert.deepEqual(px(rgba, 2), [255, 0, 255, 255]);
  const greys = new Set<number>();
  for (let i = 3; i < w * 8; i++) {
    const [r, g, b, a] = px(rgba, i);
    assert.ok(r === g && g === b && a === 255);
    greys.add(r);
  }
  assert.equal(greys.size, 2, 'checkerboard of two greys');
  assert.throws(() => colorizeLabels(labels, 7, 8, classes), CertsegError);
});

test('blend and certifiedOverlay', () => {
  const w = 12;
  const h = 12;
  const n = w * h;
  const image = new Float32Array(3 * n).fill(0.4);
  const layer = colorizeLabels(new Uint8Array(n).fill(1), w, h, classes);
  const b = blend(image, layer, w, h, 0.5);
  assert.deepEqual(px(b, 5), [Math.round(102 * 0.5 + 255 * 0.5), 51, 51, 255]);
  assert.deepEqual(px(blend(image, layer, w, h, 0), 0), [102, 102, 102, 255]);

  const cert = new Uint8Array(n);
  cert.fill(1, 0, n / 2);
  cert.fill(ABSTAIN, n / 2);
  const o = certifiedOverlay(image, cert, w, h, classes);
  assert.deepEqual(px(o, 0), [179, 51, 51, 255], 'polyp tinted red');
  // background (class 0) stays the image in a binary task
  const bg = certifiedOverlay(image, new Uint8Array(n), w, h, classes);
  assert.deepEqual(px(bg, 0), [102, 102, 102, 255]);
  // abstained half: white hatch lines and darkened image
  const abst = [...Array(n / 2).keys()].map((k) => px(o, n / 2 + k)[0]);
  assert.ok(abst.includes(255) && abst.includes(Math.round(102 * 0.45)));
});

test('radiusHeatmap: viridis, abstain hatched dark', () => {
  assert.deepEqual(viridis(0), [68, 1, 84]);
  assert.deepEqual(viridis(1), [253, 231, 37]);
  const r = new Float32Array([0, 0.5, 1, 5, NaN, Infinity, -1, 0]);
  const m = radiusHeatmap(r, 4, 2, 1);
  assert.deepEqual(px(m, 2), [253, 231, 37, 255]);
  assert.deepEqual(px(m, 3), [253, 231, 37, 255], 'clamped');
  assert.deepEqual(px(m, 5), [253, 231, 37, 255], '+∞ clamped');
  assert.deepEqual(px(m, 1), [...viridis(0.5), 255]);
  for (const i of [0, 4, 6, 7]) {
    const [a, b, c] = px(m, i);
    assert.ok(a === b && b === c && a <= 90, 'abstain is dark grey');
  }
  // luminance increases along the colormap
  const lum = (c: number[]) => 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  for (let k = 0; k < 10; k++) assert.ok(lum(viridis((k + 1) / 10)) > lum(viridis(k / 10)));
});

test('errorMap: correct green/transparent, wrong red, abstain yellow, ignored grey', () => {
  const pred = new Uint8Array([0, 1, ABSTAIN, 1, ABSTAIN]);
  const gt = new Uint8Array([0, 0, 1, 255, 255]);
  const e = errorMap(pred, gt, 5, 1);
  assert.deepEqual(px(e, 0), [...ERROR_COLORS.correct, 255]);
  assert.deepEqual(px(e, 1), [...ERROR_COLORS.wrong, 255]);
  assert.deepEqual(px(e, 2), [...ERROR_COLORS.abstain, 255]);
  assert.deepEqual(px(e, 3), [...ERROR_COLORS.ignored, 255]);
  assert.deepEqual(px(e, 4), [...ERROR_COLORS.ignored, 255]);
  assert.deepEqual(px(errorMap(pred, gt, 5, 1, 255, { correctTransparent: true }), 0), [0, 0, 0, 0]);
});

test('overlays of a real Kvasir-SEG image write valid PNGs', { skip: SKIP_KVASIR }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const id = 'cju0qkwl35piu0993l0dewei2';
    const img = await readImage(path.join(KVASIR, 'images', `${id}.jpg`));
    const { width: w, height: h } = img;
    const mask = await readMask(path.join(KVASIR, 'masks', `${id}.png`), { numClasses: 2, expectWidth: w, expectHeight: h });
    // pretend certificate: the mask, abstaining on a band around the boundary
    const cert = new Uint8Array(mask);
    for (let y = 1; y < h - 1; y++)
      for (let x = 1; x < w - 1; x++) {
        const i = y * w + x;
        if (mask[i] !== mask[i + 1] || mask[i] !== mask[i + w])
          for (let d = -3; d <= 3; d++) cert[Math.max(0, Math.min(w * h - 1, i + d))] = ABSTAIN;
      }
    const radius = new Float32Array(w * h).map((_, i) => (cert[i] === ABSTAIN ? 0 : (i % w) / w));
    const outs = {
      'certified.png': certifiedOverlay(img.data, cert, w, h, classes),
      'radius.png': radiusHeatmap(radius, w, h, 1),
      'errors.png': errorMap(cert, mask, w, h),
      'prediction.png': blend(img.data, colorizeLabels(mask, w, h, classes), w, h, 0.5),
    };
    for (const [name, rgba] of Object.entries(outs)) {
      await writePngRGBA(path.join(dir, name), rgba, w, h);
      const meta = await sharp(path.join(dir, name)).metadata();
      assert.equal(meta.format, 'png');
      assert.equal(meta.width, w);
      assert.equal(meta.channels, 4);
    }
  } finally {
    cleanup();
  }
});
