/**
 * Model-card adapters shared by both engines: canonical NCHW [0,1] RGB ↔ the card's layout, range,
 * normalisation, fixed batch and fixed size; segmenter output kinds; one-shot DDPM denoising.
 */
import { alphasCumprod, carliniTimestep, miccaiTimestep, predictX0 } from '../core/diffusion';
import { CertsegError } from '../core/errors';
import { MAX_CLASSES } from '../core/labels';
import { noiseStdFactor } from '../core/resize';
import type { InputSpec, ResolvedCard, SegmenterOutputSpec, TensorSpec } from '../models/card';
import { displayPath } from '../models/loadCard';
import type { Denoiser, Segmenter } from './engine';
import type { DenoiserPlan, SegmenterPlan } from './plans';
import type { DenoiseConvention } from '../../../protocol/config';
import { sameTensorName, type Feed, type ModelRunner, type RunOutput, type TensorMeta } from './runner';
import { fromWorking, labelsFromWorking, toWorking, workingShape, type WorkingShape } from './workingShape';

export type { DenoiseConvention, DenoiserPlan, SegmenterPlan };

const C = 3; // canonical images are RGB

function pick(list: TensorMeta[], name: string | undefined, what: string, shown: string, exclude?: string): TensorMeta {
  if (name) {
    const m = list.find((t) => sameTensorName(t.name, name));
    if (!m)
      throw new CertsegError(`${shown}: the model has no ${what} named "${name}" (it has ${list.map((t) => t.name).join(', ')})`, 'model');
    return m;
  }
  const m = list.find((t) => !exclude || !sameTensorName(t.name, exclude));
  if (!m) throw new CertsegError(`${shown}: the model has no ${what}`, 'model');
  return m;
}

/** Static model dims must agree with the card; dynamic model dims accept any card value. */
function checkShape(meta: TensorMeta, spec: TensorSpec, what: string, shown: string): void {
  if (!meta.dims || meta.dims.length === 0) return; // shape not declared
  const d = meta.dims;
  const show = `[${d.map((x) => x ?? '?').join(',')}]`;
  const fail = (why: string) => {
    throw new CertsegError(`${shown}: model ${what} "${meta.name}" has shape ${show}, which contradicts the card (${why})`, 'model');
  };
  let axes: [string, number | null, number][];
  if (d.length === 3 && spec.channels === 1)
    axes = [
      ['batch', spec.batch, 0],
      ['height', spec.height, 1],
      ['width', spec.width, 2],
    ];
  else if (d.length === 4) {
    const nchw = spec.layout === 'NCHW';
    axes = [
      ['batch', spec.batch, 0],
      ['channels', spec.channels, nchw ? 1 : 3],
      ['height', spec.height, nchw ? 2 : 1],
      ['width', spec.width, nchw ? 3 : 2],
    ];
  } else return fail(`${spec.layout} needs 4 dimensions`);
  for (const [field, want, axis] of axes) {
    const have = d[axis];
    if (have == null) continue;
    if (want == null) fail(`${what}.${field} is null (any) but the model fixes it to ${have}`);
    else if (want !== have) fail(`${spec.layout}: ${what}.${field} ${want} expected at axis ${axis}, model has ${have}`);
  }
}

function perChannel(v: number[] | undefined, fill: number): number[] {
  if (!v) return [fill, fill, fill];
  return v.length === 1 ? [v[0], v[0], v[0]] : v;
}

/**
 * ITU-R BT.601 luma weights: what PIL's convert('L'), OpenCV's cvtColor(RGB2GRAY) and torchvision's
 * Grayscale compute, so a 1-channel model sees the grey values it was trained on. A grey image (R=G=B, as
 * readImage repeats it) gives back exactly its grey value.
 */
export const LUMA = [0.299, 0.587, 0.114] as const;

/**
 * Writes image `src` (3×H×W, NCHW) into slot k of a model batch buffer, as y = a_c·x + b_c in the card's layout.
 * a, b fold range and mean/std: y = (lo + x·(hi−lo) − mean)/std. A 1-channel input (grey) gets the luma of x.
 */
