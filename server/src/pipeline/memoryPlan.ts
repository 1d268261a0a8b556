/**
 * The memory plan: how many noisy samples go into one batch and where each model sees the image, so that a
 * run's peak memory stays within a budget that does not depend on the image size (issue: a 765×572 image took
 * 14.6 GB with the default models at full resolution).
 *
 * Peak ≈ baseline (runtime, models) + image-sized buffers once + batch × (image-sized batch buffers + each
 * model's working pixels × its bytes per pixel). The batch shrinks first (on CPU a smaller batch costs
 * nothing per sample); when even one sample does not fit, fully convolutional models run on the image scaled
 * down (aspect kept) to the pixels that fit. Fixed-size models are never changed. A model's bytes per pixel
 * come from its card (`input.bytesPerPixel`, measured by `certseg card check`), else a conservative default.
 * Why this does not change what is certified: engines/workingShape.ts and docs/memory.md.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { CertsegError } from '../core/errors';
import type { Denoiser, Segmenter } from '../engines/engine';
import { composeEnabled } from '../engines/processing';
import { workingPixels, workingShape, type WorkingShape } from '../engines/workingShape';
import type { InputSpec } from '../models/card';

const MiB = 2 ** 20;
/** A card without input.bytesPerPixel: about what the shipped diffusion U-Nets measured (1400–2000 B, docs/memory.md). */
export const DEFAULT_BYTES_PER_PIXEL = 2048;
/** Per batched sample, per image pixel: two noisy batch buffers and the denoised batch (3 × float32 each), plus the working copies fed to the models. */
export const HOST_BYTES_PER_PIXEL = 48;
/** Per image pixel, once: image and scratch noise (24 B), label maps and outputs (~10 B), vote counts (2 B per class). */
const fixedBytesPerPixel = (classes: number) => 34 + 2 * classes;
/**
 * What the runtimes take beyond the activations themselves (ONNX Runtime's arena grows in large chunks, one
 * arena per model; garbage batches wait for the collector): measured 100–185 MiB over the plain estimate at
 * 256² with the default models, batch 1–8 (docs/memory.md). Planned as 128 MiB plus 20% of the activations.
 */
export const RUNTIME_RESERVE_BYTES = 128 * MiB;
export const ACTIVATION_MARGIN = 1.2;
/** Below this a scaled-down working image says little; the run is refused instead. */
export const MIN_WORKING_PIXELS = 32 * 32;
/** Default budget on CPU. */
export const CPU_BUDGET_MIB = 2048;

export interface ModelMemory {
  spec: InputSpec;
  bytesPerPixel?: number;
}

export interface MemoryPlanInput {
  height: number;
  width: number;
  /** the config's batch size: the most samples per batch */
  batchSize: number;
  budgetBytes: number;
  /** memory in use before sampling (runtime, loaded models, the image) */
  baselineBytes: number;
  numClasses: number;
  segmenter: ModelMemory;
  denoiser: ModelMemory | null;
  /** memory the run adds beside the models' activations that the baseline has not seen yet (sideBytes()) */
  sideBytes?: number;
}

export interface MemoryPlan {
  batchSize: number;
  segmenter: WorkingShape;
  denoiser: WorkingShape | null;
  budgetBytes: number;
  estimatedBytes: number;
  /** nothing: the config's batch at full working size fits; batch: fewer samples per batch; resolution: scaled-down models */
  limitedBy: 'nothing' | 'batch' | 'resolution';
}

const bpp = (m: ModelMemory) => m.bytesPerPixel ?? m.spec.bytesPerPixel ?? DEFAULT_BYTES_PER_PIXEL;
const isFixed = (m: ModelMemory) => m.spec.height != null || m.spec.width != null;

export function planMemory(p: MemoryPlanInput): MemoryPlan {
  const hw = p.height * p.width;
  const models = [p.segmenter, ...(p.denoiser ? [p.denoiser] : [])];
  const shapes = (cap: number | null) => models.map((m) => workingShape(m.spec, p.height, p.width, cap));
  const perSample = (s: WorkingShape[]) =>
    hw * HOST_BYTES_PER_PIXEL + ACTIVATION_MARGIN * s.reduce((a, sh, i) => a + bpp(models[i]) * workingPixels(sh), 0);
  const fixed = p.baselineBytes + RUNTIME_RESERVE_BYTES + hw * fixedBytesPerPixel(p.numClasses) + (p.sideBytes ?? 0);
  const plan = (batch: number, s: WorkingShape[], limitedBy: MemoryPlan['limitedBy']): MemoryPlan => ({
    batchSize: batch,
    segmenter: s[0],
    denoiser: p.denoiser ? s[1] : null,
    budgetBytes: p.budgetBytes,
    estimatedBytes: fixed + batch * perSample(s),
    limitedBy,
  });

  const full = shapes(null);
  const fits = Math.floor((p.budgetBytes - fixed) / perSample(full));
  if (fits >= 1) {
    const batch = Math.min(p.batchSize, fits);
    return plan(batch, full, batch < p.batchSize ? 'batch' : 'nothing');
  }
  // One sample does not fit: scale the fully convolutional models down to the pixels left for them.
  const fcnBpp = ACTIVATION_MARGIN * models.filter((m) => !isFixed(m)).reduce((a, m) => a + bpp(m), 0);
  const fixedModels = ACTIVATION_MARGIN * models.reduce((a, m, i) => a + (isFixed(m) ? bpp(m) * workingPixels(full[i]) : 0), 0);
  const left = p.budgetBytes - fixed - hw * HOST_BYTES_PER_PIXEL - fixedModels;
  const cap = fcnBpp > 0 ? Math.floor(left / fcnBpp) : 0;
  if (cap < MIN_WORKING_PIXELS) {
    const need = fixed + hw * HOST_BYTES_PER_PIXEL + fixedModels + fcnBpp * MIN_WORKING_PIXELS;
    throw new CertsegError(
      `a ${p.width}×${p.height} image needs about ${Math.ceil(need / MiB)} MiB with these models even at one sample per batch` +
        `${fcnBpp > 0 ? ' and the models scaled down' : ''}; the memory budget is ${Math.round(p.budgetBytes / MiB)} MiB. ` +
        'Raise memoryBudgetMiB (--memory-budget) or certify a smaller image.',
      'input',
    );
  }
  return plan(1, shapes(cap), 'resolution');
}

