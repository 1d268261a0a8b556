/**
 * Robust Inference by Crop Selection (after Shifman & Weiss, "Lost in Translation", ECCV 2024),
 * adapted to segmentation.
 *
 * For an h×w frame, M candidate crop origins per axis (an M×M window) and a crop of cropH×cropW
 * (default (h−M+1)×(w−M+1), the largest crop every candidate fits):
 *   1. score every candidate origin o with a translation-covariant score s(o) = f(content of the k×k
 *      patch at the centre of the crop at o) — a function of the image content only, never of the
 *      frame coordinates, so moving the content moves the score map with it;
 *   2. pick o* = argmax over the window. Ties are broken by hashes of growing patches of each tied
 *      crop's content (covariant), and only then by the lowest (y,x) in raster order — lexicographic order
 *      of positions is preserved by translation, so that last rule is covariant as well, but it is biased
 *      towards the window's top-left corner, which is why it is the last resort (flat images);
 *   3. segment the crop at o*, place it back into the frame; every pixel outside the crop is
 *      NOT_COVERED (254), never filled in.
 * If the content moves by d, the candidate positions common to the old and the new window carry the same
 * scores, so the same content is selected unless the argmax of the union of the two windows lies
 * outside their intersection (see docs/consistency.md for the bound, `ricsBound`).
 */
import { CertsegError } from '../core/errors';
import { channelsOf, cropInto, luminance, mulberry32, NOT_COVERED, type SegmentFn } from './common';

/**
 * random:   fixed zero-mean pseudo-random linear filter on the luminance patch (smooth in the content)
 * gradient: gradient energy of the luminance patch
 * luma:     mean luminance of the patch (very smooth: argmax tends to sit on the window border)
 * hash:     pseudo-random hash of the 8-bit-quantised luminance patch (no spatial correlation: the argmax is
 *           close to uniform over the window, so the measured rate approaches the bound; exact for integer
 *           shifts of the same pixels, but any re-quantisation change of the patch reshuffles the scores)
 */
export type ScoreKind = 'random' | 'gradient' | 'luma' | 'hash';
export const SCORE_KINDS: readonly ScoreKind[] = ['random', 'gradient', 'luma', 'hash'];

export interface CropSelectionOptions {
  /** crop size; default h−M+1 × w−M+1 */
  cropH?: number;
  cropW?: number;
  /** default 'hash' */
  score?: ScoreKind;
  /** side of the score patch (clamped to the crop); default 9 */
  patch?: number;
  /** seed of the 'random' filter / 'hash' salt; default 1 */
  seed?: number;
}

export interface CropSelection {
  /** crop origin in the frame */
  y: number;
  x: number;
  cropH: number;
  cropW: number;
  M: number;
  /** top-left candidate of the M×M window in the frame (0,0 for the default crop size) */
  windowY: number;
  windowX: number;
  /** the winning score, and how many candidates tied with it */
  score: number;
  ties: number;
}

interface Geometry {
  c: number;
  cropH: number;
  cropW: number;
  wy: number;
  wx: number;
  k: number;
  py: number;
  px: number;
  kind: ScoreKind;
  seed: number;
}

function geometry(data: Float32Array, h: number, w: number, M: number, opts: CropSelectionOptions): Geometry {
  const c = channelsOf(data, h, w);
  if (!Number.isInteger(M) || M < 1) throw new CertsegError(`crop selection: window size M must be an integer ≥ 1 (got ${M})`);
  const cropH = opts.cropH ?? h - M + 1;
  const cropW = opts.cropW ?? w - M + 1;
  if (!Number.isInteger(cropH) || !Number.isInteger(cropW) || cropH < 1 || cropW < 1 || cropH + M - 1 > h || cropW + M - 1 > w) {
    throw new CertsegError(
      `crop selection: a ${h}×${w} image is too small for a ${cropH}×${cropW} crop with a ${M}×${M} window of origins ` +
        `(needs at least ${Math.max(cropH, 1) + M - 1}×${Math.max(cropW, 1) + M - 1})`,
    );
  }
  const kind = opts.score ?? 'hash';
  if (!SCORE_KINDS.includes(kind)) throw new CertsegError(`crop selection: unknown score '${String(kind)}' (${SCORE_KINDS.join(', ')})`);
  const patch = opts.patch ?? 9;
  if (!Number.isInteger(patch) || patch < 1) throw new CertsegError(`crop selection: score patch must be an integer ≥ 1 (got ${patch})`);
  const k = Math.min(patch, cropH, cropW);
  return {
    c,
    cropH,
    cropW,
    k,
    kind,
    seed: opts.seed ?? 1,
    wy: Math.floor((h - cropH - (M - 1)) / 2),
    wx: Math.floor((w - cropW - (M - 1)) / 2),
    py: Math.floor((cropH - k) / 2),
    px: Math.floor((cropW - k) / 2),
  };
}

