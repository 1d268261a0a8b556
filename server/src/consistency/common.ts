/**
 * Shared helpers for the translation-consistency tools (shift measurement, crop selection,
 * circular canonicalisation). Images are NCHW float32 in [0,1] as everywhere else; a single
 * image is c×h×w with c = data.length / (h·w).
 */
import { CertsegError } from '../core/errors';
import { ABSTAIN, MAX_CLASSES } from '../core/labels';

/**
 * Label value of a frame pixel that a crop-selection prediction does not cover. Distinct from every
 * class id (0..MAX_CLASSES-1 = 0..253) and from ABSTAIN (255): uncovered pixels are never filled in.
 */
export const NOT_COVERED = 254;
// Guard: NOT_COVERED must stay clear of the class ids and ABSTAIN.
if ((NOT_COVERED as number) < MAX_CLASSES || (NOT_COVERED as number) === ABSTAIN)
  throw new Error('NOT_COVERED collides with a label value');

/** The only part of a Segmenter the consistency tools need (so tests can pass plain objects). */
export interface SegmentFn {
  segment(images: Float32Array, b: number, h: number, w: number): Promise<Uint8Array>;
}

/** Number of channels of one c×h×w image stored in `data`; throws a CertsegError on a size mismatch. */
export function channelsOf(data: ArrayLike<number>, h: number, w: number, what = 'image'): number {
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) {
    throw new CertsegError(`${what}: invalid size ${h}×${w}`);
  }
  const c = data.length / (h * w);
  if (!Number.isInteger(c) || c < 1) {
    throw new CertsegError(`${what}: ${data.length} values do not form a c×${h}×${w} image`);
  }
  return c;
}

/** Copy the window [y, y+ch) × [x, x+cw) of a c×h×w image into `dst` at element offset `dstOff`. */
export function cropInto(
  src: Float32Array,
  c: number,
  h: number,
  w: number,
  y: number,
  x: number,
  ch: number,
  cw: number,
  dst: Float32Array,
  dstOff = 0,
): void {
  if (y < 0 || x < 0 || y + ch > h || x + cw > w) {
    throw new CertsegError(`crop ${ch}×${cw} at (${y},${x}) leaves the ${h}×${w} image`);
  }
  for (let k = 0; k < c; k++) {
    for (let r = 0; r < ch; r++) {
      const s = k * h * w + (y + r) * w + x;
      dst.set(src.subarray(s, s + cw), dstOff + k * ch * cw + r * cw);
    }
  }
}

export function crop(src: Float32Array, c: number, h: number, w: number, y: number, x: number, ch: number, cw: number): Float32Array {
  const out = new Float32Array(c * ch * cw);
  cropInto(src, c, h, w, y, x, ch, cw, out, 0);
  return out;
}

/** Luminance plane (Rec. 601 weights for 3 channels, the channel mean otherwise), h×w float64. */
export function luminance(img: Float32Array, c: number, h: number, w: number): Float64Array {
  const n = h * w;
  const out = new Float64Array(n);
  if (c === 3) {
    for (let i = 0; i < n; i++) out[i] = 0.299 * img[i] + 0.587 * img[n + i] + 0.114 * img[2 * n + i];
  } else {
    for (let k = 0; k < c; k++) for (let i = 0; i < n; i++) out[i] += img[k * n + i] / c;
  }
  return out;
}

// mulberry32 lives with the project's other generators in core/rng.ts
export { mulberry32 } from '../core/rng';

/**
 * Dice of the foreground over the pixels where `valid` is true (all when omitted). A predicted pixel is
 * foreground when its label is neither 0 nor NOT_COVERED (an uncovered pixel never counts as a hit).
 */
export function foregroundDice(pred: Uint8Array, truth: Uint8Array, valid?: (i: number) => boolean): number | null {
  let tp = 0,
    fp = 0,
    fn = 0;
  for (let i = 0; i < pred.length; i++) {
    if (valid && !valid(i)) continue;
    const p = pred[i] !== 0 && pred[i] !== NOT_COVERED,
      t = truth[i] !== 0;
    if (p && t) tp++;
    else if (p) fp++;
    else if (t) fn++;
  }
  const d = 2 * tp + fp + fn;
  return d === 0 ? null : (2 * tp) / d;
}