function writeSlot(
  out: Float32Array,
  k: number,
  src: Float32Array,
  H: number,
  W: number,
  nhwc: boolean,
  a: number[],
  b: number[],
  channels = C,
): void {
  const hw = H * W;
  if (channels === 1) {
    const base = k * hw;
    const [wr, wg, wb] = LUMA;
    for (let i = 0; i < hw; i++) out[base + i] = a[0] * (wr * src[i] + wg * src[hw + i] + wb * src[2 * hw + i]) + b[0];
    return;
  }
  const base = k * C * hw;
  for (let c = 0; c < C; c++) {
    const ac = a[c],
      bc = b[c];
    const s = c * hw;
    if (nhwc) for (let i = 0; i < hw; i++) out[base + i * C + c] = ac * src[s + i] + bc;
    else for (let i = 0; i < hw; i++) out[base + s + i] = ac * src[s + i] + bc;
  }
}

export function affine(spec: InputSpec): { a: number[]; b: number[] } {
  const [lo, hi] = spec.range;
  const mean = perChannel(spec.mean, 0);
  const std = perChannel(spec.std, 1);
  return { a: mean.map((_, c) => (hi - lo) / std[c]), b: mean.map((m, c) => (lo - m) / std[c]) };
}

/** Output n of a batch as NCHW planes (channels × H × W), whatever the output layout. */
function planesOf(
  out: RunOutput,
  n: number,
  spec: TensorSpec,
  what: string,
  shown: string,
): { data: Float32Array | Int32Array; ch: number; H: number; W: number } {
  const d = out.dims;
  let ch: number, H: number, W: number, nhwc: boolean;
  if (d.length === 3) [ch, H, W, nhwc] = [1, d[1], d[2], false];
  else if (d.length === 4) [ch, H, W, nhwc] = spec.layout === 'NHWC' ? [d[3], d[1], d[2], true] : [d[1], d[2], d[3], false];
  else throw new CertsegError(`${shown}: ${what} has shape [${d.join(',')}], expected 4 dimensions`, 'model');
  if (ch !== spec.channels)
    throw new CertsegError(`${shown}: ${what} has ${ch} channels (shape [${d.join(',')}]), the card says ${spec.channels}`, 'model');
  const hw = H * W;
  const src = out.data.subarray(n * ch * hw, (n + 1) * ch * hw);
  if (!nhwc || ch === 1) return { data: src, ch, H, W };
  const t = new Float32Array(ch * hw);
  for (let i = 0; i < hw; i++) for (let c = 0; c < ch; c++) t[c * hw + i] = src[i * ch + c];
  return { data: t, ch, H, W };
}

function assertFinite(v: Float32Array | Int32Array, who: string, shown: string): void {
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x - x !== 0) throw new CertsegError(`${shown}: ${who} produced NaN or Inf values`, 'model');
  }
}

function checkImages(data: Float32Array, b: number, h: number, w: number, who: string): void {
  if (!(b > 0 && h > 0 && w > 0) || data.length !== b * C * h * w) {
    throw new CertsegError(`${who}: expected ${b}×3×${h}×${w} = ${b * C * h * w} values, got ${data.length}`, 'input');
  }
}

/** Runs images through the model in chunks of its (fixed or free) batch size, padding the last chunk. */
async function forChunks(
  b: number,
  fixedBatch: number | null,
  body: (start: number, count: number, fed: number) => Promise<void>,
): Promise<void> {
  const step = fixedBatch ?? b;
  for (let start = 0; start < b; start += step) {
    const count = Math.min(step, b - start);
    await body(start, count, fixedBatch ?? count);
  }
}

export function planSegmenter(runner: ModelRunner, card: ResolvedCard): SegmenterPlan {
  const shown = displayPath(card.cardPath);
  const inSpec = card.input;
  const outSpec = card.output as SegmenterOutputSpec;
  const inMeta = pick(runner.inputs, inSpec.name, 'input', shown);
  const outMeta = pick(runner.outputs, outSpec.name, 'output', shown);
  checkShape(inMeta, inSpec, 'input', shown);
  checkShape(outMeta, outSpec, 'output', shown);
  const numClasses = card.classes!.length;
  if (numClasses > MAX_CLASSES) throw new CertsegError(`${shown}: at most ${MAX_CLASSES} classes are supported`, 'config');
  const { a, b } = affine(inSpec);
  const inRank3 = inSpec.channels === 1 && inMeta.dims?.length === 3;
  return {
    shown,
    inName: inMeta.name,
    outName: outMeta.name,
    inSpec,
    outSpec,
    numClasses,
    a,
    b,
    nhwc: inSpec.layout === 'NHWC',
    inChannels: inSpec.channels,
    inRank3,
  };
}

