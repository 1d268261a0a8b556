/**
 * Dataset-level translation-consistency evaluation shared by `certseg consistency` and
 * scripts/consistency-results.ts: one-pixel shifts without and with crop selection (several M), the
 * bound beside the measured selection-change rate, Dice against ground truth, and circular shifts.
 */
import { foregroundDice, NOT_COVERED, type SegmentFn } from './common';
import { measureCircularConsistency } from './circular';
import { ricsAnyShiftRate, ricsOnePixelBound, type ScoreKind } from './rics';
import {
  measureShiftConsistency,
  plainPredictor,
  ricsPredictor,
  summarizeShift,
  type ShiftDatasetSummary,
  type ShiftReport,
} from './shift';

export interface EvalItem {
  id: string;
  load(): Promise<{ image: Float32Array; height: number; width: number; mask: Uint8Array | null }>;
}

export interface EvalOptions {
  /** crop-selection window sizes to evaluate (none: plain only) */
  rics?: number[];
  score?: ScoreKind;
  circular?: boolean;
  /** circular shifts per image (default 4) */
  circularShifts?: number;
  /** per image callback (progress) */
  onImage?(i: number, n: number, id: string): void;
}

export interface VariantResult {
  name: string;
  /** null: plain segmenter */
  M: number | null;
  shift: ShiftDatasetSummary;
  /** crop selection: P[selection changes] bound for a uniformly random one-pixel direction, and the exchangeable-score value */
  bound: number | null;
  exchangeableRate: number | null;
  /** crop selection: P[some one-pixel shift changes the selection] for exchangeable scores (exact; ricsAnyShiftRate) */
  anyShiftRate: number | null;
  /** share of the reference view's pixels the prediction covers */
  coverage: number;
  /** mean foreground Dice vs ground truth on the reference view: over covered pixels only, and with uncovered pixels counted as background */
  diceCovered: number | null;
  diceStrict: number | null;
  images: number;
}

export interface ConsistencyEvaluation {
  images: number;
  withMasks: number;
  variants: VariantResult[];
  circular: {
    shiftsPerImage: number;
    plainExactShare: number;
    canonicalExactShare: number;
    plainChangedFraction: number;
    canonicalChangedFraction: number;
  } | null;
  /** sum over images (of the first image's size) of the per-pixel flip counts, per variant name */
  flipMaps: Record<string, { width: number; height: number; data: Uint32Array; images: number }>;
}

function diceOnView(r: ShiftReport, mask: Uint8Array): { covered: number | null; strict: number | null } {
  const { width: w, height: h } = r;
  const inView = (i: number) => {
    const y = Math.floor(i / w),
      x = i % w;
    return y >= 1 && y < h - 1 && x >= 1 && x < w - 1;
  };
  return {
    covered: foregroundDice(r.reference, mask, (i) => inView(i) && r.reference[i] !== NOT_COVERED),
    strict: foregroundDice(r.reference, mask, inView),
  };
}

export async function evaluateConsistency(seg: SegmentFn, items: EvalItem[], opts: EvalOptions = {}): Promise<ConsistencyEvaluation> {
  const variants = [{ name: 'plain', M: null as number | null }, ...(opts.rics ?? []).map((M) => ({ name: `rics-M${M}`, M }))];
  const acc = variants.map(() => ({ reports: [] as ShiftReport[], coverage: 0, dc: [] as number[], ds: [] as number[] }));
  const flipMaps: ConsistencyEvaluation['flipMaps'] = {};
  let withMasks = 0;
  const circ = { n: 0, pe: 0, ce: 0, pf: 0, cf: 0, shifts: opts.circularShifts ?? 4 };
  for (let i = 0; i < items.length; i++) {
    opts.onImage?.(i, items.length, items[i].id);
    const { image, height: h, width: w, mask } = await items[i].load();
    if (mask) withMasks++;
    for (let v = 0; v < variants.length; v++) {
      const M = variants[v].M;
      const predictor = M === null ? plainPredictor(seg) : ricsPredictor(seg, M, { score: opts.score });
      const r = await measureShiftConsistency(seg, image, h, w, { predictor });
      const a = acc[v];
      a.reports.push(r);
      let cov = 0;
      for (let y = 1; y < h - 1; y++) for (let x = 1; x < w - 1; x++) if (r.reference[y * w + x] !== NOT_COVERED) cov++;
      a.coverage += cov / ((h - 2) * (w - 2));
      if (mask) {
        const d = diceOnView(r, mask);
        if (d.covered !== null) a.dc.push(d.covered);
        if (d.strict !== null) a.ds.push(d.strict);
      }
      const fm = (flipMaps[variants[v].name] ??= { width: w, height: h, data: new Uint32Array(w * h), images: 0 });
      if (fm.width === w && fm.height === h) {
        for (let p = 0; p < r.flipMap.length; p++) fm.data[p] += r.flipMap[p];
        fm.images++;
      }
    }
    if (opts.circular) {
      const c = await measureCircularConsistency(seg, image, h, w, { count: circ.shifts, shiftSeed: 1000 + i });
      circ.n++;
      circ.pe += c.plainExact;
      circ.ce += c.canonicalExact;
      circ.pf += c.plainChangedFraction;
      circ.cf += c.canonicalChangedFraction;
    }
  }
  const mean = (a: number[]) => (a.length ? a.reduce((s, x) => s + x, 0) / a.length : null);
  return {
    images: items.length,
    withMasks,
    variants: variants.map((v, k) => {
      const b = v.M === null ? null : ricsOnePixelBound(v.M);
      return {
        name: v.name,
        M: v.M,
        shift: summarizeShift(acc[k].reports),
        bound: b ? b.bound : null,
        exchangeableRate: b ? b.exchangeable : null,
        anyShiftRate: v.M === null ? null : ricsAnyShiftRate(v.M),
        coverage: items.length ? acc[k].coverage / items.length : 0,
        diceCovered: mean(acc[k].dc),
        diceStrict: mean(acc[k].ds),
        images: acc[k].reports.length,
      };
    }),
    circular:
      opts.circular && circ.n
        ? {
            shiftsPerImage: circ.shifts,
            plainExactShare: circ.pe / circ.n,
            canonicalExactShare: circ.ce / circ.n,
            plainChangedFraction: circ.pf / circ.n,
            canonicalChangedFraction: circ.cf / circ.n,
          }
        : null,
    flipMaps,
  };
}

/** RGBA heat map of summed flip counts (0 → dark grey, max → red). */
export function heatRGBA(data: Uint32Array | Uint8Array): Uint8Array {
  let max = 0;
  for (const v of data) if (v > max) max = v;
  const out = new Uint8Array(data.length * 4);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v === 0) {
      out.set([24, 24, 24, 255], 4 * i);
      continue;
    }
    const t = max > 1 ? (v - 1) / (max - 1) : 1;
    out.set([255, Math.round(230 * (1 - t)), 0, 255], 4 * i);
  }
  return out;
}
