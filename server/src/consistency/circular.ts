/**
 * Circular canonicalisation: exact invariance to integer circular (wrap-around) shifts.
 *
 * A circularly computed, translation-covariant score s(p) = f(k×k patch at p, indices mod h, w) is
 * evaluated at every position p of the h×w image. The image is rolled so that p* = argmax s sits at the
 * origin, segmented, and the prediction is rolled back by p*. A circular shift by d rolls the score map by
 * d, so p* moves by d and the canonical (rolled) image is identical pixel-for-pixel: the segmenter sees
 * the same input, whatever it is (zero padding, strides, anything), and the rolled-back prediction is
 * exactly the shifted prediction.
 *
 * Ties. "Lowest raster position" is NOT covariant under wrap-around, so tied maxima are broken by the
 * content itself: among the tied positions pick the one whose rolled image is lexicographically smallest
 * (channel-major raster order). That choice is a function of the set of rolled images, which a circular
 * shift does not change, so the canonical image stays exact. Two tied positions with equal rolled images
 * mean the image is periodic with their difference; both give the same canonical image, so any of them
 * is fine. Cost: O(ties × compared prefix); a constant image is special-cased (no roll needed).
 */
import { CertsegError } from '../core/errors';
import { channelsOf, luminance, mulberry32, type SegmentFn } from './common';

export interface CanonicalOptions {
  /** side of the score patch; default 5 */
  patch?: number;
  /** seed of the fixed random filter; default 1 */
  seed?: number;
}

/** Roll a c×h×w image: out[y][x] = in[(y+dy) mod h][(x+dx) mod w] (content at (dy,dx) moves to the origin). */
export function rollImage(img: Float32Array, c: number, h: number, w: number, dy: number, dx: number): Float32Array {
  const out = new Float32Array(img.length);
  const sy = ((dy % h) + h) % h,
    sx = ((dx % w) + w) % w;
  for (let k = 0; k < c; k++) {
    for (let y = 0; y < h; y++) {
      const src = k * h * w + ((y + sy) % h) * w;
      const dst = k * h * w + y * w;
      out.set(img.subarray(src + sx, src + w), dst);
      out.set(img.subarray(src, src + sx), dst + w - sx);
    }
  }
  return out;
}

/** Roll h×w labels the same way: out[y][x] = in[(y+dy) mod h][(x+dx) mod w]. */
export function rollLabels(lab: Uint8Array, h: number, w: number, dy: number, dx: number): Uint8Array {
  const out = new Uint8Array(lab.length);
  const sy = ((dy % h) + h) % h,
    sx = ((dx % w) + w) % w;
  for (let y = 0; y < h; y++) {
    const src = ((y + sy) % h) * w;
    out.set(lab.subarray(src + sx, src + w), y * w);
    out.set(lab.subarray(src, src + sx), y * w + w - sx);
  }
  return out;
}

/** The circular score map (h×w): a fixed zero-mean random filter on the luminance, indices mod h, w. */
export function circularScore(img: Float32Array, h: number, w: number, opts: CanonicalOptions = {}): Float64Array {
  const c = channelsOf(img, h, w);
  const k = opts.patch ?? 5;
  if (!Number.isInteger(k) || k < 1) throw new CertsegError(`circular canonicalisation: patch must be an integer ≥ 1 (got ${k})`);
  const rnd = mulberry32((opts.seed ?? 1) * 104729 + k);
  const f = new Float64Array(k * k);
  let m = 0;
  for (let i = 0; i < f.length; i++) {
    f[i] = 2 * rnd() - 1;
    m += f[i] / f.length;
  }
  for (let i = 0; i < f.length; i++) f[i] -= m;
  const L = luminance(img, c, h, w);
  const s = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = 0;
      for (let i = 0; i < k; i++) {
        const row = ((y + i) % h) * w;
        for (let j = 0; j < k; j++) v += f[i * k + j] * L[row + ((x + j) % w)];
      }
      s[y * w + x] = v;
    }
  }
  return s;
}

export interface Canonical {
  /** the roll applied: canonical = rollImage(image, dy, dx) */
  dy: number;
  dx: number;
  /** positions tied at the maximum score */
  ties: number;
}

