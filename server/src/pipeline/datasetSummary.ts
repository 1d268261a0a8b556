/**
 * The dataset summary (summary.json) built from per-image results, one image at a time in dataset order.
 * `certseg dataset` feeds it the results as they are certified; `certseg merge` feeds it the same
 * results read back from the shards' per-image folders, so a merged summary is computed exactly as a
 * one-process run computes it (never by averaging the shards' numbers).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { aggregate, confusionMatrix, type ConfusionMatrix } from '../core/metrics';
import { clopperPearsonLower, normInv } from '../core/stats';
import { ABSTAIN } from '../core/labels';
import { readNpy, writeFileAtomic } from '../image/write';
import { certifiedAccuracyVsRadiusSvg } from '../../../common/plot';
import { OUTPUT_FILES } from './outputs';
import { cutToCrop } from './region';
import type { DatasetSummary, ImageReport, MetricBlock } from '../../../protocol/results';
import type { Shard } from '../cluster/shard';

export type { DatasetSummary } from '../../../protocol/results';

/** A shard's summary (shard-I-of-N.json): the dataset summary of its share, plus what merge checks. */
export interface ShardSummary extends DatasetSummary {
  shard: Shard & {
    /** 'running' until the shard's last image is done: a shard file still running after the job is a failed shard */
    status: 'running' | 'complete';
    split: string | null;
    limit: number | null;
    /** every image id of the dataset (after --split/--limit), in certification order */
    datasetIds: string[];
    host: string;
  };
}

/** One image's result as the summary needs it (full-frame arrays, as written to its folder). */
export interface ImageResultArrays {
  report: ImageReport;
  certified: Uint8Array;
  clean: Uint8Array;
  radiusMap: Float32Array | null;
  mask: Uint8Array | null;
}

const RADIUS_BINS = 200;

export class DatasetAccumulator {
  private cleanCms: ConfusionMatrix[] = [];
  private certCms: ConfusionMatrix[] = [];
  private abstain: number[] = [];
  private pixels = 0;
  private abstained = 0;
  private perImage: DatasetSummary['perImage'] = [];
  private params: ImageReport['params'] | null = null;
  private radius: number | null = null;
  // Correct pixels binned by their per-pixel certified radius → accuracy-vs-radius curve in O(bins) memory.
  private correctByRadius = new Float64Array(RADIUS_BINS + 1);
  private validPixels = 0;
  private maxRadius = 0;

  add(id: string, dir: string, r: ImageResultArrays): void {
    const report = r.report;
    if (this.params === null) this.maxRadius = maxPixelRadius(report.params);
    // Crop selection: score only the certified crop (the rest is NOT_COVERED).
    const certified = cutToCrop(r.certified, report);
    const clean = cutToCrop(r.clean, report);
    const radiusMap = r.radiusMap ? cutToCrop(r.radiusMap, report) : null;
    const mask = r.mask ? cutToCrop(r.mask, report) : null;
    this.params = report.params;
    this.radius = report.radius;
    const numClasses = report.classes.length;
    this.abstain.push(report.abstainRate);
    this.pixels += certified.length;
    for (const c of certified) if (c === ABSTAIN) this.abstained++;
    if (mask) {
      const ignore = storedIgnoreLabel(mask, numClasses);
      this.cleanCms.push(confusionMatrix(clean, mask, numClasses, ignore));
      this.certCms.push(confusionMatrix(certified, mask, numClasses, ignore));
      if (radiusMap) this.validPixels += binCorrect(certified, radiusMap, mask, numClasses, this.maxRadius, this.correctByRadius);
    }
    this.perImage.push({
      id,
      dir,
      abstainRate: report.abstainRate,
      // foreground Dice (core/metrics.ts): the columns that meanOverImages.meanDice averages
      cleanDice: report.clean?.meanDice ?? null,
      certifiedDice: report.certified?.meanDice ?? null,
      certifiedPixelAccuracy: report.certified?.pixelAccuracy ?? null,
      totalMs: report.timings.total,
    });
  }

  get count(): number {
    return this.perImage.length;
  }

