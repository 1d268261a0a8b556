/**
 * Separable linear resize with explicit 1-D weight matrices.
 *
 * Explicit weights matter here because resizing a noisy image changes the noise: the certification
 * noise σ becomes σ·‖kernel row‖₂ per axis, and the diffusion timestep must match that (noiseStdFactor).
 * Downsampling averages areas (antialiased); upsampling is bilinear with half-pixel centres.
 */
import { CertsegError } from './errors';

export interface ResizeWeights {
  /** dstLen × taps source indices (padding taps point at 0 with weight 0) */
  index: Int32Array;
  /** dstLen × taps weights; each row sums to 1 */
  weight: Float32Array;
  taps: number;
}

const cache = new Map<string, ResizeWeights>();

/** 'area': area-averaging when shrinking (antialiased), bilinear when enlarging. 'bilinear': bilinear both ways. */
export type ResizeMode = 'area' | 'bilinear';

export function resizeWeights1D(srcLen: number, dstLen: number, mode: ResizeMode = 'area'): ResizeWeights {
  if (!(Number.isInteger(srcLen) && Number.isInteger(dstLen) && srcLen > 0 && dstLen > 0)) {
    throw new CertsegError(`resize: sizes must be positive integers (got ${srcLen} → ${dstLen})`, 'input');
  }
  const key = `${srcLen}>${dstLen}:${mode}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const w = dstLen < srcLen && mode === 'area' ? areaWeights(srcLen, dstLen) : bilinearWeights(srcLen, dstLen);
  if (cache.size > 64) cache.clear();
  cache.set(key, w);
  return w;
}

function areaWeights(src: number, dst: number): ResizeWeights {
  const scale = src / dst;
  const taps = Math.ceil(scale) + 1;
  const index = new Int32Array(dst * taps);
  const weight = new Float32Array(dst * taps);
  for (let j = 0; j < dst; j++) {
    const lo = j * scale;
    const hi = (j + 1) * scale;
    let k = 0;
    for (let i = Math.floor(lo); i < hi && i < src; i++) {
      const overlap = Math.min(hi, i + 1) - Math.max(lo, i);
      if (overlap <= 1e-12) continue;
      index[j * taps + k] = i;
      weight[j * taps + k] = overlap / scale;
      k++;
    }
  }
  return { index, weight, taps };
}

function bilinearWeights(src: number, dst: number): ResizeWeights {
  const taps = 2;
  const index = new Int32Array(dst * taps);
  const weight = new Float32Array(dst * taps);
  const scale = src / dst;
  for (let j = 0; j < dst; j++) {
    const x = Math.min(Math.max((j + 0.5) * scale - 0.5, 0), src - 1);
    const i0 = Math.floor(x);
    const i1 = Math.min(i0 + 1, src - 1);
    const f = i1 === i0 ? 0 : x - i0; // never two taps on the same index (noiseStdFactor relies on it)
    index[j * 2] = i0;
    weight[j * 2] = 1 - f;
    index[j * 2 + 1] = i1;
    weight[j * 2 + 1] = f;
  }
  return { index, weight, taps };
}

/**
 * Resize b×c planes h×w → outH×outW (NCHW float32). Returns `data` itself when the size is unchanged.
 */
export function resizeNCHW(
  data: Float32Array,
  b: number,
  c: number,
  h: number,
  w: number,
  outH: number,
  outW: number,
  mode: ResizeMode = 'area',
): Float32Array {
  if (data.length !== b * c * h * w) {
    throw new CertsegError(`resize: buffer has ${data.length} values, expected ${b}×${c}×${h}×${w}`, 'input');
  }
  if (h === outH && w === outW) return data;
  const wx = resizeWeights1D(w, outW, mode);
  const wy = resizeWeights1D(h, outH, mode);
  const planes = b * c;
  const tmp = new Float32Array(h * outW);
  const out = new Float32Array(planes * outH * outW);
  for (let p = 0; p < planes; p++) {
    const src = p * h * w;
    // horizontal pass: h × outW
    for (let y = 0; y < h; y++) {
      const row = src + y * w;
      for (let x = 0; x < outW; x++) {
        let s = 0;
        for (let k = 0; k < wx.taps; k++) s += wx.weight[x * wx.taps + k] * data[row + wx.index[x * wx.taps + k]];
        tmp[y * outW + x] = s;
      }
    }
    // vertical pass: outH × outW
    const dst = p * outH * outW;
    for (let y = 0; y < outH; y++) {
      const o = dst + y * outW;
      for (let k = 0; k < wy.taps; k++) {
        const wt = wy.weight[y * wy.taps + k];
        if (wt === 0) continue;
        const r = wy.index[y * wy.taps + k] * outW;
        for (let x = 0; x < outW; x++) out[o + x] += wt * tmp[r + x];
      }
    }
  }
  return out;
}

/** Nearest-neighbour resize of b label maps (pixel centres), for class ids that must not be blended. */
export function resizeLabelsNearest(labels: Uint8Array, b: number, h: number, w: number, outH: number, outW: number): Uint8Array {
  if (labels.length !== b * h * w) {
    throw new CertsegError(`resize: label buffer has ${labels.length} values, expected ${b}×${h}×${w}`, 'input');
  }
  if (h === outH && w === outW) return labels;
  const ys = new Int32Array(outH);
  const xs = new Int32Array(outW);
  for (let y = 0; y < outH; y++) ys[y] = Math.min(h - 1, Math.floor(((y + 0.5) * h) / outH));
  for (let x = 0; x < outW; x++) xs[x] = Math.min(w - 1, Math.floor(((x + 0.5) * w) / outW));
  const out = new Uint8Array(b * outH * outW);
  for (let n = 0; n < b; n++) {
    for (let y = 0; y < outH; y++) {
      const src = n * h * w + ys[y] * w;
      const dst = (n * outH + y) * outW;
      for (let x = 0; x < outW; x++) out[dst + x] = labels[src + xs[x]];
    }
  }
  return out;
}

/** RMS over output positions of the kernel row's L2 norm: the std of i.i.d. unit noise after this 1-D resize. */
function axisNoiseFactor(src: number, dst: number, mode: ResizeMode): number {
  if (src === dst) return 1;
  const { weight } = resizeWeights1D(src, dst, mode);
  let s = 0;
  for (let i = 0; i < weight.length; i++) s += weight[i] * weight[i];
  return Math.sqrt(s / dst);
}

/**
 * How the std of i.i.d. per-pixel noise changes through resizeNCHW(srcH×srcW → dstH×dstW):
 * e.g. area-downsampling by 2 per axis → 0.5; identity → 1. (Upsampling gives < 1 too: bilinear mixes.)
 */
export function noiseStdFactor(srcH: number, srcW: number, dstH: number, dstW: number, mode: ResizeMode = 'area'): number {
  return axisNoiseFactor(srcH, dstH, mode) * axisNoiseFactor(srcW, dstW, mode);
}
