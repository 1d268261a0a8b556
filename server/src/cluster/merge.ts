/**
 * `certseg merge`: the shards of a cluster run (shard-I-of-N.json files and their per-image folders)
 * become the output of a one-process `certseg dataset` run: the per-image folders under MERGED/images and
 * a summary.json computed by the same accumulator, over the same per-image results, in the same order.
 *
 * Before anything is written it checks that the shards belong together (one shard count, one dataset
 * with the same split/limit and image list, the same certification parameters and seed, the same models
 * by content hash) and that every image is there exactly once. A shard that never ran or did not finish
 * is one error line naming its unfinished images, unless `allowPartial` (then the summary says so).
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { CertsegError } from '../core/errors';
import { checkOutputDir } from '../pipeline/outputLocation';
import { swapInto, uniqueTag } from '../pipeline/outputs';
import { safeId } from '../pipeline/certifyDataset';
import { DatasetAccumulator, readImageResult, readReport, writeSummary, type ShardSummary } from '../pipeline/datasetSummary';
import type { DatasetSummary, ImageReport } from '../../../protocol/results';
import { SHARD_SUMMARY_RE, shardItems } from './shard';

export interface MergeOptions {
  allowPartial?: boolean;
  log?(line: string): void;
}

interface FoundShard {
  folder: string;
  file: string;
  s: ShardSummary;
}

function bad(msg: string): never {
  throw new CertsegError(`merge: ${msg}; nothing was written`, 'input');
}

const list = (ids: string[], max = 10) => ids.slice(0, max).join(', ') + (ids.length > max ? `, … (${ids.length} in all)` : '');

async function findShards(inputs: string[]): Promise<FoundShard[]> {
  const found: FoundShard[] = [];
  const seen = new Set<string>();
  for (const input of inputs) {
    const folder = path.resolve(input);
    if (seen.has(folder)) continue;
    seen.add(folder);
    const isDir = await stat(folder).then(
      (st) => st.isDirectory(),
      () => null,
    );
    if (isDir === null) bad(`${input} does not exist`);
    if (!isDir) bad(`${input} is not a folder (give the shards' output folders)`);
    const files = (await readdir(folder)).filter((f) => SHARD_SUMMARY_RE.test(f));
    if (!files.length) bad(`${input} holds no shard result (shard-I-of-N.json, written by certseg dataset --shard)`);
    for (const f of files) {
      let s: ShardSummary;
      try {
        s = JSON.parse(await readFile(path.join(folder, f), 'utf8')) as ShardSummary;
      } catch (e) {
        bad(`${path.join(input, f)} is not readable JSON (${(e as Error).message.split('\n')[0]})`);
      }
      if (!s.shard || !Array.isArray(s.shard.datasetIds)) bad(`${path.join(input, f)} is not a shard summary`);
      found.push({ folder, file: path.join(folder, f), s });
    }
  }
  return found;
}

/** The shards must describe one run: one count, one dataset and image list, one set of parameters. */
function checkAgreement(shards: FoundShard[]): void {
  const ref = shards[0];
  const differ = (what: string, a: FoundShard, detail = '') => bad(`the shards disagree on ${what}: ${ref.file} and ${a.file}${detail}`);
  for (const a of shards.slice(1)) {
    if (a.s.shard.count !== ref.s.shard.count) differ('the shard count', a, ` (${ref.s.shard.count} vs ${a.s.shard.count})`);
    if (a.s.dataset !== ref.s.dataset) differ('the dataset', a, ` (${ref.s.dataset} vs ${a.s.dataset})`);
    if (a.s.shard.split !== ref.s.shard.split || a.s.shard.limit !== ref.s.shard.limit) differ('--split/--limit', a);
    if (!isDeepStrictEqual(a.s.shard.datasetIds, ref.s.shard.datasetIds))
      differ('the list of images (the dataset changed between shards)', a);
  }
  const withParams = shards.filter((x) => x.s.params);
  for (const a of withParams.slice(1)) {
    if (!isDeepStrictEqual(a.s.params, withParams[0].s.params)) {
      const p0 = withParams[0].s.params as Record<string, unknown>;
      const p1 = a.s.params as Record<string, unknown>;
      const keys = Object.keys({ ...p0, ...p1 }).filter((k) => !isDeepStrictEqual(p0[k], p1[k]));
      bad(`the shards disagree on the certification parameters (${keys.join(', ')}): ${withParams[0].file} and ${a.file}`);
    }
  }
  const byIndex = new Map<number, FoundShard>();
  for (const a of shards) {
    const prev = byIndex.get(a.s.shard.index);
    if (prev) bad(`shard ${a.s.shard.index}/${a.s.shard.count} is given twice: ${prev.file} and ${a.file}`);
    byIndex.set(a.s.shard.index, a);
  }
}

/** Which models and parameters an image was certified with: all images of a merge must agree. */
function modelKey(r: ImageReport): string {
  return JSON.stringify({ segmenter: r.provenance.segmenter.sha256, denoiser: r.provenance.denoiser?.sha256 ?? null });
}