const filterCache = new Map<string, Float64Array>();
function randomFilter(k: number, seed: number): Float64Array {
  const key = `${k}:${seed}`;
  let f = filterCache.get(key);
  if (!f) {
    const rnd = mulberry32(seed * 7919 + k);
    f = new Float64Array(k * k);
    let mean = 0;
    for (let i = 0; i < f.length; i++) {
      f[i] = 2 * rnd() - 1;
      mean += f[i] / f.length;
    }
    for (let i = 0; i < f.length; i++) f[i] -= mean;
    filterCache.set(key, f);
  }
  return f;
}

/** Score of the kh×kw luminance patch with top-left (r0,c0) of a plane with row stride `stride`. */
function patchScore(L: Float64Array, stride: number, r0: number, c0: number, k: number, kind: ScoreKind, seed: number, kw = k): number {
  const kh = k;
  switch (kind) {
    case 'luma': {
      let s = 0;
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) s += L[(r0 + i) * stride + c0 + j];
      return s / (kh * kw);
    }
    case 'gradient': {
      let s = 0;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const v = L[(r0 + i) * stride + c0 + j];
          if (j + 1 < kw) {
            const d = L[(r0 + i) * stride + c0 + j + 1] - v;
            s += d * d;
          }
          if (i + 1 < kh) {
            const d = L[(r0 + i + 1) * stride + c0 + j] - v;
            s += d * d;
          }
        }
      }
      return s;
    }
    case 'random': {
      const f = randomFilter(k, seed);
      let s = 0;
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) s += f[i * k + j] * L[(r0 + i) * stride + c0 + j];
      return s;
    }
    case 'hash': {
      // two independent 32-bit FNV-1a style hashes of the 8-bit-quantised patch → one double in [0,1)
      let h1 = (0x811c9dc5 ^ seed) >>> 0;
      let h2 = (0x01000193 ^ Math.imul(seed, 0x9e3779b1)) >>> 0;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const q = Math.max(0, Math.min(255, Math.round(L[(r0 + i) * stride + c0 + j] * 255)));
          h1 = Math.imul(h1 ^ q, 0x01000193) >>> 0;
          h2 = Math.imul(h2 ^ (q + 0x5bd1e995), 0x5bd1e995) >>> 0;
          h2 = (h2 ^ (h2 >>> 15)) >>> 0;
        }
      }
      h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b) >>> 0;
      h1 = (h1 ^ (h1 >>> 13)) >>> 0;
      return (h1 * 2097152 + (h2 >>> 11)) / 9007199254740992;
    }
  }
}

/** The M×M score map over candidate crop origins (row-major, window coordinates). */
export function scoreWindow(image: Float32Array, h: number, w: number, M: number, opts: CropSelectionOptions = {}): Float64Array {
  const g = geometry(image, h, w, M, opts);
  return scoreWindowWith(luminance(image, g.c, h, w), w, M, g);
}

function scoreWindowWith(L: Float64Array, stride: number, M: number, g: Geometry): Float64Array {
  const out = new Float64Array(M * M);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < M; j++) {
      out[i * M + j] = patchScore(L, stride, g.wy + i + g.py, g.wx + j + g.px, g.k, g.kind, g.seed);
    }
  }
  return out;
}

/**
 * Choose the crop. `image` is one c×h×w image (c = image.length / (h·w)). Throws a CertsegError when the
 * image is smaller than crop + window − 1.
 */
export function selectCrop(image: Float32Array, h: number, w: number, M: number, opts: CropSelectionOptions = {}): CropSelection {
  const g = geometry(image, h, w, M, opts);
  const L = luminance(image, g.c, h, w);
  const s = scoreWindowWith(L, w, M, g);
  let best = 0,
    ties = 1;
  for (let i = 1; i < s.length; i++) {
    if (s[i] > s[best]) {
      best = i;
      ties = 1;
    } else if (s[i] === s[best]) ties++;
  }
  if (ties > 1) {
    // Tie-break levels, all covariant (functions of the crop's content): hashes of growing centred patches,
    // ending with the whole crop. Only a tie that survives the whole-crop hash (identical crops, or a 2^-53
    // collision) falls back to the first position in raster order, which is covariant too.
    let cands: number[] = [];
    for (let i = 0; i < s.length; i++) if (s[i] === s[best]) cands.push(i);
    let kh = g.k,
      kw = g.k;
    while (cands.length > 1 && (kh < g.cropH || kw < g.cropW)) {
      kh = Math.min(g.cropH, 2 * kh + 1);
      kw = Math.min(g.cropW, 2 * kw + 1);
      const py = Math.floor((g.cropH - kh) / 2),
        px = Math.floor((g.cropW - kw) / 2);
      let top = -Infinity;
      const vals = cands.map((i) => {
        const v = patchScore(L, w, g.wy + Math.floor(i / M) + py, g.wx + (i % M) + px, kh, 'hash', g.seed + 17 * kh + kw, kw);
        if (v > top) top = v;
        return v;
      });
      cands = cands.filter((_, j) => vals[j] === top);
    }
    best = cands[0];
  }
  return {
    y: g.wy + Math.floor(best / M),
    x: g.wx + (best % M),
    cropH: g.cropH,
    cropW: g.cropW,
    M,
    windowY: g.wy,
    windowX: g.wx,
    score: s[best],
    ties,
  };
}