/** The noise thread (core/noiseThread.ts) holds its own copy of the image and a scratch buffer: 3 × float32 each, per pixel. */
export const NOISE_THREAD_BYTES_PER_PIXEL = 24;
/** The noise thread's V8 isolate (with the per-pixel part, checked against a fresh process's RSS: test/core/noiseThread.test.ts). */
export const NOISE_THREAD_RESERVE_BYTES = 16 * MiB;

/**
 * What a run adds beside the activations that the baseline (RSS before sampling) does not hold yet:
 * - the composed ONNX graphs (engines/compose.ts) are sessions of their own, made at first use, that hold a
 *   second copy of the weights (segmenter, and the denoiser when chained): planned as the ONNX files' size.
 *   Their activations replace the plain sessions' (only one path runs), so they are planned once, as before.
 *   A second image of a dataset counts its composed weights in both the baseline and here: a few MiB too many,
 *   on the safe side.
 * - the noise thread, where it runs (core/noiseThread.ts noiseThreadWanted): its image copy and scratch, and its isolate.
 */
export function sideBytes(seg: Segmenter, den: Denoiser | null, pixels: number, opts: { noiseThread: boolean; compose?: boolean }): number {
  let bytes = 0;
  if ((opts.compose ?? composeEnabled()) && seg.composer && seg.info.engine === 'onnx') {
    bytes += fileBytes(seg.card.files.onnx);
    if (den && den.info.engine === 'onnx') bytes += fileBytes(den.card.files.onnx);
  }
  if (opts.noiseThread) bytes += NOISE_THREAD_RESERVE_BYTES + pixels * NOISE_THREAD_BYTES_PER_PIXEL;
  return bytes;
}

function fileBytes(file: string | undefined): number {
  try {
    return file ? statSync(file).size : 0;
  } catch {
    return 0;
  }
}

/** The budget when the config leaves it open: 2048 MiB on CPU; on a GPU its memory (nvidia-smi), at least that. */
export function defaultBudgetMiB(device: 'cpu' | 'gpu'): number {
  if (device !== 'gpu') return CPU_BUDGET_MIB;
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=memory.total', '--format=csv,noheader,nounits'], {
      encoding: 'utf8',
      timeout: 5000,
    });
    const mib = Number(out.split('\n')[0].trim());
    return Number.isFinite(mib) && mib > CPU_BUDGET_MIB ? mib : CPU_BUDGET_MIB;
  } catch {
    return CPU_BUDGET_MIB;
  }
}

let firstBaseline: number | null = null;
let lastActivations = 0;
/**
 * Memory in use before sampling. A process that certifies several images keeps the runtimes' arenas from the
 * previous one (reused, not added): that part of the current RSS is taken out again.
 */
export function baselineBytes(): number {
  const rss = process.memoryUsage().rss;
  firstBaseline ??= rss;
  return Math.max(firstBaseline, rss - lastActivations);
}

/** Remembers what a plan allowed above its baseline (see baselineBytes). */
export function notePlanned(plan: MemoryPlan, baseline: number): void {
  lastActivations = Math.max(lastActivations, plan.estimatedBytes - baseline);
}

/** The segmenter, running every call on the plan's working shape. */
export function bindSegmenter(s: Segmenter, shape: WorkingShape): Segmenter {
  return {
    card: s.card,
    info: s.info,
    numClasses: s.numClasses,
    adapter: s.adapter,
    composer: s.composer,
    shape,
    segment: (images, b, h, w) => s.segment(images, b, h, w, shape),
    dispose: () => s.dispose(),
  };
}

/** The denoiser, running every call on the plan's working shape (its timestep follows that shape). */
export function bindDenoiser(d: Denoiser, shape: WorkingShape): Denoiser {
  return {
    card: d.card,
    info: d.info,
    adapter: d.adapter,
    shape,
    denoise: (noisy, b, h, w, sigma) => d.denoise(noisy, b, h, w, sigma, shape),
    timestepFor: (sigma, h, w) => d.timestepFor(sigma, h, w, shape),
    dispose: () => d.dispose(),
  };
}
