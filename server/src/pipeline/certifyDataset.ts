/**
 * Certify every image of a dataset folder, one after the other (memory stays that of one image).
 * Each image's result folder is complete or absent (see outputs.ts), so an interrupted run resumes
 * by skipping the images already done with the same parameters.
 *
 * With a shard (cluster/shard.ts) only that share of the images is certified, and the summary goes to
 * shard-I-of-N.json instead of summary.json, so that many shards can write into one shared folder;
 * `certseg merge` turns the shards into the summary.json of a one-process run.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { checkOutputDir } from './outputLocation';
import { findDatasetPairs } from '../image/dataset';
import { readMask } from '../image/read';
import { ignoreLabelFor, resolveMaskValues } from '../image/maskValues';
import { throwIfAborted } from '../core/sampling';
import type { ResolvedConfig } from '../config/types';
import { certifyImage } from './certifyImage';
import { OUTPUT_FILES } from './outputs';
import { shardItems, shardSummaryName, type Shard } from '../cluster/shard';
import { DatasetAccumulator, readImageResult, writeSummary, type ShardSummary } from './datasetSummary';
import type { DatasetSummary, ImageReport } from '../../../protocol/results';
import type { RunHooks } from './types';

export type { DatasetSummary, ShardSummary } from './datasetSummary';

export interface DatasetOptions extends RunHooks {
  limit?: number;
  split?: string;
  resume?: boolean;
  /** certify only this share of the images (after split and limit) */
  shard?: Shard | null;
  /** one line per finished image */
  onImage?(i: number, total: number, id: string, report: ImageReport, skipped: boolean): void;
}

export async function certifyDataset(
  dir: string,
  config: ResolvedConfig,
  outDir: string,
  opts: DatasetOptions = {},
): Promise<DatasetSummary> {
  await checkOutputDir(outDir, 'dataset');
  const all = (await findDatasetPairs(dir, opts.split ? { split: opts.split } : undefined)).slice(0, opts.limit ?? Infinity);
  const pairs = shardItems(all, opts.shard ?? null);
  await mkdir(outDir, { recursive: true });
  const t0 = performance.now();
  const acc = new DatasetAccumulator();
  const shardInfo = (status: 'running' | 'complete'): ShardSummary['shard'] | null =>
    opts.shard
      ? { ...opts.shard, status, split: opts.split ?? null, limit: opts.limit ?? null, datasetIds: all.map((p) => p.id), host: hostname() }
      : null;
  const summaryName = opts.shard ? shardSummaryName(opts.shard) : 'summary.json';
  // A shard announces itself first: a shard that dies leaves 'running' behind, which merge reports.
  if (opts.shard)
    await writeSummary(outDir, { ...acc.summary(path.resolve(dir), 0), shard: shardInfo('running') } as ShardSummary, summaryName);

  for (let i = 0; i < pairs.length; i++) {
    throwIfAborted(opts.signal);
    const pair = pairs[i];
    const imgOut = path.join(outDir, 'images', safeId(pair.id));
    const earlier = opts.resume ? await reusable(imgOut, config) : null;
    const r = earlier
      ? await readImageResult(imgOut, earlier, async () =>
          pair.mask
            ? readMask(pair.mask, {
                numClasses: earlier.classes.length,
                expectWidth: earlier.image.width,
                expectHeight: earlier.image.height,
                classes: earlier.classes,
                ignoreLabel: ignoreLabelFor(undefined, config.maskValues),
                maskValues: config.maskValues ? resolveMaskValues(config.maskValues, earlier.classes) : undefined,
              })
            : null,
        )
      : await certifyImage({ imagePath: pair.image, maskPath: pair.mask, config, outDir: imgOut }, opts);
    acc.add(pair.id, path.relative(outDir, imgOut), r);
    opts.onImage?.(i, pairs.length, pair.id, r.report, earlier !== null);
  }

  const summary = acc.summary(path.resolve(dir), performance.now() - t0);
  const shard = shardInfo('complete');
  await writeSummary(outDir, shard ? ({ ...summary, shard } as ShardSummary) : summary, summaryName);
  return summary;
}

async function reusable(dir: string, config: ResolvedConfig): Promise<ImageReport | null> {
  try {
    const r = JSON.parse(await readFile(path.join(dir, OUTPUT_FILES.report), 'utf8')) as ImageReport;
    const p = r.params;
    const same =
      p.sigma === config.sigma &&
      p.n0 === config.n0 &&
      p.n === config.n &&
      p.tau === config.tau &&
      p.alpha === config.alpha &&
      p.correction === config.correction &&
      p.seed === config.seed &&
      (p.denoiser?.card ?? null) === config.denoiser;
    return same ? r : null;
  } catch {
    return null;
  }
}

export function safeId(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, '_');
}
