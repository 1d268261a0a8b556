/**
 * Deterministic generated images and reference segmenters for the consistency tests and for sanity runs
 * without a trained model. Not used by the certification pipeline.
 */
import { luminance, mulberry32, type SegmentFn } from './common';

/** A smooth random RGB image (3×h×w in [0,1]): a sum of random low-frequency waves and Gaussian blobs. */
export function smoothRandomImage(
  h: number,
  w: number,
  seed: number,
  opts: { waves?: number; blobs?: number; noise?: number } = {},
): Float32Array {
  const rnd = mulberry32(seed);
  const n = h * w;
  const out = new Float32Array(3 * n);
  const waves = opts.waves ?? 4,
    blobs = opts.blobs ?? 5,
    noise = opts.noise ?? 0.02;
  for (let k = 0; k < 3; k++) {
    const ws = Array.from({ length: waves }, () => ({
      fy: (rnd() - 0.5) * 0.5,
      fx: (rnd() - 0.5) * 0.5,
      ph: rnd() * 2 * Math.PI,
      a: 0.15 * rnd(),
    }));
    const bs = Array.from({ length: blobs }, () => ({
      y: rnd() * h,
      x: rnd() * w,
      r: 2 + (rnd() * Math.max(h, w)) / 6,
      a: (rnd() - 0.4) * 0.8,
    }));
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let v = 0.4;
        for (const q of ws) v += q.a * Math.sin(q.fy * y + q.fx * x + q.ph);
        for (const b of bs) v += b.a * Math.exp(-((y - b.y) ** 2 + (x - b.x) ** 2) / (2 * b.r * b.r));
        v += noise * (rnd() - 0.5);
        out[k * n + y * w + x] = Math.min(1, Math.max(0, v));
      }
    }
  }
  return out;
}

/** Uniform random image c×h×w. */
export function randomImage(c: number, h: number, w: number, seed: number): Float32Array {
  const rnd = mulberry32(seed);
  const out = new Float32Array(c * h * w);
  for (let i = 0; i < out.length; i++) out[i] = rnd();
  return out;
}

function each(images: Float32Array, b: number, h: number, w: number, f: (L: Float64Array, out: Uint8Array) => void): Uint8Array {
  const per = images.length / b;
  const c = per / (h * w);
  const out = new Uint8Array(b * h * w);
  for (let i = 0; i < b; i++) f(luminance(images.subarray(i * per, (i + 1) * per), c, h, w), out.subarray(i * h * w, (i + 1) * h * w));
  return out;
}

/** Pointwise: label 1 where the luminance exceeds `t`. Exactly translation-equivariant. */
export function thresholdSegmenter(t = 0.5): SegmentFn {
  return {
    segment: async (images, b, h, w) =>
      each(images, b, h, w, (L, o) => {
        for (let i = 0; i < L.length; i++) o[i] = L[i] > t ? 1 : 0;
      }),
  };
}

/**
 * Local (2r+1)² box filter with border clamping, then threshold: translation-equivariant away from the
 * view border (within r pixels of the border the clamped context differs between views).
 */
export function boxFilterSegmenter(r = 1, t = 0.5): SegmentFn {
  return {
    segment: async (images, b, h, w) =>
      each(images, b, h, w, (L, o) => {
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            let s = 0;
            for (let i = -r; i <= r; i++) {
              const yy = Math.min(h - 1, Math.max(0, y + i));
              for (let j = -r; j <= r; j++) s += L[yy * w + Math.min(w - 1, Math.max(0, x + j))];
            }
            o[y * w + x] = s / (2 * r + 1) ** 2 > t ? 1 : 0;
          }
        }
      }),
  };
}

/**
 * Deliberately not translation-equivariant: the mean luminance of the stride-2 block (aligned to the
 * input's origin) that contains the pixel, thresholded. A one-pixel shift changes the block alignment.
 */
export function stride2Segmenter(t = 0.5): SegmentFn {
  return {
    segment: async (images, b, h, w) =>
      each(images, b, h, w, (L, o) => {
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const y0 = y - (y % 2),
              x0 = x - (x % 2);
            const y1 = Math.min(h - 1, y0 + 1),
              x1 = Math.min(w - 1, x0 + 1);
            const m = (L[y0 * w + x0] + L[y0 * w + x1] + L[y1 * w + x0] + L[y1 * w + x1]) / 4;
            o[y * w + x] = m > t ? 1 : 0;
          }
        }
      }),
  };
}
