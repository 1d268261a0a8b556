/**
 * Warm-up: one session.run per ONNX model on zeros of the working shape and batch that the run will use,
 * before the clean prediction. ONNX Runtime's first run at a shape is slow (its arena and kernels are set up
 * then: 500–1300 ms against 170–260 ms warm at 256² on this machine, issue 16); paid here, the run's first
 * batch costs what the others do, and a process that certifies many images (datasets, the worker's run
 * process) pays it once per shape and batch.
 *
 * Zeros, no noise: the warm-up draws nothing from any random stream, so seeded runs stay bit-identical.
 * The feeds are built like the adapters' (adapt.ts): same input names, layout, channels, timestep input and
 * fixed batch of the card.
 */
import type { Denoiser, Segmenter } from './engine';
import { composeEnabled } from './processing';
import type { DenoiserPlan, SegmenterPlan } from './plans';
import type { Feed, ModelRunner } from './runner';
import type { WorkingShape } from './workingShape';

/** The segmenter's input for b samples at H×W: `data` (model space, length b·C·H·W) or zeros. */
export function segmenterFeeds(plan: SegmenterPlan, b: number, H: number, W: number, data?: Float32Array): Record<string, Feed> {
  const C = plan.inChannels;
  const dims = plan.inRank3 ? [b, H, W] : plan.nhwc ? [b, H, W, C] : [b, C, H, W];
  return { [plan.inName]: { dtype: 'float32', data: data ?? new Float32Array(b * C * H * W), dims } };
}

/** The denoiser's input for b samples at H×W (3 channels): `data` or zeros, and timestep t if the model takes one. */
export function denoiserFeeds(plan: DenoiserPlan, b: number, H: number, W: number, data?: Float32Array, t = 0): Record<string, Feed> {
  const feeds: Record<string, Feed> = {
    [plan.inName]: { dtype: 'float32', data: data ?? new Float32Array(b * 3 * H * W), dims: plan.nhwc ? [b, H, W, 3] : [b, 3, H, W] },
  };
  if (plan.ts) {
    const dims = plan.ts.meta.dims && plan.ts.meta.dims.length === 0 ? [] : [b];
    const n = dims.length ? b : 1;
    const v = t * plan.ts.scale;
    feeds[plan.ts.meta.name] =
      plan.ts.dtype === 'int64'
        ? { dtype: 'int64', dims, data: new BigInt64Array(n).fill(BigInt(Math.round(v))) }
        : plan.ts.dtype === 'int32'
          ? { dtype: 'int32', dims, data: new Int32Array(n).fill(Math.round(v)) }
          : { dtype: 'float32', dims, data: new Float32Array(n).fill(v) };
  }
  return feeds;
}

/**
 * On by default on a GPU only. On this project's CPU machine the bench (--only=ortoptions, --only=coldprocess,
 * docs/performance.md) found a fresh session's first batch no clearly slower than its second (0.92–1.16×,
 * within the noise), so a warm-up there only adds one batch (0.5–3.6 s) before the first partial result;
 * CUDA's first run (kernel selection, cuDNN workspace) is the case it is for. CERTSEG_WARMUP=1 / =0 forces it.
 */
export function warmUpWanted(device: string): boolean {
  const env = process.env.CERTSEG_WARMUP;
  return env === '1' ? true : env === '0' ? false : device === 'gpu';
}

/** per runner: the shapes and batches it has run (warm-ups only; a runner is never warmed twice for one) */
const warmed = new WeakMap<ModelRunner, Set<string>>();

/**
 * Runs the model once on zeros at `shape` × `batch` (the card's fixed batch, if it has one), unless this
 * runner has already been warmed there. ONNX Runtime only (TF.js warms differently per backend). Returns the
 * ms spent (0: nothing to do).
 */
