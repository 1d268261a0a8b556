/**
 * `certseg consistency IMAGE|DIR [--rics M] [--circular] [--limit N] [--out DIR]`
 *
 * One-pixel (non-cyclic) camera shifts: how often the segmentation changes, without and (with --rics M)
 * with Robust Inference by Crop Selection; --circular adds exact-invariance checks under integer circular
 * shifts. A folder may be a dataset (images/ + masks/ with the same base names, Dice is then reported)
 * or a plain folder of images. Writes summary.json and flip-map PNGs into --out.
 */
import { checkOutputDir } from '../../pipeline/outputLocation';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CertsegError } from '../../core/errors';
import type { EnginePreference } from '../../engines/engine';
import { loadSegmenter } from '../../engines/load';
import { isImagePath, readImage, readMask } from '../../image/read';
import { evaluateConsistency, heatRGBA, type EvalItem } from '../../consistency/evaluate';

export interface ConsistencyArgs {
  /** image or dataset dir */
  input: string;
  /** crop-selection window M */
  rics?: number;
  circular?: boolean;
  /** segmenter card path */
  segmenter: string;
  engine?: string;
  out?: string;
  limit?: number;
}

async function listItems(input: string, limit: number | undefined, numClasses: number): Promise<EvalItem[]> {
  let st;
  try {
    st = await fs.stat(input);
  } catch {
    throw new CertsegError(`consistency: ${input} does not exist`);
  }
  const mk = (file: string, maskFile: string | null): EvalItem => ({
    id: path.basename(file, path.extname(file)),
    async load() {
      const img = await readImage(file);
      const mask = maskFile ? await readMask(maskFile, { numClasses, expectWidth: img.width, expectHeight: img.height }) : null;
      return { image: img.data, height: img.height, width: img.width, mask };
    },
  });
  if (!st.isDirectory()) {
    if (!isImagePath(input)) throw new CertsegError(`consistency: ${path.basename(input)} is not an image (or a folder)`);
    return [mk(input, null)];
  }
  const imagesDir = (await exists(path.join(input, 'images'))) ? path.join(input, 'images') : input;
  const masksDir = path.join(input, 'masks');
  const masks = new Map<string, string>();
  if (imagesDir !== input && (await exists(masksDir))) {
    for (const f of await fs.readdir(masksDir)) if (isImagePath(f)) masks.set(path.basename(f, path.extname(f)), path.join(masksDir, f));
  }
  const files = (await fs.readdir(imagesDir)).filter(isImagePath).sort();
  if (files.length === 0) throw new CertsegError(`consistency: no images in ${input}`);
  const chosen = limit !== undefined ? files.slice(0, limit) : files;
  return chosen.map((f) => mk(path.join(imagesDir, f), masks.get(path.basename(f, path.extname(f))) ?? null));
}

async function exists(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export async function runConsistency(args: ConsistencyArgs, log: (line: string) => void): Promise<object> {
  if (args.rics !== undefined && (!Number.isInteger(args.rics) || args.rics < 1)) {
    throw new CertsegError(`--rics must be a positive integer window size (got ${args.rics})`);
  }
  if (args.limit !== undefined && (!Number.isInteger(args.limit) || args.limit < 1)) {
    throw new CertsegError(`--limit must be a positive integer (got ${args.limit})`);
  }
  const engine = (args.engine ?? 'auto') as EnginePreference;
  if (!['auto', 'onnx', 'tfjs'].includes(engine)) throw new CertsegError(`unknown engine '${args.engine}' (auto, onnx, tfjs)`, 'config');
  if (args.out) await checkOutputDir(args.out, 'consistency'); // before the model loads
  const seg = await loadSegmenter(args.segmenter, { engine });
  try {
    const items = await listItems(args.input, args.limit, seg.numClasses);
    const t0 = Date.now();
    const ev = await evaluateConsistency(seg, items, {
      rics: args.rics !== undefined ? [args.rics] : [],
      circular: !!args.circular,
      onImage: (i, n, id) => { if (n > 1 && (i % 10 === 0 || i === n - 1)) log(`[${i + 1}/${n}] ${id}`); },
    });
    for (const v of ev.variants) {
      const s = v.shift;
      let line = `${v.name}: changed by a one-pixel shift on ${pct(s.shareChangedAny)} of images (> ${pct(s.threshold)} of pixels: ${pct(s.shareChangedAboveThreshold)}), mean ${pct(s.meanChangedFraction)} of pixels`;
      if (v.M !== null) line += `; selection changed on ${pct(s.selectionChangeRate ?? 0)} of (image, shift) pairs (bound ${pct(v.bound ?? 1)}, exchangeable scores ${pct(v.exchangeableRate ?? 1)}; by some shift, exchangeable scores: ${pct(v.anyShiftRate ?? 1)} of images), coverage ${pct(v.coverage)}`;
      if (v.diceStrict !== null) line += `; Dice ${v.diceStrict.toFixed(4)}${v.M !== null ? ` (covered pixels ${v.diceCovered?.toFixed(4)})` : ''}`;
      log(line);
    }
    if (ev.circular) log(`circular shifts: exact ${pct(ev.circular.plainExactShare)} plain, ${pct(ev.circular.canonicalExactShare)} canonicalised`);
    const summary = {
      kind: 'consistency',
      input: args.input,
      segmenter: { card: args.segmenter, engine: seg.info.engine, backend: seg.info.backend, device: seg.info.device },
      shiftDefinition: 'reference = (h-2)x(w-2) view at (1,1); 8 views at (1+dy,1+dx); predictions compared on the common content',
      images: ev.images,
      withMasks: ev.withMasks,
      variants: ev.variants,
      circular: ev.circular,
      seconds: (Date.now() - t0) / 1000,
      files: {} as Record<string, string>,
    };
    if (args.out) {
      const sharp = (await import('sharp')).default;
      await fs.mkdir(args.out, { recursive: true });
      for (const [name, fm] of Object.entries(ev.flipMaps)) {
        const file = `flipmap-${name}.png`;
        await sharp(Buffer.from(heatRGBA(fm.data)), { raw: { width: fm.width, height: fm.height, channels: 4 } }).png().toFile(path.join(args.out, file));
        summary.files[name] = file;
      }
      await fs.writeFile(path.join(args.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
      log(`summary in ${path.join(args.out, 'summary.json')}`);
    }
    return summary;
  } finally {
    await seg.dispose();
  }
}
