/**
 * Translation consistency runs: the one orchestration both callers use, as certifyImage.ts is for
 * certification. The CLI (`certseg consistency IMAGE|DIR`) calls checkConsistency; the worker's
 * certseg/consistency request (in its run process) calls checkImageConsistency. Each loads the segmenter,
 * reads the image(s), measures the 8 one-pixel shifts (consistency/shift.ts, consistency/evaluate.ts),
 * and frees the model.
 *
 * checkConsistency: one-pixel (non-cyclic) camera shifts: how often the segmentation changes, without and
 * (with rics M) with Robust Inference by Crop Selection; circular adds exact-invariance checks under integer
 * circular shifts. A folder may be a dataset (read as certify-dataset reads it: images/ + masks or a
 * manifest; Dice is then reported) or a plain folder of images. Writes summary.json and flip-map PNGs into out.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../config/config';
import type { CertsegConfig } from '../../../protocol/config';
import { NOT_COVERED } from '../consistency/common';
import { evaluateConsistency, heatRGBA, type EvalItem } from '../consistency/evaluate';
import { ricsAnyShiftRate, ricsOnePixelBound } from '../consistency/rics';
import { measureShiftConsistency, ricsPredictor, type DirectionResult, type ShiftReport } from '../consistency/shift';
import { CertsegError } from '../core/errors';
import type { EnginePreference, SliceSpec } from '../../../protocol/results';
import { loadSegmenter } from '../engines/load';
import { isImagePath, readImage, readMask } from '../image/read';
import { findDatasetPairs, naturalCompare } from '../image/dataset';
import { writeFileAtomic, writePngRGBA } from '../image/write';
import { DATASET_MANIFESTS } from '../../../common/datasetLayout';
import { checkOutputDir } from './outputLocation';

// ---------------------------------------------------------------------------------------------------
// An image or a folder, summarised (the CLI)
// ---------------------------------------------------------------------------------------------------

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
  // A dataset folder (images/ + masks, or a manifest) is read by THE dataset rule (image/dataset.ts, as
  // certify-dataset reads it: the same mask naming and order); anything else is a plain folder of images.
  const entries = await fs.readdir(input);
  const isDataset = (await exists(path.join(input, 'images'))) || DATASET_MANIFESTS.some((m) => entries.includes(m));
  const pairs = isDataset
    ? await findDatasetPairs(input)
    : entries
        .filter(isImagePath)
        .sort(naturalCompare)
        .map((f) => ({ image: path.join(input, f), mask: null }));
  if (pairs.length === 0) throw new CertsegError(`consistency: no images in ${input}`);
  const chosen = limit !== undefined ? pairs.slice(0, limit) : pairs;
  return chosen.map((p) => mk(p.image, p.mask));
}

async function exists(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Measures an image or a folder, logs one line per variant, writes summary.json and the flip maps into args.out; returns the summary. */
export async function checkConsistency(args: ConsistencyArgs, log: (line: string) => void): Promise<object> {
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
      onImage: (i, n, id) => {
        if (n > 1 && (i % 10 === 0 || i === n - 1)) log(`[${i + 1}/${n}] ${id}`);
      },
    });
    for (const v of ev.variants) {
      const s = v.shift;
      let line = `${v.name}: changed by a one-pixel shift on ${pct(s.shareChangedAny)} of images (> ${pct(s.threshold)} of pixels: ${pct(s.shareChangedAboveThreshold)}), mean ${pct(s.meanChangedFraction)} of pixels`;
      if (v.M !== null)
        line += `; selection changed on ${pct(s.selectionChangeRate ?? 0)} of (image, shift) pairs (bound ${pct(v.bound ?? 1)}, exchangeable scores ${pct(v.exchangeableRate ?? 1)}; by some shift, exchangeable scores: ${pct(v.anyShiftRate ?? 1)} of images), coverage ${pct(v.coverage)}`;
      if (v.diceStrict !== null)
        line += `; Dice ${v.diceStrict.toFixed(4)}${v.M !== null ? ` (covered pixels ${v.diceCovered?.toFixed(4)})` : ''}`;
      log(line);
    }
    if (ev.circular)
      log(`circular shifts: exact ${pct(ev.circular.plainExactShare)} plain, ${pct(ev.circular.canonicalExactShare)} canonicalised`);
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
      await fs.mkdir(args.out, { recursive: true });
      for (const [name, fm] of Object.entries(ev.flipMaps)) {
        const file = `flipmap-${name}.png`;
        await writePngRGBA(path.join(args.out, file), heatRGBA(fm.data), fm.width, fm.height);
        summary.files[name] = file;
      }
      await writeFileAtomic(path.join(args.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
      log(`summary in ${path.join(args.out, 'summary.json')}`);
    }
    return summary;
  } finally {
    await seg.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------
// One image in detail (the worker's certseg/consistency; the wire form is the protocol's ConsistencyResultWire)
// ---------------------------------------------------------------------------------------------------

export interface ImageConsistencyRequest {
  imagePath: string;
  /** the plane of a volume (NIfTI, multi-frame DICOM) */
  slice: SliceSpec | null;
  /** the config (null: shipped defaults) and overrides: only its segmenter and engine are used */
  configPath: string | null;
  overrides: Partial<CertsegConfig>;
  /** crop-selection window M, or null for the plain measurement only */
  cropSelection: number | null;
}

export interface ShiftMeasurement {
  /** per direction: compared / changed pixels; selectionChanged with crop selection */
  directions: DirectionResult[];
  meanFraction: number;
  worst: ShiftReport['worst'];
  anyChanged: boolean;
  /** share of the reference view's pixels changed by at least one of the 8 shifts */
  changedAnyFraction: number;
  /** share of the reference view's pixels the prediction covers (1 without crop selection) */
  coverage: number;
  /** crop selection: share of the 8 shifts whose selected content moved; null without */
  selectionChangeRate: number | null;
  /** per image pixel (width × height): how many of the 8 shifts changed it, 0..8 */
  flipMap: Uint8Array;
}

export interface ImageConsistencyResult {
  imagePath: string;
  width: number;
  height: number;
  plain: ShiftMeasurement;
  /** with crop selection of window M: the measured numbers, the one-pixel-shift bound and the some-shift rate for exchangeable scores */
  cropSelection: (ShiftMeasurement & { M: number; bound: number; exchangeable: number; anyShift: number }) | null;
  segmenter: { card: string; engine: string; backend: string; device: string };
}

export interface ImageConsistencyHooks {
  onProgress?(percent: number, message: string): void;
}

function measurement(r: ShiftReport): ShiftMeasurement {
  const { height: h, width: w } = r;
  let covered = 0;
  let flipped = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      if (r.reference[i] !== NOT_COVERED) covered++;
      if (r.flipMap[i] > 0) flipped++;
    }
  }
  const view = (h - 2) * (w - 2);
  return {
    directions: r.directions.map((d) => ({ ...d })),
    meanFraction: r.meanFraction,
    worst: r.worst,
    anyChanged: r.anyChanged,
    changedAnyFraction: view ? flipped / view : 0,
    coverage: view ? covered / view : 0,
    selectionChangeRate: r.selectionChangeRate ?? null,
    flipMap: r.flipMap,
  };
}