export async function mergeShards(inputs: string[], outDir: string, opts: MergeOptions = {}): Promise<DatasetSummary> {
  const log = opts.log ?? (() => undefined);
  if (!inputs.length) bad("give the shards' output folders");
  const shards = await findShards(inputs);
  checkAgreement(shards);
  await checkOutputDir(outDir, 'dataset');
  const { count, datasetIds } = shards[0].s.shard;
  const out = path.resolve(outDir);

  // Where each image's result is: a complete shard lists its images; a shard that did not finish still
  // has the images it completed (each folder is complete or absent), found by their report.json.
  const source = new Map<string, string>();
  const problems: string[] = [];
  for (let index = 0; index < count; index++) {
    const mine = shardItems(datasetIds, { index, count, source: '--shard' });
    const sh = shards.find((x) => x.s.shard.index === index);
    if (!sh) {
      if (mine.length) problems.push(`shard ${index}/${count} has no result`);
      continue;
    }
    if (sh.s.shard.status === 'complete') {
      const done = sh.s.perImage.map((p) => p.id);
      if (!isDeepStrictEqual(done, mine))
        bad(
          `${sh.file} does not list the images of shard ${index}/${count} (${list(done.filter((d) => !mine.includes(d)))} should not be there; it was not written by this certseg)`,
        );
      for (const id of mine) {
        const dir = path.join(sh.folder, 'images', safeId(id));
        if (!existsSync(path.join(dir, 'report.json'))) bad(`${sh.file} lists ${id} but ${dir} has no report.json (moved or deleted?)`);
        source.set(id, dir);
      }
    } else {
      let finished = 0;
      for (const id of mine) {
        const dir = path.join(sh.folder, 'images', safeId(id));
        if (existsSync(path.join(dir, 'report.json'))) {
          source.set(id, dir);
          finished++;
        }
      }
      problems.push(`shard ${index}/${count} did not finish (${sh.file} says running; ${finished} of ${mine.length} images done)`);
    }
  }
  const missing = datasetIds.filter((id) => !source.has(id));
  if (missing.length && !opts.allowPartial) {
    bad(
      `${missing.length} of ${datasetIds.length} images missing: ${problems.join('; ')}; missing images: ${list(missing)} (rerun those shards with --resume, or merge with --allow-partial)`,
    );
  }
  if (!source.size) bad('no image has a result yet');

  // Every image: same models (content hash) and parameters; checked before anything is written.
  const reports = new Map<string, ImageReport>();
  let refKey: string | null = null;
  let refId = '';
  const refParams = shards.find((x) => x.s.params)?.s.params ?? null;
  for (const id of datasetIds) {
    const dir = source.get(id);
    if (!dir) continue;
    const r = await readReport(dir).catch((e) => bad(`${dir}/report.json is not readable (${(e as Error).message.split('\n')[0]})`));
    const key = modelKey(r);
    if (refKey === null) [refKey, refId] = [key, id];
    else if (key !== refKey) bad(`images ${refId} and ${id} were certified with different models (content hashes ${refKey} vs ${key})`);
    if (refParams && !isDeepStrictEqual(r.params, refParams))
      bad(`image ${id} (${dir}) was certified with other parameters than its shard's summary`);
    reports.set(id, r);
  }

  await mkdir(path.join(out, 'images'), { recursive: true });
  const acc = new DatasetAccumulator();
  let copied = 0;
  for (const id of datasetIds) {
    const src = source.get(id);
    if (!src) continue;
    const dest = path.join(out, 'images', safeId(id));
    if (path.resolve(src) !== dest) {
      // staged and renamed like any image result: a merge that stops midway leaves no half-copied image
      const staging = `${dest}.partial-${uniqueTag()}`;
      await cp(src, staging, { recursive: true });
      await swapInto(staging, dest);
      copied++;
    }
    acc.add(id, path.relative(out, dest), await readImageResult(dest, reports.get(id) as ImageReport));
  }
  const totalMs = shards.reduce((t, x) => t + x.s.timings.totalMs, 0);
  const summary = acc.summary(shards[0].s.dataset, totalMs);
  summary.timings.shards = shards
    .map((x) => ({ index: x.s.shard.index, host: x.s.shard.host, totalMs: x.s.timings.totalMs, status: x.s.shard.status }))
    .sort((a, b) => a.index - b.index);
  if (missing.length) {
    summary.partial = {
      missing,
      note: `PARTIAL: ${missing.length} of ${datasetIds.length} images are missing (${problems.join('; ')}); the metrics cover the other ${summary.images}`,
    };
  }
  await writeSummary(out, summary);
  log(
    `merged ${shards.length} of ${count} shards: ${summary.images} images (${copied} copied into ${path.join(outDir, 'images')})${missing.length ? `; PARTIAL, ${missing.length} missing` : ''}`,
  );
  return summary;
}
