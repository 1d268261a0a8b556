/**
 * The part of the frame that is certified: the whole image, or the crop chosen by robust inference by
 * crop selection (server/src/consistency/rics.ts). Crops inputs and places per-pixel results back, with
 * pixels outside the crop marked NOT_COVERED in label maps and 0 in counts and radii.
 */
import { NOT_COVERED } from '../consistency/common';
import { ricsOnePixelBound, selectCrop } from '../consistency/rics';
import type { ImageReport } from '../../../protocol/results';

type PixelArray = Uint8Array | Uint16Array | Float32Array;

export interface Region {
  frameHeight: number;
  frameWidth: number;
  height: number;
  width: number;
  /** cut the region out of a c×H×W planar array */
  crop<T extends PixelArray>(a: T, channels: number): T;
  /** a frame-sized copy of a region-sized per-pixel array */
  place<T extends PixelArray>(a: T): T;
  describe(): ImageReport['crop'];
}

export function selectRegion(image: Float32Array, H: number, W: number, window: number | null): Region {
  if (!window) {
    return {
      frameHeight: H,
      frameWidth: W,
      height: H,
      width: W,
      crop: (a) => a,
      place: (a) => a.slice() as typeof a,
      describe: () => null,
    };
  }
  const s = selectCrop(image, H, W, window); // clear error when the image is smaller than crop + window
  const { y, x, cropH: h, cropW: w } = s;
  return {
    frameHeight: H,
    frameWidth: W,
    height: h,
    width: w,
    crop<T extends PixelArray>(a: T, channels: number): T {
      const out = new (a.constructor as new (n: number) => T)(channels * h * w);
      for (let c = 0; c < channels; c++) {
        for (let r = 0; r < h; r++) out.set(a.subarray(c * H * W + (y + r) * W + x, c * H * W + (y + r) * W + x + w), c * h * w + r * w);
      }
      return out;
    },
    place<T extends PixelArray>(a: T): T {
      const out = new (a.constructor as new (n: number) => T)(H * W);
      if (out instanceof Uint8Array) out.fill(NOT_COVERED);
      for (let r = 0; r < h; r++) out.set(a.subarray(r * w, (r + 1) * w), (y + r) * W + x);
      return out;
    },
    describe: () => ({
      y,
      x,
      height: h,
      width: w,
      window,
      notCoveredRate: 1 - (h * w) / (H * W),
      onePixelShiftBound: ricsOnePixelBound(window).bound,
      note: 'the crop is chosen on the clean image; the certificate covers the crop, not the choice of crop',
    }),
  };
}

/** The certified crop of a frame-sized per-pixel array (identity when the whole frame was certified). */
export function cutToCrop<T extends PixelArray>(a: T, report: Pick<ImageReport, 'crop' | 'image'>): T {
  const c = report.crop;
  if (!c) return a;
  const W = report.image.width;
  const out = new (a.constructor as new (n: number) => T)(c.height * c.width);
  for (let r = 0; r < c.height; r++) out.set(a.subarray((c.y + r) * W + c.x, (c.y + r) * W + c.x + c.width), r * c.width);
  return out;
}
