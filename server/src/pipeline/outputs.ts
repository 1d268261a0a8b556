/**
 * The per-image output folder: report.json, overlay PNGs and the .npy arrays other tools read.
 * Everything is written into a staging folder beside the target and swapped in at the end, so a
 * crash or a cancel never leaves a half-written result (and an older complete result survives).
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { certifiedOverlay, errorMap, radiusHeatmap } from '../image/overlay';
import { writeFileAtomic, writeNpy, writePngRGBA } from '../image/write';
import type { CertifyImageResult } from './types';

export const OUTPUT_FILES = {
  report: 'report.json',
  prediction: 'prediction.png',
  certified: 'certified.png',
  radius: 'radius.png',
  errors: 'errors.png',
  selected: 'selected.npy',
  counts: 'counts.npy',
  certifiedNpy: 'certified.npy',
  clean: 'clean.npy',
  radiusNpy: 'radius.npy',
  mask: 'mask.npy',
} as const;

export async function writeImageOutputs(outDir: string, r: CertifyImageResult, image: Float32Array): Promise<void> {
  const dir = path.resolve(outDir);
  await mkdir(path.dirname(dir), { recursive: true });
  const staging = `${dir}.partial-${uniqueTag()}`;
  await mkdir(staging, { recursive: true });
  try {
    const { width: w, height: h } = r;
    const classes = r.report.classes;
    const f = OUTPUT_FILES;
    const files: Record<string, string> = {};
    const put = (key: string, name: string) => (files[key] = name);

    // Same look as the certified map (background left clear in binary tasks), without abstentions.
    await writePngRGBA(path.join(staging, f.prediction), certifiedOverlay(image, r.clean, w, h, classes), w, h);
    put('prediction', f.prediction);
    await writePngRGBA(path.join(staging, f.certified), certifiedOverlay(image, r.certified, w, h, classes), w, h);
    put('certified', f.certified);
    if (r.radiusMap) {
      const maxR = Math.max(r.report.radius, ...sampleMax(r.radiusMap));
      await writePngRGBA(path.join(staging, f.radius), radiusHeatmap(r.radiusMap, w, h, maxR), w, h);
      put('radius', f.radius);
      await writeNpy(path.join(staging, f.radiusNpy), r.radiusMap, [h, w]);
      put('radiusNpy', f.radiusNpy);
    }
    if (r.mask) {
      await writePngRGBA(path.join(staging, f.errors), errorMap(r.certified, r.mask, w, h), w, h);
      put('errors', f.errors);
      await writeNpy(path.join(staging, f.mask), r.mask, [h, w]); // the ground truth as read, for viewers
      put('mask', f.mask);
    }
    await writeNpy(path.join(staging, f.selected), r.selected, [h, w]);
    put('selected', f.selected);
    await writeNpy(path.join(staging, f.counts), r.counts, [h, w]);
    put('counts', f.counts);
    await writeNpy(path.join(staging, f.certifiedNpy), r.certified, [h, w]);
    put('certifiedNpy', f.certifiedNpy);
    await writeNpy(path.join(staging, f.clean), r.clean, [h, w]);
    put('clean', f.clean);
    r.report.files = files;
    await writeFileAtomic(path.join(staging, f.report), JSON.stringify(r.report, null, 2) + '\n');
    await swapInto(staging, dir);
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Replace `dir` by `staging` with the old result kept until the new one is in place. Two processes may
 * swap the same image at once (shards on shared storage, a resubmitted shard): when another result lands
 * between our two renames, ours moves it aside and retries, so the folder always holds one complete result.
 */
export async function swapInto(staging: string, dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const old = `${dir}.old-${uniqueTag()}`;
    let hadOld = false;
    try {
      await rename(dir, old);
      hadOld = true;
    } catch {
      // no previous result
    }
    try {
      await rename(staging, dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const raced = (code === 'ENOTEMPTY' || code === 'EEXIST') && attempt < 50;
      if (raced && hadOld) await rm(old, { recursive: true, force: true }); // another complete result is in place
      if (raced) continue;
      if (hadOld) await rename(old, dir).catch(() => undefined); // put the earlier result back
      throw e;
    }
    if (hadOld) await rm(old, { recursive: true, force: true });
    return;
  }
}

/** unique among processes (pid) and within one (counter), readable in a listing */
let counter = 0;
export function uniqueTag(): string {
  return `${process.pid}-${Date.now()}-${counter++}`;
}

/** max without spreading a million-element array onto the stack */
function sampleMax(a: Float32Array): number[] {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
  return [m];
}
