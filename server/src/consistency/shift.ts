/**
 * One-pixel camera shifts, measured the realistic (non-cyclic) way.
 *
 * Definition. For an h×w image the camera's reference view is the (h−2)×(w−2) window at offset (1,1);
 * the shifted view for direction d = (dy,dx) ∈ {−1,0,1}² ∖ {(0,0)} is the same-size window at offset
 * (1+dy, 1+dx). Both lie fully inside the image (no wrap-around, no padding); one row/column of new
 * content enters at the border, one leaves. The segmenter predicts on each view at the view's own size;
 * a frame pixel (Y,X) that both views see is compared between
 *   ref[Y−1][X−1]   and   shifted[Y−1−dy][X−1−dx],
 * i.e. the predictions are aligned on the content. A pixel counts as changed when the two labels differ
 * (NOT_COVERED of a crop-selecting predictor included); pixels uncovered in both are not compared.
 * 9 views per image, run as one batch.
 */
import { CertsegError } from '../core/errors';
import { channelsOf, cropInto, NOT_COVERED, type SegmentFn } from './common';
import { ricsSegment, type CropSelection, type CropSelectionOptions } from './rics';

export const DIRECTIONS: readonly (readonly [number, number])[] = [
  [-1, -1],
  [-1, 0],
  [-1, 1],
  [0, -1],
  [0, 1],
  [1, -1],
  [1, 0],
  [1, 1],
];

/** Predicts labels for b views; may also report the crop each view selected (view coordinates). */
export type ViewPredictor = (
  views: Float32Array,
  b: number,
  h: number,
  w: number,
) => Promise<{ labels: Uint8Array; selections?: CropSelection[] }>;

export function plainPredictor(seg: SegmentFn): ViewPredictor {
  return async (views, b, h, w) => ({ labels: await seg.segment(views, b, h, w) });
}

export function ricsPredictor(seg: SegmentFn, M: number, opts: CropSelectionOptions = {}): ViewPredictor {
  return (views, b, h, w) => ricsSegment(seg, views, b, h, w, M, opts);
}

export interface DirectionResult {
  dy: number;
  dx: number;
  /** overlap pixels compared (covered in at least one of the two views) */
  compared: number;
  changed: number;
  fraction: number;
  /** crop-selecting predictors only: whether the selected content (absolute crop origin) changed */
  selectionChanged?: boolean;
}

export interface ShiftReport {
  height: number;
  width: number;
  viewHeight: number;
  viewWidth: number;
  directions: DirectionResult[];
  /** mean over the 8 directions of the changed fraction */
  meanFraction: number;
  /** the direction with the largest changed fraction (first in DIRECTIONS order on ties) */
  worst: { dy: number; dx: number; fraction: number };
  /** any pixel changed under any of the 8 shifts */
  anyChanged: boolean;
  /** per frame pixel: how many of the 8 shifts changed it (0..8) */
  flipMap: Uint8Array;
  /** reference view's prediction placed in the frame (frame border row/column and, for crop selection, uncovered pixels: NOT_COVERED) */
  reference: Uint8Array;
  /** crop-selecting predictors: share of the 8 directions whose selection changed */
  selectionChangeRate?: number;
}

export interface ShiftOptions {
  /** default: the plain segmenter; use ricsPredictor(seg, M) to measure crop selection */
  predictor?: ViewPredictor;
}