export interface RicsResult {
  /** b×h×w labels: the crop's prediction inside the crop, NOT_COVERED elsewhere */
  labels: Uint8Array;
  selections: CropSelection[];
}

/** Crop selection + segmentation for a batch of b c×h×w images (one segmenter call on the b crops). */
export async function ricsSegment(
  seg: SegmentFn,
  images: Float32Array,
  b: number,
  h: number,
  w: number,
  M: number,
  opts: CropSelectionOptions = {},
): Promise<RicsResult> {
  if (!Number.isInteger(b) || b < 1) throw new CertsegError(`crop selection: batch size must be ≥ 1 (got ${b})`);
  const per = images.length / b;
  const c = channelsOf(images.subarray(0, per), h, w);
  const selections: CropSelection[] = [];
  for (let i = 0; i < b; i++) selections.push(selectCrop(images.subarray(i * per, (i + 1) * per), h, w, M, opts));
  const { cropH, cropW } = selections[0];
  const crops = new Float32Array(b * c * cropH * cropW);
  for (let i = 0; i < b; i++) {
    cropInto(
      images.subarray(i * per, (i + 1) * per),
      c,
      h,
      w,
      selections[i].y,
      selections[i].x,
      cropH,
      cropW,
      crops,
      i * c * cropH * cropW,
    );
  }
  const pred = await seg.segment(crops, b, cropH, cropW);
  if (pred.length !== b * cropH * cropW) {
    throw new CertsegError(`segmenter returned ${pred.length} labels for ${b} crops of ${cropH}×${cropW}`, 'model');
  }
  const labels = new Uint8Array(b * h * w).fill(NOT_COVERED);
  for (let i = 0; i < b; i++) {
    const { y, x } = selections[i];
    for (let r = 0; r < cropH; r++) {
      const s = i * cropH * cropW + r * cropW;
      labels.set(pred.subarray(s, s + cropW), i * h * w + (y + r) * w + x);
    }
  }
  return { labels, selections };
}

export interface RicsBound {
  M: number;
  dy: number;
  dx: number;
  /**
   * P[selection changes] ≤ P[old argmax ∉ I] + P[new argmax ∉ I] = 2·(1 − |I|/M²), assuming only that the
   * argmax of a window is uniformly distributed over it (capped at 1). |I| = (M−|dy|)(M−|dx|).
   */
  bound: number;
  /** exact P[selection changes] when the scores are exchangeable (i.i.d. continuous): |U∖I|/|U| */
  exchangeable: number;
}

/** Consistency bound of crop selection with an M×M window for a content shift of (dy,dx) pixels. */
export function ricsBound(M: number, dy: number, dx: number): RicsBound {
  const ay = Math.abs(dy),
    ax = Math.abs(dx);
  const inter = Math.max(0, M - ay) * Math.max(0, M - ax);
  const m2 = M * M;
  return {
    M,
    dy,
    dx,
    bound: Math.min(1, (2 * (m2 - inter)) / m2),
    exchangeable: (2 * (m2 - inter)) / (2 * m2 - inter),
  };
}

/** The bound averaged over the 8 one-pixel directions (a uniformly random one-pixel shift). */
export function ricsOnePixelBound(M: number): { bound: number; exchangeable: number } {
  let b = 0,
    e = 0;
  for (let dy = -1; dy <= 1; dy++) {
    for (let dx = -1; dx <= 1; dx++) {
      if (dy === 0 && dx === 0) continue;
      const r = ricsBound(M, dy, dx);
      b += r.bound / 8;
      e += r.exchangeable / 8;
    }
  }
  return { bound: b, exchangeable: e };
}

/**
 * P[the selection changes under SOME of the 8 one-pixel shifts] when the argmax of a square window is
 * uniform over it (exact for exchangeable scores). Let E be the (M+2)×(M+2) union of the 9 windows (the
 * reference and the 8 shifted ones) and C their (M−2)×(M−2) intersection. If the argmax u* of E lies in
 * C, every window contains it and selects it: no change. Otherwise some window misses u*: if the reference
 * holds u* it selects u* and that window cannot; if it does not, a shifted window that holds u* selects it
 * and the reference cannot. So the event is exactly {u* ∉ C}: 1 − ((M−2)/(M+2))².
 */
export function ricsAnyShiftRate(M: number): number {
  if (!Number.isInteger(M) || M < 1) throw new CertsegError(`crop selection: window size M must be an integer ≥ 1 (got ${M})`);
  const core = Math.max(0, M - 2);
  return 1 - (core / (M + 2)) ** 2;
}

/** The smallest window M whose any-shift rate (ricsAnyShiftRate) is at most `target` (0 < target < 1). */
export function ricsWindowFor(target: number): number {
  if (!(target > 0 && target < 1)) throw new CertsegError(`crop selection: target rate must be in (0, 1) (got ${target})`);
  // (M−2)/(M+2) ≥ q with q = √(1−target)  ⇔  M ≥ 2(1+q)/(1−q); then step past rounding
  const q = Math.sqrt(1 - target);
  let M = Math.max(1, Math.floor((2 * (1 + q)) / (1 - q)) - 1);
  while (ricsAnyShiftRate(M) > target) M++;
  return M;
}