export function makeSegmenter(runner: ModelRunner, card: ResolvedCard): Segmenter {
  const plan = planSegmenter(runner, card);
  const { shown, inSpec, outSpec, numClasses, a, b: off, nhwc, inChannels: IC, inRank3 } = plan;
  const inMeta = { name: plan.inName };
  const outMeta = { name: plan.outName };

  return {
    card,
    info: runner.info,
    numClasses,
    adapter: { runner, plan },
    async segment(images, b, h, w, shape) {
      checkImages(images, b, h, w, 'segment');
      const ws = shape ?? workingShape(inSpec, h, w);
      const H = ws.height,
        W = ws.width;
      const labels = new Uint8Array(b * h * w);
      await forChunks(b, inSpec.batch, async (start, count, fed) => {
        const buf = new Float32Array(fed * IC * H * W);
        for (let k = 0; k < count; k++) {
          const img = images.subarray((start + k) * C * h * w, (start + k + 1) * C * h * w);
          writeSlot(buf, k, toWorking(img, C, h, w, ws, inSpec.resize), H, W, nhwc, a, off, IC);
        }
        const dims = inRank3 ? [fed, H, W] : nhwc ? [fed, H, W, IC] : [fed, IC, H, W];
        const out = await runner.run({ [inMeta.name]: { dtype: 'float32', data: buf, dims } }, outMeta.name);
        if (out.dims[0] !== fed) throw new CertsegError(`${shown}: output batch is ${out.dims[0]}, fed ${fed}`, 'model');
        for (let k = 0; k < count; k++) {
          const pl = planesOf(out, k, outSpec, 'segmenter output', shown);
          labels.set(decode(pl.data, pl.ch, ws, h, w), (start + k) * h * w);
        }
      });
      return labels;
    },
    async dispose() {
      await runner.dispose();
    },
  };

  function decode(p: Float32Array | Int32Array, ch: number, ws: WorkingShape, h: number, w: number): Uint8Array {
    if (outSpec.kind === 'labels') {
      const l = new Uint8Array(ws.height * ws.width);
      for (let i = 0; i < l.length; i++) {
        const v = p[i];
        if (!(v >= 0 && v < numClasses))
          throw new CertsegError(`${shown}: segmenter produced label ${v}, outside 0..${numClasses - 1}`, 'model');
        l[i] = v;
      }
      return labelsFromWorking(l, ws, h, w);
    }
    assertFinite(p, 'segmenter', shown);
    // resize scores (not labels) back, then decide: smoother boundaries than nearest-neighbour labels
    const s = fromWorking(p instanceof Float32Array ? p : Float32Array.from(p), ch, ws, h, w);
    const hw = h * w;
    const l = new Uint8Array(hw);
    if (outSpec.kind === 'sigmoid') {
      const thr = outSpec.sigmoidIsLogit ? 0 : 0.5;
      for (let i = 0; i < hw; i++) l[i] = s[i] > thr ? 1 : 0;
      return l;
    }
    for (let i = 0; i < hw; i++) {
      let best = 0,
        bv = s[i];
      for (let c = 1; c < ch; c++)
        if (s[c * hw + i] > bv) {
          bv = s[c * hw + i];
          best = c;
        } // ties: lowest id
      l[i] = best;
    }
    return l;
  }
}

export function timestepFeed(meta: TensorMeta, dtype: Feed['dtype'], value: number, fed: number): Feed {
  const dims = meta.dims && meta.dims.length === 0 ? [] : [fed];
  const n = dims.length ? fed : 1;
  if (dtype === 'int64') return { dtype, dims, data: new BigInt64Array(n).fill(BigInt(Math.round(value))) };
  if (dtype === 'int32') return { dtype, dims, data: new Int32Array(n).fill(Math.round(value)) };
  return { dtype, dims, data: new Float32Array(n).fill(value) };
}

