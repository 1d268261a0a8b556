/**
 * Certify every image of a dataset folder, one after the other (memory stays that of one image).
 * Each image's result folder is complete or absent (see outputs.ts), so an interrupted run resumes
 * by skipping the images already done with the same parameters.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { checkOutputDir } from './outputLocation';
import * as path from 'node:path';
import { aggregate, confusionMatrix, type ConfusionMatrix } from '../core/metrics';
import { clopperPearsonLower, normInv } from '../core/stats';
import { findDatasetPairs } from '../image/dataset';
import { readMask } from '../image/read';
import { readNpy, writeFileAtomic } from '../image/write';
import { certifiedAccuracyVsRadiusSvg } from '../image/plot';
import { throwIfAborted } from '../core/sampling';
import type { ResolvedConfig } from '../config/types';
import { certifyImage } from './certifyImage';
import { OUTPUT_FILES } from './outputs';
import { ABSTAIN } from '../core/labels';
import { cutToCrop } from './region';
import type { ImageReport, MetricBlock, RunHooks } from './types';

export interface DatasetOptions extends RunHooks {
  limit?: number;
  split?: string;
  resume?: boolean;
  /** one line per finished image */
  onImage?(i: number, total: number, id: string, report: ImageReport, skipped: boolean): void;
}

export interface DatasetSummary {
  summaryVersion: 1;
  dataset: string;
  images: number;
  withMask: number;
  params: ImageReport['params'] | null;
  radius: number | null;
  /** metrics pooled over all pixels (one confusion matrix) and averaged over images (as the MICCAI paper) */
  clean: { pooled: MetricBlock; meanOverImages: MetricBlock } | null;
  certified: { pooled: MetricBlock; meanOverImages: MetricBlock } | null;
  abstainRate: { pooled: number; meanOverImages: number };
  /** pixel-level certified accuracy at radius r (Clopper-Pearson per-pixel radii), pooled */
  accuracyVsRadius: { radius: number; accuracy: number }[];
  perImage: { id: string; dir: string; abstainRate: number; cleanDice: number | null; certifiedDice: number | null; certifiedPixelAccuracy: number | null; totalMs: number }[];
  timings: { totalMs: number; meanPerImageMs: number };
  files: Record<string, string>;
}

const RADIUS_BINS = 200;

