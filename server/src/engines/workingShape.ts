/**
 * Where a model sees an image: its working shape. A fixed-size card (input.height/width set) sees the image
 * stretched to that size or letterboxed into it (input.fit); a fully convolutional card sees the image at its
 * own size, or scaled down (aspect kept) when the memory plan (pipeline/memoryPlan.ts) caps its pixels.
 *
 * Why this keeps the certificate sound: the noise is added at the image's own resolution; the resize into the
 * working shape and the way back are fixed, deterministic parts of the base classifier, chosen before any noise
 * is drawn and the same for every sample. So the smoothed classifier is one function of the input image, and
 * the per-pixel certificate is about that function at the input resolution (docs/memory.md).
 */
import { resizeLabelsNearest, resizeNCHW, type ResizeMode } from '../core/resize';
import type { InputSpec } from '../models/card';

export type Fit = 'stretch' | 'letterbox';

export interface WorkingShape {
  /** the tensor the model is fed (spatial) */
  height: number;
  width: number;
  /** where the image lies inside that tensor (letterbox); the whole tensor otherwise */
  inner: { top: number; left: number; height: number; width: number };
  /**
   * native: the image's own size; scaled: a fully convolutional model run on the image scaled down (memory);
   * resized: a fixed size with the image's aspect ratio; stretch: a fixed size, aspect ratio changed;
   * letterbox: a fixed size, image scaled to fit with its aspect ratio, the rest padded with black.
   */
  how: 'native' | 'scaled' | 'resized' | 'stretch' | 'letterbox';
  /** ratio of the vertical to the horizontal scale factor's larger/smaller (1 = aspect kept) */
  distortion: number;
}

/** A stretch that changes the aspect ratio by more than this is warned about. */
export const STRETCH_WARNING = 1.25;

const whole = (height: number, width: number) => ({ top: 0, left: 0, height, width });

/**
 * The working shape of one model for an image of h×w. `maxPixels` caps a fully convolutional model's pixels
 * (null: no cap); fixed sizes ignore it. A card with only one of height/width fixed keeps the image's other one.
 */
export function workingShape(spec: InputSpec, h: number, w: number, maxPixels: number | null = null): WorkingShape {
  const H = spec.height,
    W = spec.width;
  if (H != null && W != null) {
    const sy = H / h,
      sx = W / w;
    const distortion = Math.max(sy / sx, sx / sy);
    const s = Math.min(sy, sx);
    const ih = Math.max(1, Math.round(h * s)),
      iw = Math.max(1, Math.round(w * s));
    if (ih === H && iw === W) return { height: H, width: W, inner: whole(H, W), how: 'resized', distortion: 1 };
    if ((spec.fit ?? 'letterbox') === 'stretch') return { height: H, width: W, inner: whole(H, W), how: 'stretch', distortion };
    const top = Math.floor((H - ih) / 2),
      left = Math.floor((W - iw) / 2);
    return { height: H, width: W, inner: { top, left, height: ih, width: iw }, how: 'letterbox', distortion: 1 };
  }
  if (H != null || W != null) {
    const hh = H ?? h,
      ww = W ?? w;
    const distortion = Math.max(hh / h / (ww / w), ww / w / (hh / h));
    return { height: hh, width: ww, inner: whole(hh, ww), how: distortion === 1 ? 'resized' : 'stretch', distortion };
  }
  if (maxPixels != null && h * w > maxPixels) {
    const s = Math.sqrt(maxPixels / (h * w));
    let sh = Math.floor(h * s),
      sw = Math.floor(w * s);
    // a sliver (one side under a pixel): one pixel across, the cap along
    if (sh < 1) [sh, sw] = [1, Math.min(w, maxPixels)];
    if (sw < 1) [sh, sw] = [Math.min(h, maxPixels), 1];
    return { height: sh, width: sw, inner: whole(sh, sw), how: 'scaled', distortion: Math.max(sh / h / (sw / w), sw / w / (sh / h)) };
  }
  return { height: h, width: w, inner: whole(h, w), how: 'native', distortion: 1 };
}

/** Pixels of the working tensor. */
export const workingPixels = (s: WorkingShape): number => s.height * s.width;

const isWhole = (s: WorkingShape): boolean =>
  s.inner.top === 0 && s.inner.left === 0 && s.inner.height === s.height && s.inner.width === s.width;

/** Image planes c×h×w → the working tensor's planes c×H×W (letterbox: black, i.e. 0 in [0,1], around the image). */
export function toWorking(img: Float32Array, c: number, h: number, w: number, s: WorkingShape, mode?: ResizeMode, pad = 0): Float32Array {
  if (isWhole(s)) return resizeNCHW(img, 1, c, h, w, s.height, s.width, mode);
  const { top, left, height: ih, width: iw } = s.inner;
  const r = resizeNCHW(img, 1, c, h, w, ih, iw, mode);
  const out = new Float32Array(c * s.height * s.width).fill(pad);
  for (let p = 0; p < c; p++) {
    for (let y = 0; y < ih; y++) {
      const dst = (p * s.height + top + y) * s.width + left;
      out.set(r.subarray((p * ih + y) * iw, (p * ih + y + 1) * iw), dst);
    }
  }
  return out;
}

/** The image's part of working planes ch×H×W, cropped out of a letterbox (a view-free copy only when needed). */
function crop<T extends Float32Array | Uint8Array>(planes: T, ch: number, s: WorkingShape, make: (n: number) => T): T {
  if (isWhole(s)) return planes;
  const { top, left, height: ih, width: iw } = s.inner;
  const out = make(ch * ih * iw);
  for (let p = 0; p < ch; p++) {
    for (let y = 0; y < ih; y++) {
      const src = (p * s.height + top + y) * s.width + left;
      out.set(planes.subarray(src, src + iw) as never, (p * ih + y) * iw);
    }
  }
  return out;
}

/** Working planes ch×H×W (scores or images) → ch×h×w at the image's size. */
export function fromWorking(planes: Float32Array, ch: number, s: WorkingShape, h: number, w: number, mode?: ResizeMode): Float32Array {
  return resizeNCHW(
    crop(planes, ch, s, (n) => new Float32Array(n)),
    1,
    ch,
    s.inner.height,
    s.inner.width,
    h,
    w,
    mode,
  );
}

/** A working label map H×W → h×w (nearest neighbour: class ids are never blended). */
export function labelsFromWorking(labels: Uint8Array, s: WorkingShape, h: number, w: number): Uint8Array {
  return resizeLabelsNearest(
    crop(labels, 1, s, (n) => new Uint8Array(n)),
    1,
    s.inner.height,
    s.inner.width,
    h,
    w,
  );
}

/** One line for the console and the report: e.g. "765×572 → 443×331 (scaled for memory)". */
export function describeShape(s: WorkingShape, h: number, w: number): string {
  const what = {
    native: 'image size',
    scaled: 'scaled down for the memory budget',
    resized: "the model's fixed size, aspect kept",
    stretch: `stretched to the model's fixed size, aspect ratio changed ${s.distortion.toFixed(2)}×`,
    letterbox: `letterboxed into the model's fixed size, the image at ${s.inner.width}×${s.inner.height}`,
  }[s.how];
  return `${w}×${h} → ${s.width}×${s.height} (${what})`;
}
