/**
 * Visualisations as pure functions returning RGBA (Uint8Array, 4·width·height, row-major); write them
 * with writePngRGBA. Conventions:
 *  - ABSTAIN pixels are never a flat colour: a grey/white checkerboard (label maps) or diagonal hatching
 *    (overlays, heatmaps), so "no certificate" cannot be mistaken for a class.
 *  - images are planar float RGB in [0,1] (as returned by readImage).
 */
import { CertsegError } from '../core/errors';
import { ABSTAIN } from '../core/labels';
import type { ClassSpec } from '../models/card';

export type RGB = [number, number, number];

/** '#rrggbb' or '#rgb' (case-insensitive, '#' optional) → [r,g,b] 0..255. */
export function parseHexColor(color: string): RGB {
  const m = /^#?([0-9a-f]{6}|[0-9a-f]{3})$/i.exec(String(color).trim());
  if (!m) throw new CertsegError(`invalid colour '${color}': expected '#rrggbb'`, 'config');
  let h = m[1];
  if (h.length === 3) h = h[0] + h[0] + h[1] + h[1] + h[2] + h[2];
  const v = parseInt(h, 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/** Colour for labels that are neither a class nor ABSTAIN (a model/label bug): magenta. */
export const UNKNOWN_LABEL_COLOR: RGB = [255, 0, 255];
const CHECKER_LIGHT = 255;
const CHECKER_DARK = 150;

function checkSize(what: string, len: number, per: number, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new CertsegError(`${what}: bad size ${width}×${height}`, 'input');
  }
  if (len !== per * width * height) {
    throw new CertsegError(`${what}: ${len} values do not match ${per}×${width}×${height}`, 'input');
  }
}

/** true on the "ink" cells of a checkerboard with `cell`-pixel squares */
const checker = (x: number, y: number, cell: number) => ((Math.floor(x / cell) + Math.floor(y / cell)) & 1) === 0;
/** true on diagonal hatch lines (period `period`, 2 pixels wide) */
const hatch = (x: number, y: number, period: number) => (x + y) % period < 2;

export interface ColorizeOptions {
  /** checker square size in pixels for ABSTAIN (default 4) */
  cell?: number;
  /** alpha written for class pixels (default 255) */
  alpha?: number;
  /** class ids drawn fully transparent (e.g. [0] for background) */
  transparent?: number[];
}

/** Label map → RGBA with the class colours; ABSTAIN as a grey/white checkerboard (opaque). */
export function colorizeLabels(
  labels: Uint8Array,
  width: number,
  height: number,
  classes: ClassSpec[],
  opts: ColorizeOptions = {},
): Uint8Array {
  checkSize('colorizeLabels', labels.length, 1, width, height);
  const colors = classes.map((c) => parseHexColor(c.color));
  const cell = Math.max(1, opts.cell ?? 4);
  const alpha = opts.alpha ?? 255;
  const transparent = new Set(opts.transparent ?? []);
  const out = new Uint8Array(width * height * 4);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      const l = labels[i];
      const o = 4 * i;
      if (l === ABSTAIN) {
        const v = checker(x, y, cell) ? CHECKER_LIGHT : CHECKER_DARK;
        out[o] = out[o + 1] = out[o + 2] = v;
        out[o + 3] = 255;
      } else if (transparent.has(l)) {
        // all zero
      } else {
        const c = colors[l] ?? UNKNOWN_LABEL_COLOR;
        out[o] = c[0];
        out[o + 1] = c[1];
        out[o + 2] = c[2];
        out[o + 3] = alpha;
      }
    }
  }
  return out;
}

/**
 * Alpha-blend an RGBA layer over a planar RGB [0,1] image: out = img·(1−α·a) + layer·α·a, where a is the
 * layer's own alpha/255. Result is opaque RGBA.
 */
export function blend(image: Float32Array, layerRGBA: Uint8Array, width: number, height: number, alpha = 0.5): Uint8Array {
  checkSize('blend (image)', image.length, 3, width, height);
  checkSize('blend (layer)', layerRGBA.length, 4, width, height);
  const n = width * height;
  const out = new Uint8Array(n * 4);
  const a0 = Math.min(1, Math.max(0, alpha));
  for (let i = 0; i < n; i++) {
    const a = (a0 * layerRGBA[4 * i + 3]) / 255;
    for (let c = 0; c < 3; c++) {
      const img = Math.min(1, Math.max(0, image[c * n + i] || 0)) * 255;
      out[4 * i + c] = Math.round(img * (1 - a) + layerRGBA[4 * i + c] * a);
    }
    out[4 * i + 3] = 255;
  }
  return out;
}