export async function warmUp(model: Segmenter | Denoiser, shape: WorkingShape, batch: number): Promise<number> {
  const ad = model.adapter;
  if (!ad || model.info.engine !== 'onnx' || !warmUpWanted(model.info.device)) return 0;
  const b = ad.plan.inSpec.batch ?? batch;
  const key = `${shape.height}x${shape.width}x${b}`;
  const done = warmed.get(ad.runner) ?? new Set<string>();
  if (done.has(key)) return 0;
  const t0 = performance.now();
  const feeds =
    'numClasses' in ad.plan ? segmenterFeeds(ad.plan, b, shape.height, shape.width) : denoiserFeeds(ad.plan, b, shape.height, shape.width);
  await ad.runner.run(feeds, ad.plan.outName);
  done.add(key);
  warmed.set(ad.runner, done);
  return performance.now() - t0;
}

/** per composer: the image sizes, batches and denoisers its composed graphs were warmed for, and whether they ran */
const composedWarmed = new WeakMap<object, Map<string, boolean>>();

/**
 * The composed graphs (engines/compose.ts) are ONNX Runtime sessions of their own, so they are warmed the same
 * way, when a warm-up is wanted: the sampling graph (denoiser + segmenter, or the segmenter) on zeros at the
 * image's size and the sampling batch, and the segmenter's graph for the clean pass (batch 1). `seg`, `den`:
 * the models bound to their working shapes. Returns the ms spent.
 */
export async function warmUpComposed(
  seg: Segmenter,
  den: Denoiser | null,
  h: number,
  w: number,
  batch: number,
  sigma: number,
): Promise<number> {
  return (await warmComposed(seg, den, h, w, batch, sigma)).ms;
}

/** ms spent, and whether the composed graphs ran (false: the plain sessions will take the batches) */
async function warmComposed(seg: Segmenter, den: Denoiser | null, h: number, w: number, batch: number, sigma: number) {
  const c = seg.composer;
  if (!c || !composeEnabled() || seg.info.engine !== 'onnx' || !warmUpWanted(seg.info.device)) return { ms: 0, composed: false };
  const key = `${h}x${w}x${batch}|${den ? `${den.card.sha256}|${den.card.cardPath}` : ''}`;
  const done = composedWarmed.get(c) ?? new Map<string, boolean>();
  composedWarmed.set(c, done);
  const before = done.get(key);
  if (before !== undefined) return { ms: 0, composed: before };
  const t0 = performance.now();
  const zeros = new Float32Array(batch * 3 * h * w);
  const sampled = den ? await c.chain(den, zeros, batch, h, w, sigma, seg.shape) : await c.segment(zeros, batch, h, w, seg.shape);
  const cleaned = await c.segment(zeros.subarray(0, 3 * h * w), 1, h, w, seg.shape);
  done.set(key, sampled !== null && cleaned !== null);
  return { ms: performance.now() - t0, composed: done.get(key)! };
}

/**
 * The warm-up before a run. The composed graphs first; the plain sessions only where those cannot run (not
 * ONNX Runtime, CERTSEG_ORT_COMPOSE=0, an op ORT rejects): when the graphs run, the plain sessions never see a
 * batch, and warming them would only allocate a second activation arena (on a GPU, its memory). `loaded`:
 * the models as loaded; `bound`: the same bound to the plan's working shapes. Returns the ms spent.
 */
export async function warmUpRun(
  loaded: { segmenter: Segmenter; denoiser: Denoiser | null },
  bound: { segmenter: Segmenter; denoiser: Denoiser | null },
  h: number,
  w: number,
  batch: number,
  sigma: number,
): Promise<number> {
  const first = await warmComposed(bound.segmenter, bound.denoiser, h, w, batch, sigma);
  if (first.composed) return first.ms;
  const seg = await warmUp(loaded.segmenter, bound.segmenter.shape!, batch);
  const den = loaded.denoiser && bound.denoiser ? await warmUp(loaded.denoiser, bound.denoiser.shape!, batch) : 0;
  return first.ms + seg + den;
}