export function planDenoiser(runner: ModelRunner, card: ResolvedCard, convention: DenoiseConvention = 'carlini'): DenoiserPlan {
  const shown = displayPath(card.cardPath);
  const spec = card.denoiser!;
  const inSpec = card.input;
  const outSpec = card.output;
  const tsName = spec.timestep?.input;
  const inMeta = pick(runner.inputs, inSpec.name, 'input', shown, tsName);
  const outMeta = pick(runner.outputs, outSpec.name, 'output', shown);
  const tsMeta = tsName ? pick(runner.inputs, tsName, 'timestep input', shown) : null;
  checkShape(inMeta, inSpec, 'input', shown);
  checkShape(outMeta, outSpec, 'output', shown);
  const ddpm = spec.kind === 'ddpm-eps';
  const abar = ddpm ? alphasCumprod(spec.schedule!, spec.T!) : null;
  const { a, b } = ddpm ? { a: [1, 1, 1], b: [0, 0, 0] } : affine(inSpec); // x_t is already in model space

  const timestepFor = (sigma: number, h: number, w: number, shape?: WorkingShape): number | null => {
    if (!abar) return null;
    // the network sees the noise after resizing to its working shape (letterbox: the image's part of it)
    const ws = shape ?? workingShape(inSpec, h, w);
    const f = noiseStdFactor(h, w, ws.inner.height, ws.inner.width, inSpec.resize);
    return convention === 'miccai' ? miccaiTimestep(abar, sigma * f) : carliniTimestep(abar, sigma * f);
  };
  return {
    shown,
    inName: inMeta.name,
    outName: outMeta.name,
    ts: tsMeta ? { meta: tsMeta, dtype: spec.timestep!.dtype, scale: spec.timestep!.scale ?? 1 } : null,
    inSpec,
    outSpec,
    ddpm,
    abar,
    convention,
    a,
    b,
    nhwc: inSpec.layout === 'NHWC',
    timestepFor,
  };
}

export function makeDenoiser(runner: ModelRunner, card: ResolvedCard, convention: DenoiseConvention = 'carlini'): Denoiser {
  const plan = planDenoiser(runner, card, convention);
  const { shown, inSpec, outSpec, nhwc, ddpm, abar, a, b: off, timestepFor } = plan;
  const inMeta = { name: plan.inName };
  const outMeta = { name: plan.outName };
  const tsMeta = plan.ts?.meta ?? null;

  return {
    card,
    info: runner.info,
    timestepFor,
    adapter: { runner, plan },
    async denoise(noisy, b, h, w, sigma, shape) {
      checkImages(noisy, b, h, w, 'denoise');
      const ws = shape ?? workingShape(inSpec, h, w);
      const H = ws.height,
        W = ws.width,
        hw = H * W;
      const t = timestepFor(sigma, h, w, ws);
      const abarT = t == null ? 1 : abar![t];
      const sa = Math.sqrt(abarT);
      const result = new Float32Array(noisy.length);
      await forChunks(b, inSpec.batch, async (start, count, fed) => {
        const buf = new Float32Array(fed * C * hw);
        const xts: Float32Array[] = [];
        for (let k = 0; k < count; k++) {
          const img = noisy.subarray((start + k) * C * h * w, (start + k + 1) * C * h * w);
          let x = toWorking(img, C, h, w, ws, inSpec.resize);
          if (ddpm) {
            // Carlini: z = 2x − 1, x_t = sqrt(ᾱ)·z. MICCAI code: x_t = sqrt(ᾱ)·x, x kept in [0,1].
            x = convention === 'miccai' ? x.map((v) => sa * v) : x.map((v) => sa * (2 * v - 1));
            xts.push(x);
          }
          writeSlot(buf, k, x, H, W, nhwc, a, off);
        }
        const feeds: Record<string, Feed> = {
          [inMeta.name]: { dtype: 'float32', data: buf, dims: nhwc ? [fed, H, W, C] : [fed, C, H, W] },
        };
        if (tsMeta) feeds[tsMeta.name] = timestepFeed(tsMeta, plan.ts!.dtype, t! * plan.ts!.scale, fed);
        const out = await runner.run(feeds, outMeta.name);
        for (let k = 0; k < count; k++) {
          const pl = planesOf(out, k, outSpec, 'denoiser output', shown);
          assertFinite(pl.data, 'denoiser', shown);
          let x01: Float32Array;
          if (ddpm) {
            const x0 = predictX0(xts[k], Float32Array.from(pl.data), abarT, 1, C, hw, pl.ch);
            x01 = convention === 'miccai' ? x0.map((v) => 0.5 * v) : x0.map((v) => (Math.min(1, Math.max(-1, v)) + 1) / 2);
          } else {
            x01 = new Float32Array(C * hw);
            for (let c = 0; c < C; c++) for (let i = 0; i < hw; i++) x01[c * hw + i] = (pl.data[c * hw + i] - off[c]) / a[c];
          }
          result.set(fromWorking(x01, C, ws, h, w), (start + k) * C * h * w);
        }
      });
      return result;
    },
    async dispose() {
      await runner.dispose();
    },
  };
}