/** The image alone as opaque RGBA. */
export function imageToRGBA(image: Float32Array, width: number, height: number): Uint8Array {
  return blend(image, new Uint8Array(width * height * 4), width, height, 0);
}

export interface CertifiedOverlayOptions {
  /** opacity of class colours over the image (default 0.5) */
  alpha?: number;
  /** class ids left uncoloured (default [0] when there are 2 classes: binary foreground only) */
  transparent?: number[];
  /** hatch period in pixels (default 6) */
  period?: number;
}

/**
 * The image with certified classes coloured and abstained pixels hatched: white diagonal lines over a
 * darkened image, so they read as "no guarantee here" at a glance.
 */
export function certifiedOverlay(
  image: Float32Array,
  certified: Uint8Array,
  width: number,
  height: number,
  classes: ClassSpec[],
  opts: CertifiedOverlayOptions = {},
): Uint8Array {
  checkSize('certifiedOverlay', certified.length, 1, width, height);
  const transparent = opts.transparent ?? (classes.length === 2 ? [0] : []);
  const layer = colorizeLabels(certified, width, height, classes, { transparent });
  const out = blend(image, layer, width, height, opts.alpha ?? 0.5);
  const period = Math.max(3, opts.period ?? 6);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      if (certified[i] !== ABSTAIN) continue;
      const o = 4 * i;
      if (hatch(x, y, period)) {
        out[o] = out[o + 1] = out[o + 2] = 255;
      } else {
        const n = width * height;
        for (let c = 0; c < 3; c++) out[o + c] = Math.round(Math.min(1, Math.max(0, image[c * n + i] || 0)) * 255 * 0.45);
      }
    }
  }
  return out;
}

import { viridis } from '../../../common/colormap';

export { viridis } from '../../../common/colormap';

/**
 * Certified radius per pixel → viridis heatmap (0 → dark purple … maxRadius → yellow; larger values and
 * +∞ clamp to yellow). Abstained pixels (radius ≤ 0, NaN) are near-black with dark-grey hatching.
 */
export function radiusHeatmap(radiusMap: Float32Array, width: number, height: number, maxRadius: number): Uint8Array {
  checkSize('radiusHeatmap', radiusMap.length, 1, width, height);
  const maxR = Number.isFinite(maxRadius) && maxRadius > 0 ? maxRadius : 1;
  const out = new Uint8Array(width * height * 4);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      const r = radiusMap[i];
      const o = 4 * i;
      if (!(r > 0)) {
        const v = hatch(x, y, 6) ? 90 : 20;
        out[o] = out[o + 1] = out[o + 2] = v;
      } else {
        const c = viridis(r / maxR);
        out[o] = c[0];
        out[o + 1] = c[1];
        out[o + 2] = c[2];
      }
      out[o + 3] = 255;
    }
  }
  return out;
}

export const ERROR_COLORS = {
  correct: [0, 170, 0] as RGB,
  wrong: [230, 25, 25] as RGB,
  abstain: [255, 215, 0] as RGB,
  ignored: [128, 128, 128] as RGB,
};

export interface ErrorMapOptions {
  /** draw correct pixels transparent instead of green (for overlaying on the image) */
  correctTransparent?: boolean;
}

/**
 * Prediction vs ground truth: correct = green (or transparent), wrong = red, abstained = yellow,
 * ignored ground truth (gt === ignoreLabel, default 255) = grey. Ignored wins over abstained.
 */
export function errorMap(
  pred: Uint8Array,
  gt: Uint8Array,
  width: number,
  height: number,
  ignoreLabel: number = 255,
  opts: ErrorMapOptions = {},
): Uint8Array {
  checkSize('errorMap (prediction)', pred.length, 1, width, height);
  checkSize('errorMap (mask)', gt.length, 1, width, height);
  const out = new Uint8Array(width * height * 4);
  for (let i = 0; i < pred.length; i++) {
    let c: RGB | null;
    if (gt[i] === ignoreLabel) c = ERROR_COLORS.ignored;
    else if (pred[i] === ABSTAIN) c = ERROR_COLORS.abstain;
    else if (pred[i] === gt[i]) c = opts.correctTransparent ? null : ERROR_COLORS.correct;
    else c = ERROR_COLORS.wrong;
    if (c) out.set([c[0], c[1], c[2], 255], 4 * i);
  }
  return out;
}