/** Translation consistency of one image: the 8 one-pixel shifts, plain and with crop selection. */
export async function checkImageConsistency(
  req: ImageConsistencyRequest,
  hooks: ImageConsistencyHooks = {},
): Promise<ImageConsistencyResult> {
  const progress = (percent: number, message: string) => hooks.onProgress?.(percent, message);
  progress(0, 'loading the segmenter');
  const config = await loadConfig(req.configPath, req.overrides);
  const seg = await loadSegmenter(config.segmenter, { engine: config.engine });
  try {
    const img = await readImage(req.imagePath, { slice: req.slice });
    progress(20, 'plain: 9 views');
    const plain = await measureShiftConsistency(seg, img.data, img.height, img.width);
    let cropSelection: ImageConsistencyResult['cropSelection'] = null;
    if (req.cropSelection !== null) {
      const M = req.cropSelection;
      progress(60, `crop selection M=${M}: 9 views`);
      const r = await measureShiftConsistency(seg, img.data, img.height, img.width, { predictor: ricsPredictor(seg, M) });
      const b = ricsOnePixelBound(M);
      cropSelection = { ...measurement(r), M, bound: b.bound, exchangeable: b.exchangeable, anyShift: ricsAnyShiftRate(M) };
    }
    progress(100, 'done');
    return {
      imagePath: req.imagePath,
      width: img.width,
      height: img.height,
      plain: measurement(plain),
      cropSelection,
      segmenter: { card: config.segmenter, engine: seg.info.engine, backend: seg.info.backend, device: seg.info.device },
    };
  } finally {
    await seg.dispose();
  }
}