export async function measureShiftConsistency(
  seg: SegmentFn,
  image: Float32Array,
  h: number,
  w: number,
  opts: ShiftOptions = {},
): Promise<ShiftReport> {
  const c = channelsOf(image, h, w);
  if (h < 3 || w < 3) throw new CertsegError(`one-pixel shifts need an image of at least 3×3 (got ${h}×${w})`);
  const vh = h - 2,
    vw = w - 2;
  const predict = opts.predictor ?? plainPredictor(seg);
  const offsets: [number, number][] = [[1, 1], ...DIRECTIONS.map(([dy, dx]) => [1 + dy, 1 + dx] as [number, number])];
  const per = c * vh * vw;
  const views = new Float32Array(offsets.length * per);
  offsets.forEach(([oy, ox], i) => cropInto(image, c, h, w, oy, ox, vh, vw, views, i * per));
  const { labels, selections } = await predict(views, offsets.length, vh, vw);
  if (labels.length !== offsets.length * vh * vw) {
    throw new CertsegError(`segmenter returned ${labels.length} labels for ${offsets.length} views of ${vh}×${vw}`, 'model');
  }
  const vn = vh * vw;
  const flipMap = new Uint8Array(h * w);
  const reference = new Uint8Array(h * w).fill(NOT_COVERED);
  for (let r = 0; r < vh; r++) reference.set(labels.subarray(r * vw, (r + 1) * vw), (r + 1) * w + 1);
  const directions: DirectionResult[] = [];
  let selChanges = 0;
  DIRECTIONS.forEach(([dy, dx], di) => {
    const base = (di + 1) * vn;
    let compared = 0,
      changed = 0;
    // frame rows Y seen by both views: 1 ≤ Y ≤ h−2 and 1+dy ≤ Y ≤ h−2+dy
    const y0 = Math.max(1, 1 + dy),
      y1 = Math.min(h - 2, h - 2 + dy);
    const x0 = Math.max(1, 1 + dx),
      x1 = Math.min(w - 2, w - 2 + dx);
    for (let Y = y0; Y <= y1; Y++) {
      const ra = (Y - 1) * vw - 1,
        rb = base + (Y - 1 - dy) * vw - 1 - dx;
      for (let X = x0; X <= x1; X++) {
        const a = labels[ra + X],
          b = labels[rb + X];
        if (a === NOT_COVERED && b === NOT_COVERED) continue;
        compared++;
        if (a !== b) {
          changed++;
          flipMap[Y * w + X]++;
        }
      }
    }
    const d: DirectionResult = { dy, dx, compared, changed, fraction: compared ? changed / compared : 0 };
    if (selections) {
      const s0 = selections[0],
        s1 = selections[di + 1];
      // absolute frame origin of the selected crop: view offset + crop origin in the view
      d.selectionChanged = 1 + s0.y !== 1 + dy + s1.y || 1 + s0.x !== 1 + dx + s1.x;
      if (d.selectionChanged) selChanges++;
    }
    directions.push(d);
  });
  let worst = directions[0];
  for (const d of directions) if (d.fraction > worst.fraction) worst = d;
  const report: ShiftReport = {
    height: h,
    width: w,
    viewHeight: vh,
    viewWidth: vw,
    directions,
    meanFraction: directions.reduce((s, d) => s + d.fraction, 0) / directions.length,
    worst: { dy: worst.dy, dx: worst.dx, fraction: worst.fraction },
    anyChanged: directions.some((d) => d.changed > 0),
    flipMap,
    reference,
  };
  if (selections) report.selectionChangeRate = selChanges / directions.length;
  return report;
}

export interface ShiftDatasetSummary {
  images: number;
  /** share of images whose worst one-pixel shift changes more than `threshold` of the compared pixels */
  shareChangedAboveThreshold: number;
  threshold: number;
  /** share of images where some one-pixel shift changes some pixel */
  shareChangedAny: number;
  /** mean over images (and the 8 directions) of the share of changed pixels */
  meanChangedFraction: number;
  /** mean over images of the worst direction's share */
  meanWorstFraction: number;
  /** per direction (DIRECTIONS order), share of images with any changed pixel */
  perDirectionShareChanged: number[];
  /** crop selection only: share of (image, direction) pairs whose selected content changed */
  selectionChangeRate?: number;
}

/** Aggregate per-image reports. threshold default 0.001 (0.1% of pixels). */
export function summarizeShift(reports: ShiftReport[], threshold = 0.001): ShiftDatasetSummary {
  const n = reports.length;
  const mean = (f: (r: ShiftReport) => number) => (n ? reports.reduce((s, r) => s + f(r), 0) / n : 0);
  const out: ShiftDatasetSummary = {
    images: n,
    shareChangedAboveThreshold: mean((r) => (r.worst.fraction > threshold ? 1 : 0)),
    threshold,
    shareChangedAny: mean((r) => (r.anyChanged ? 1 : 0)),
    meanChangedFraction: mean((r) => r.meanFraction),
    meanWorstFraction: mean((r) => r.worst.fraction),
    perDirectionShareChanged: DIRECTIONS.map((_, i) => mean((r) => (r.directions[i].changed > 0 ? 1 : 0))),
  };
  if (reports.length && reports.every((r) => r.selectionChangeRate !== undefined)) {
    out.selectionChangeRate = mean((r) => r.selectionChangeRate ?? 0);
  }
  return out;
}
