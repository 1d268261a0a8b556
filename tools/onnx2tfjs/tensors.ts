/**
 * Constants folded at conversion time (row-major data with ONNX dims) and the NCHW ↔ NHWC layout
 * permutations.
 */

export interface Const {
  dims: number[];
  data: number[] | Float32Array;
}

export const NCHW_TO_NHWC = [0, 2, 3, 1];
export const NHWC_TO_NCHW = [0, 3, 1, 2];
/** logical (NCHW) axis → physical (NHWC) axis */
export const PHYS_AXIS = [0, 3, 1, 2];

/** |start|/|end| at or above this (INT64_MAX, INT32_MAX) mean "to the end" in ONNX Slice */
export const INT_BIG = 2 ** 31 - 1;

export const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

/** Transpose a constant's data (row-major) by perm. */
export function transposeConst(c: Const, perm: number[]): Const {
  const dims = perm.map((p) => c.dims[p]);
  const n = size(c.dims);
  const inStrides = c.dims.map((_, i) => size(c.dims.slice(i + 1)));
  const out = c.data instanceof Float32Array ? new Float32Array(n) : new Array<number>(n);
  const idx = new Array(dims.length).fill(0);
  for (let o = 0; o < n; o++) {
    let src = 0;
    for (let k = 0; k < dims.length; k++) src += idx[k] * inStrides[perm[k]];
    out[o] = c.data[src];
    for (let k = dims.length - 1; k >= 0; k--) {
      if (++idx[k] < dims[k]) break;
      idx[k] = 0;
    }
  }
  return { dims, data: out };
}

/** Numpy-style broadcast of two constants with fn. */
export function broadcastConst(a: Const, b: Const, fn: (x: number, y: number) => number, float: boolean): Const {
  const r = Math.max(a.dims.length, b.dims.length);
  const ad = [...new Array(r - a.dims.length).fill(1), ...a.dims];
  const bd = [...new Array(r - b.dims.length).fill(1), ...b.dims];
  const dims = ad.map((d, i) => Math.max(d, bd[i]));
  const n = size(dims);
  const out = float ? new Float32Array(n) : new Array<number>(n);
  const idx = new Array(r).fill(0);
  const as = ad.map((_, i) => size(ad.slice(i + 1)));
  const bs = bd.map((_, i) => size(bd.slice(i + 1)));
  for (let o = 0; o < n; o++) {
    let ai = 0,
      bi = 0;
    for (let k = 0; k < r; k++) {
      ai += (ad[k] === 1 ? 0 : idx[k]) * as[k];
      bi += (bd[k] === 1 ? 0 : idx[k]) * bs[k];
    }
    out[o] = fn(a.data[ai], b.data[bi]);
    for (let k = r - 1; k >= 0; k--) {
      if (++idx[k] < dims[k]) break;
      idx[k] = 0;
    }
  }
  return { dims, data: out };
}