/** Find the canonical roll of an image (see the tie rule in the module comment). */
export function canonicalShift(img: Float32Array, h: number, w: number, opts: CanonicalOptions = {}): Canonical {
  const c = channelsOf(img, h, w);
  const s = circularScore(img, h, w, opts);
  let max = -Infinity;
  for (let i = 0; i < s.length; i++) if (s[i] > max) max = s[i];
  let cands: number[] = [];
  for (let i = 0; i < s.length; i++) if (s[i] === max) cands.push(i);
  const ties = cands.length;
  if (cands.length > 1) {
    let constant = true;
    for (let i = 1; i < img.length && constant; i++) if (img[i] !== img[0]) constant = false;
    if (constant) return { dy: 0, dx: 0, ties };
    // prune simultaneously in the canonical raster order: keep the candidates with the smallest value
    const n = h * w;
    for (let t = 0; t < c * n && cands.length > 1; t++) {
      const ch = Math.floor(t / n),
        y = Math.floor((t % n) / w),
        x = t % w;
      let best = Infinity;
      const vals = cands.map((p) => {
        const py = Math.floor(p / w),
          px = p % w;
        const v = img[ch * n + ((y + py) % h) * w + ((x + px) % w)];
        if (v < best) best = v;
        return v;
      });
      cands = cands.filter((_, i) => vals[i] === best);
    }
  }
  const p = cands[0];
  return { dy: Math.floor(p / w), dx: p % w, ties };
}

/** Canonicalise, segment the single c×h×w image, roll the prediction back to the input frame. */
export async function circularSegment(
  seg: SegmentFn,
  img: Float32Array,
  h: number,
  w: number,
  opts: CanonicalOptions = {},
): Promise<{ labels: Uint8Array; canonical: Canonical }> {
  const c = channelsOf(img, h, w);
  const canonical = canonicalShift(img, h, w, opts);
  const rolled = rollImage(img, c, h, w, canonical.dy, canonical.dx);
  const pred = await seg.segment(rolled, 1, h, w);
  if (pred.length !== h * w) throw new CertsegError(`segmenter returned ${pred.length} labels for one ${h}×${w} image`, 'model');
  // canonical[y][x] = img[y+dy][x+dx]  ⇒  label of img pixel (Y,X) = pred[Y−dy][X−dx]
  return { labels: rollLabels(pred, h, w, -canonical.dy, -canonical.dx), canonical };
}

export interface CircularReport {
  shifts: number;
  /** share of shifts after which the plain prediction, rolled back, equals the unshifted one exactly */
  plainExact: number;
  /** the same with circular canonicalisation (should be 1) */
  canonicalExact: number;
  /** mean share of pixels that change (plain / canonical) */
  plainChangedFraction: number;
  canonicalChangedFraction: number;
}

/**
 * Compare predictions of circularly shifted copies of the image with the unshifted prediction, rolled
 * into alignment. Shifts: the listed ones, or `count` pseudo-random non-zero ones from `seed`.
 */
export async function measureCircularConsistency(
  seg: SegmentFn,
  img: Float32Array,
  h: number,
  w: number,
  opts: CanonicalOptions & { shifts?: [number, number][]; count?: number; shiftSeed?: number } = {},
): Promise<CircularReport> {
  const c = channelsOf(img, h, w);
  let shifts = opts.shifts;
  if (!shifts) {
    const rnd = mulberry32(opts.shiftSeed ?? 7);
    shifts = [];
    while (shifts.length < (opts.count ?? 8)) {
      const dy = Math.floor(rnd() * h),
        dx = Math.floor(rnd() * w);
      if (dy !== 0 || dx !== 0) shifts.push([dy, dx]);
    }
  }
  const plain0 = await seg.segment(img, 1, h, w);
  const canon0 = (await circularSegment(seg, img, h, w, opts)).labels;
  let pe = 0,
    ce = 0,
    pf = 0,
    cf = 0;
  for (const [dy, dx] of shifts) {
    // shifted image: content moves by (dy,dx): shifted[y][x] = img[y−dy][x−dx]
    const shifted = rollImage(img, c, h, w, -dy, -dx);
    const p = rollLabels(await seg.segment(shifted, 1, h, w), h, w, dy, dx);
    const q = rollLabels((await circularSegment(seg, shifted, h, w, opts)).labels, h, w, dy, dx);
    let dp = 0,
      dq = 0;
    for (let i = 0; i < p.length; i++) {
      if (p[i] !== plain0[i]) dp++;
      if (q[i] !== canon0[i]) dq++;
    }
    if (dp === 0) pe++;
    if (dq === 0) ce++;
    pf += dp / p.length;
    cf += dq / q.length;
  }
  const n = shifts.length;
  return { shifts: n, plainExact: pe / n, canonicalExact: ce / n, plainChangedFraction: pf / n, canonicalChangedFraction: cf / n };
}