export async function certifyDataset(dir: string, config: ResolvedConfig, outDir: string, opts: DatasetOptions = {}): Promise<DatasetSummary> {
  await checkOutputDir(outDir, 'dataset');
  const pairs = (await findDatasetPairs(dir, opts.split ? { split: opts.split } : undefined)).slice(0, opts.limit ?? Infinity);
  await mkdir(outDir, { recursive: true });
  const t0 = performance.now();
  const cleanCms: ConfusionMatrix[] = [];
  const certCms: ConfusionMatrix[] = [];
  const abstain: number[] = [];
  let pixels = 0;
  let abstained = 0;
  const perImage: DatasetSummary['perImage'] = [];
  let params: ImageReport['params'] | null = null;
  let radius: number | null = null;
  // Correct pixels binned by their per-pixel certified radius → accuracy-vs-radius curve in O(bins) memory.
  const maxRadius = maxPixelRadius(config);
  const correctByRadius = new Float64Array(RADIUS_BINS + 1);
  let validPixels = 0;

  for (let i = 0; i < pairs.length; i++) {
    throwIfAborted(opts.signal);
    const pair = pairs[i];
    const imgOut = path.join(outDir, 'images', safeId(pair.id));
    let report = opts.resume ? await reusable(imgOut, config) : null;
    const skipped = report !== null;
    let certified: Uint8Array, clean: Uint8Array, radiusMap: Float32Array | null, mask: Uint8Array | null;
    if (report) {
      certified = (await readNpy(path.join(imgOut, OUTPUT_FILES.certifiedNpy))).data as Uint8Array;
      clean = (await readNpy(path.join(imgOut, OUTPUT_FILES.clean))).data as Uint8Array;
      radiusMap = existsSync(path.join(imgOut, OUTPUT_FILES.radiusNpy)) ? ((await readNpy(path.join(imgOut, OUTPUT_FILES.radiusNpy))).data as Float32Array) : null;
      mask = pair.mask
        ? await readMask(pair.mask, { numClasses: report.classes.length, expectWidth: report.image.width, expectHeight: report.image.height, classes: report.classes })
        : null;
    } else {
      const r = await certifyImage({ imagePath: pair.image, maskPath: pair.mask, config, outDir: imgOut }, opts);
      report = r.report;
      ({ certified, clean, radiusMap, mask } = r);
    }
    // Crop selection: score only the certified crop (the rest is NOT_COVERED).
    certified = cutToCrop(certified, report);
    clean = cutToCrop(clean, report);
    radiusMap = radiusMap ? cutToCrop(radiusMap, report) : null;
    mask = mask ? cutToCrop(mask, report) : null;
    params = report.params;
    radius = report.radius;
    const numClasses = report.classes.length;
    abstain.push(report.abstainRate);
    pixels += certified.length;
    for (const c of certified) if (c === ABSTAIN) abstained++;
    if (mask) {
      cleanCms.push(confusionMatrix(clean, mask, numClasses));
      certCms.push(confusionMatrix(certified, mask, numClasses));
      if (radiusMap) validPixels += binCorrect(certified, radiusMap, mask, numClasses, maxRadius, correctByRadius);
    }
    perImage.push({
      id: pair.id,
      dir: path.relative(outDir, imgOut),
      abstainRate: report.abstainRate,
      cleanDice: report.clean?.dice[numClasses - 1] ?? null,
      certifiedDice: report.certified?.dice[numClasses - 1] ?? null,
      certifiedPixelAccuracy: report.certified?.pixelAccuracy ?? null,
      totalMs: report.timings.total,
    });
    opts.onImage?.(i, pairs.length, pair.id, report, skipped);
  }

  const curve: { radius: number; accuracy: number }[] = [];
  if (validPixels > 0) {
    let acc = 0;
    for (let b = RADIUS_BINS; b >= 0; b--) {
      acc += correctByRadius[b];
      correctByRadius[b] = acc; // now: correct pixels with radius ≥ bin b
    }
    for (let b = 0; b <= RADIUS_BINS; b++) curve.push({ radius: (b / RADIUS_BINS) * maxRadius, accuracy: correctByRadius[b] / validPixels });
  }
  const agg = (cms: ConfusionMatrix[]) => (cms.length ? toBlocks(aggregate(cms)) : null);
  const totalMs = performance.now() - t0;
  const summary: DatasetSummary = {
    summaryVersion: 1,
    dataset: path.resolve(dir),
    images: pairs.length,
    withMask: certCms.length,
    params,
    radius,
    clean: agg(cleanCms),
    certified: agg(certCms),
    abstainRate: { pooled: pixels ? abstained / pixels : 0, meanOverImages: mean(abstain) },
    accuracyVsRadius: curve,
    perImage,
    timings: { totalMs: Math.round(totalMs), meanPerImageMs: pairs.length ? Math.round(totalMs / pairs.length) : 0 },
    files: { summary: 'summary.json' },
  };
  if (curve.length) {
    const svg = certifiedAccuracyVsRadiusSvg([{ label: `σ = ${params?.sigma}`, points: curve }], {
      title: `Certified pixel accuracy vs. radius (${pairs.length} images)`,
      xLabel: 'L2 radius',
      yLabel: 'certified pixel accuracy',
    });
    await writeFileAtomic(path.join(outDir, 'accuracy-vs-radius.svg'), svg);
    summary.files.plot = 'accuracy-vs-radius.svg';
  }
  await writeFileAtomic(path.join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}

/** The largest per-pixel radius possible: all n votes, Clopper-Pearson at α/K (K of a 1024² image). */
function maxPixelRadius(c: ResolvedConfig): number {
  const pLower = clopperPearsonLower(c.n, c.n, c.alpha / (256 * 256));
  return Math.max(c.sigma * normInv(Math.max(0.5, pLower)), 1e-9);
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

async function reusable(dir: string, config: ResolvedConfig): Promise<ImageReport | null> {
  try {
    const r = JSON.parse(await readFile(path.join(dir, OUTPUT_FILES.report), 'utf8')) as ImageReport;
    const p = r.params;
    const same = p.sigma === config.sigma && p.n0 === config.n0 && p.n === config.n && p.tau === config.tau &&
      p.alpha === config.alpha && p.correction === config.correction && p.seed === config.seed &&
      (p.denoiser?.card ?? null) === config.denoiser;
    return same ? r : null;
  } catch {
    return null;
  }
}

function toBlocks(a: ReturnType<typeof aggregate>): { pooled: MetricBlock; meanOverImages: MetricBlock } {
  return { pooled: a.pooled, meanOverImages: a.meanOverImages };
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

function safeId(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, '_');
}