  summary(dataset: string, totalMs: number): DatasetSummary {
    const curve: { radius: number; accuracy: number }[] = [];
    if (this.validPixels > 0) {
      const cum = this.correctByRadius.slice();
      let acc = 0;
      for (let b = RADIUS_BINS; b >= 0; b--) {
        acc += cum[b];
        cum[b] = acc; // now: correct pixels with radius ≥ bin b
      }
      for (let b = 0; b <= RADIUS_BINS; b++)
        curve.push({ radius: (b / RADIUS_BINS) * this.maxRadius, accuracy: cum[b] / this.validPixels });
    }
    const agg = (cms: ConfusionMatrix[]) => (cms.length ? toBlocks(aggregate(cms)) : null);
    const n = this.perImage.length;
    return {
      summaryVersion: 1,
      dataset,
      images: n,
      withMask: this.certCms.length,
      params: this.params,
      radius: this.radius,
      clean: agg(this.cleanCms),
      certified: agg(this.certCms),
      abstainRate: { pooled: this.pixels ? this.abstained / this.pixels : 0, meanOverImages: mean(this.abstain) },
      accuracyVsRadius: curve,
      perImage: this.perImage.slice(),
      timings: { totalMs: Math.round(totalMs), meanPerImageMs: n ? Math.round(totalMs / n) : 0 },
      files: { summary: 'summary.json' },
    };
  }
}

/** Writes the plot (when there is a curve) and then `name` (summary.json, or a shard's file) into outDir. */
export async function writeSummary(outDir: string, summary: DatasetSummary, name = 'summary.json'): Promise<void> {
  if (summary.accuracyVsRadius.length) {
    const svg = certifiedAccuracyVsRadiusSvg([{ label: `σ = ${summary.params?.sigma}`, points: summary.accuracyVsRadius }], {
      title: `Certified pixel accuracy vs. radius (${summary.images} images)`,
      xLabel: 'L2 radius',
      yLabel: 'certified pixel accuracy',
    });
    const plot = name === 'summary.json' ? 'accuracy-vs-radius.svg' : name.replace(/\.json$/, '-accuracy-vs-radius.svg');
    await writeFileAtomic(path.join(outDir, plot), svg);
    summary.files.plot = plot;
  }
  summary.files.summary = name;
  await writeFileAtomic(path.join(outDir, name), JSON.stringify(summary, null, 2) + '\n');
}

/**
 * An image result read back from its folder. The ground truth comes from the folder's mask.npy (the mask as
 * read when certifying), so no dataset is needed; `readMaskFallback` covers folders written without it.
 */
export async function readImageResult(
  dir: string,
  report: ImageReport,
  readMaskFallback?: () => Promise<Uint8Array | null>,
): Promise<ImageResultArrays> {
  const npy = async <T>(f: string) => (await readNpy(path.join(dir, f))).data as T;
  const certified = await npy<Uint8Array>(OUTPUT_FILES.certifiedNpy);
  const clean = await npy<Uint8Array>(OUTPUT_FILES.clean);
  const radiusMap = existsSync(path.join(dir, OUTPUT_FILES.radiusNpy)) ? await npy<Float32Array>(OUTPUT_FILES.radiusNpy) : null;
  const mask = existsSync(path.join(dir, OUTPUT_FILES.mask))
    ? await npy<Uint8Array>(OUTPUT_FILES.mask)
    : ((await readMaskFallback?.()) ?? null);
  return { report, certified, clean, radiusMap, mask };
}

export async function readReport(dir: string): Promise<ImageReport> {
  return JSON.parse(await readFile(path.join(dir, OUTPUT_FILES.report), 'utf8')) as ImageReport;
}

/**
 * The ignore label of a ground truth as stored (mask.npy): readMask emits class ids and at most one other
 * value, the run's ignore label (the card's ignoreLabel, or "ignore" in the config's maskValues).
 */
export function storedIgnoreLabel(mask: Uint8Array, numClasses: number): number | undefined {
  for (let i = 0; i < mask.length; i++) if (mask[i] >= numClasses) return mask[i];
  return undefined;
}

/** The largest per-pixel radius possible: all n votes, Clopper-Pearson at α/K (K of a 256² image). */
function maxPixelRadius(p: Pick<ImageReport['params'], 'n' | 'alpha' | 'sigma'>): number {
  const pLower = clopperPearsonLower(p.n, p.n, p.alpha / (256 * 256));
  return Math.max(p.sigma * normInv(Math.max(0.5, pLower)), 1e-9);
}

function binCorrect(pred: Uint8Array, radius: Float32Array, gt: Uint8Array, numClasses: number, maxR: number, bins: Float64Array): number {
  let valid = 0;
  for (let i = 0; i < pred.length; i++) {
    if (gt[i] >= numClasses) continue; // ignored
    valid++;
    if (pred[i] !== gt[i] || radius[i] <= 0) continue;
    bins[Math.min(RADIUS_BINS, Math.floor((radius[i] / maxR) * RADIUS_BINS))]++;
  }
  return valid;
}

function toBlocks(a: ReturnType<typeof aggregate>): { pooled: MetricBlock; meanOverImages: MetricBlock } {
  return { pooled: a.pooled, meanOverImages: a.meanOverImages };
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}
