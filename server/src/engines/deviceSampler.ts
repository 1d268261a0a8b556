/**
 * The Monte-Carlo loop as TF.js tensor ops, for when the segmenter (and the denoiser, if any) run on the
 * tfjs engine. Per batch: noisy copies → one-shot denoising → segmenter → argmax / sigmoid threshold →
 * vote counting, all inside tf.tidy on the backend's device; per-pixel counts accumulate in device
 * tensors and only they come back (once per phase, plus every `readbackMs` when a consumer wants
 * partial results). Memory is independent of n: one batch of images and the K×C / K count tensors.
 *
 * The transforms are the card adapter's (adapt.ts: SegmenterPlan / DenoiserPlan), applied as tensor
 * ops: resize with the same explicit weight matrices (core/resize.ts), y = a·x + b normalisation, layout,
 * fixed-batch chunking, ε-prediction → x̂0 (Carlini or MICCAI convention), output decoding. Selection
 * is then ĉ = mode of the device histogram with ties to the lowest id, exactly as votes.ts.
 *
 * Noise. TF.js has no on-device seeded generator: tf.randomNormal (tfjs-core 4.x) runs its PRNG
 * (alea + Marsaglia polar) in JavaScript and uploads the result, on every backend. So noise is drawn on
 * the host and uploaded once per batch (3·h·w floats per sample); everything after it stays on the device.
 *  - 'xoshiro' (default): the CPU path's own stream (core/rng.ts, sample j seeded by (seed, j)), so the
 *    device and host paths see identical noise and agree up to floating-point differences.
 *  - 'tfjs': tf.randomNormal per sample, seeded with a 32-bit value derived from (seed, j). A different
 *    stream from the CPU path's, equally seeded and reproducible, and also independent of the batch size.
 */
import * as tf from '@tensorflow/tfjs';
import { CertsegError } from '../core/errors';
import { resizeWeights1D, type ResizeMode } from '../core/resize';
import { workingShape, type WorkingShape } from './workingShape';
import { fillGaussian, Xoshiro128 } from '../core/rng';
import {
  hostSampler,
  phaseBatches,
  throwIfAborted,
  type Sampler,
  type SamplerJob,
  type SamplerPhase,
  type SamplingPath,
} from '../core/sampling';
import type { SamplingPreference } from '../../../protocol/config';
import type { TensorSpec } from '../models/card';
import type { DenoiserPlan, SegmenterPlan } from './plans';
import type { Denoiser, Segmenter } from './engine';
import type { ModelRunner } from './runner';

export type DeviceNoise = 'xoshiro' | 'tfjs';
export type { SamplingPreference };

export interface DeviceSamplerOptions {
  noise?: DeviceNoise;
  /** minimum ms between partial read-backs while a consumer listens (onCounts); default 200 */
  readbackMs?: number;
  /** batches between scalar syncs that bound the queue of asynchronous device work; default 8 */
  syncEvery?: number;
}

/** The adapter's runner and plan, with the working shape the memory plan bound (engines/workingShape.ts). */
type Adapted<P> = { runner: ModelRunner; plan: P; shape?: WorkingShape };

/** Why the device path cannot run these models, or null when it can. */
export function deviceUnsupported(seg: Segmenter, den: Denoiser | null): string | null {
  if (seg.info.engine !== 'tfjs') return `the segmenter runs on ${seg.info.engine}`;
  if (!seg.adapter?.runner.runTensors) return 'the segmenter has no tensor-level runner';
  if (den && den.info.engine !== 'tfjs') return `the denoiser runs on ${den.info.engine}`;
  if (seg.adapter && seg.adapter.plan.inChannels !== 3)
    return 'the segmenter takes 1-channel (grey) input, which only the host loop converts';
  if (den && !den.adapter?.runner.runTensors) return 'the denoiser has no tensor-level runner';
  return null;
}

/**
 * The sampler for these models. 'auto': the device loop when both models run on tfjs on a GPU backend
 * (on CPU backends it measured slower than the host loop: no transfers to save, extra tensor ops);
 * 'device': the device loop whatever the backend, and an error when the models cannot use it.
 */
export function chooseSampler(
  seg: Segmenter,
  den: Denoiser | null,
  pref: SamplingPreference = 'auto',
  opts: DeviceSamplerOptions = {},
): Sampler<Segmenter, Denoiser> {
  if (pref === 'host') return hostSampler;
  if (pref === 'auto' && (seg.info.device !== 'gpu' || (den && den.info.device !== 'gpu'))) return hostSampler;
  const why = deviceUnsupported(seg, den);
  if (!why) return new DeviceSampler(opts);
  if (pref === 'device') throw new CertsegError(`sampling "device" needs both models on the tfjs engine: ${why}`, 'config');
  return hostSampler;
}

/** 32-bit seed of sample j's tf.randomNormal call ('tfjs' noise): well mixed from (seed, j). */
export function sampleSeed(seed: number, sample: number): number {
  return new Xoshiro128(seed, sample).nextU32();
}

/** Noise for samples first..first+count−1 as a [count,3,h,w] tensor (N(0,σ²), not clipped). */
export function noiseBatch(
  mode: DeviceNoise,
  sigma: number,
  seed: number,
  first: number,
  count: number,
  h: number,
  w: number,
): tf.Tensor4D {
  const len = 3 * h * w;
  if (mode === 'tfjs') {
    return tf.tidy(
      () =>
        tf.stack(
          Array.from({ length: count }, (_, j) => tf.randomNormal([3, h, w], 0, sigma, 'float32', sampleSeed(seed, first + j))),
        ) as tf.Tensor4D,
    );
  }
  const buf = new Float32Array(count * len);
  for (let j = 0; j < count; j++) fillGaussian(buf.subarray(j * len, (j + 1) * len), sigma, seed, first + j);
  return tf.tensor4d(buf, [count, 3, h, w]);
}

// ---------------------------------------------------------------------------------------------------
// Tensor versions of the adapter's transforms

/** Dense [dst, src] matrix of a 1-D resize (same weights as resizeNCHW). */
function resizeMatrix(src: number, dst: number, mode: ResizeMode | undefined): tf.Tensor2D {
  const { index, weight, taps } = resizeWeights1D(src, dst, mode);
  const m = new Float32Array(dst * src);
  for (let j = 0; j < dst; j++) for (let k = 0; k < taps; k++) m[j * src + index[j * taps + k]] += weight[j * taps + k];
  return tf.tensor2d(m, [dst, src]);
}

/** resizeNCHW on a [N,C,h,w] tensor (identity when the size is unchanged). */
export function resizeT(x: tf.Tensor4D, H: number, W: number, mode?: ResizeMode): tf.Tensor4D {
  const [n, c, h, w] = x.shape;
  if (h === H && w === W) return x;
  const mw = resizeMatrix(w, W, mode);
  const mh = resizeMatrix(h, H, mode);
  const horiz = tf.matMul(x.reshape([n * c * h, w]), mw, false, true).reshape([n * c, h, W]);
  const vert = tf.matMul(horiz.transpose([0, 2, 1]).reshape([n * c * W, h]), mh, false, true).reshape([n * c, W, H]);
  return vert.transpose([0, 2, 1]).reshape([n, c, H, W]);
}

/** toWorking on a [N,C,h,w] tensor: resized into the working shape's inner rectangle, zeros around it (letterbox). */
function toWorkingT(x: tf.Tensor4D, s: WorkingShape, mode?: ResizeMode): tf.Tensor4D {
  const { top, left, height: ih, width: iw } = s.inner;
  const r = resizeT(x, ih, iw, mode);
  if (ih === s.height && iw === s.width) return r;
  return tf.pad(r, [
    [0, 0],
    [0, 0],
    [top, s.height - top - ih],
    [left, s.width - left - iw],
  ]);
}

/** The image's part of working planes [N,C,H,W] (a letterbox cropped back out). */
function innerT(x: tf.Tensor4D, s: WorkingShape): tf.Tensor4D {
  const { top, left, height: ih, width: iw } = s.inner;
  if (ih === s.height && iw === s.width) return x;
  return x.slice([0, 0, top, left], [-1, -1, ih, iw]);
}

/** resizeLabelsNearest on a [N,h,w] tensor (pixel centres). */
function resizeLabelsT(l: tf.Tensor3D, H: number, W: number): tf.Tensor3D {
  const [, h, w] = l.shape;
  if (h === H && w === W) return l;
  const ys = Int32Array.from({ length: H }, (_, y) => Math.min(h - 1, Math.floor(((y + 0.5) * h) / H)));
  const xs = Int32Array.from({ length: W }, (_, x) => Math.min(w - 1, Math.floor(((x + 0.5) * w) / W)));
  return tf.gather(tf.gather(l, tf.tensor1d(ys, 'int32'), 1), tf.tensor1d(xs, 'int32'), 2);
}

/** y = a_c·x + b_c per channel of a [N,3,H,W] tensor. */
function affineT(x: tf.Tensor4D, a: number[], b: number[]): tf.Tensor4D {
  if (a.every((v) => v === 1) && b.every((v) => v === 0)) return x;
  return x.mul(tf.tensor4d(a, [1, 3, 1, 1])).add(tf.tensor4d(b, [1, 3, 1, 1]));
}

/** A model output as NCHW planes [N,ch,H,W], whatever its layout (3-D outputs are one channel). */
function planesT(out: tf.Tensor, spec: TensorSpec, what: string, shown: string): tf.Tensor4D {
  const d = out.shape;
  let t: tf.Tensor4D;
  if (d.length === 3) t = out.reshape([d[0], 1, d[1], d[2]]);
  else if (d.length === 4) t = spec.layout === 'NHWC' ? out.transpose([0, 3, 1, 2]) : (out as tf.Tensor4D);
  else throw new CertsegError(`${shown}: ${what} has shape [${d.join(',')}], expected 4 dimensions`, 'model');
  if (t.shape[1] !== spec.channels)
    throw new CertsegError(
      `${shown}: ${what} has ${t.shape[1]} channels (shape [${d.join(',')}]), the card says ${spec.channels}`,
      'model',
    );
  return t;
}

/** Runs [N,...] model-space inputs through the model in chunks of its fixed batch (zero-padding the last). */
function runChunks(
  runner: ModelRunner,
  x: tf.Tensor4D,
  fixed: number | null,
  feeds: (t: tf.Tensor4D, fed: number) => Record<string, tf.Tensor>,
  output: string,
  shown: string,
): tf.Tensor {
  const n = x.shape[0];
  const step = fixed ?? n;
  const parts: tf.Tensor[] = [];
  for (let s = 0; s < n; s += step) {
    const count = Math.min(step, n - s);
    let chunk = step === n ? x : x.slice([s, 0, 0, 0], [count, -1, -1, -1]);
    const fed = fixed ?? count;
    if (count < fed) chunk = tf.concat([chunk, tf.zeros([fed - count, chunk.shape[1], chunk.shape[2], chunk.shape[3]])]) as tf.Tensor4D;
    const out = runner.runTensors!(feeds(chunk, fed), output);
    if (out.shape[0] !== fed) throw new CertsegError(`${shown}: output batch is ${out.shape[0]}, fed ${fed}`, 'model');
    parts.push(count < fed ? out.slice(0, count) : out);
  }
  return parts.length === 1 ? parts[0] : tf.concat(parts);
}

/** Count of values that are not finite (NaN/Inf): the host adapter's assertFinite, kept on the device. */
function nonFinite(t: tf.Tensor): tf.Scalar {
  return tf.logicalNot(tf.isFinite(t)).cast('int32').sum();
}

/**
 * Segmenter on device: images [N,3,h,w] in [0,1] → labels [N, h·w] int32 (same decoding as the host
 * adapter: scores resized back then argmax with ties to the lowest id, or sigmoid > 0.5 / logit > 0).
 * `bad` receives the number of invalid outputs (non-finite scores, labels outside 0..C−1).
 */
export function segmentT(ad: Adapted<SegmenterPlan>, x: tf.Tensor4D): { labels: tf.Tensor2D; bad: tf.Scalar } {
  const { plan, runner } = ad;
  const { inSpec, outSpec, shown, numClasses } = plan;
  const [n, , h, w] = x.shape;
  const ws = ad.shape ?? workingShape(inSpec, h, w);
  let y = affineT(toWorkingT(x, ws, inSpec.resize), plan.a, plan.b);
  if (plan.nhwc) y = y.transpose([0, 2, 3, 1]);
  const out = innerT(
    planesT(
      runChunks(runner, y, inSpec.batch, (t) => ({ [plan.inName]: t }), plan.outName, shown),
      outSpec,
      'segmenter output',
      shown,
    ),
    ws,
  );
  const oh = out.shape[2],
    ow = out.shape[3];
  if (outSpec.kind === 'labels') {
    const v = out.reshape([n, oh, ow]).cast('float32');
    const bad = tf
      .logicalNot(tf.logicalAnd(tf.greaterEqual(v, 0), tf.less(v, numClasses)))
      .cast('int32')
      .sum() as tf.Scalar;
    return { labels: resizeLabelsT(v.cast('int32') as tf.Tensor3D, h, w).reshape([n, h * w]), bad };
  }
  const scores = out.cast('float32') as tf.Tensor4D;
  const bad = nonFinite(scores);
  const s = resizeT(scores, h, w); // back like the host adapter: area weights;
  let labels: tf.Tensor;
  if (outSpec.kind === 'sigmoid') labels = tf.greater(s, outSpec.sigmoidIsLogit ? 0 : 0.5).cast('int32');
  else labels = tf.argMax(s, 1);
  return { labels: labels.reshape([n, h * w]).cast('int32') as tf.Tensor2D, bad };
}

/**
 * One-shot denoising on device (notes §4), the host adapter's math as tensor ops:
 * carlini: x_t = sqrt(ᾱ)(2x−1), x̂0 = (x_t − sqrt(1−ᾱ)ε̂)/sqrt(ᾱ), clip to [−1,1], back to [0,1];
 * miccai: x_t = sqrt(ᾱ)x, output 0.5·x̂0 unclipped; direct: the model's output mapped back to [0,1].
 */
export function denoiseT(ad: Adapted<DenoiserPlan>, x: tf.Tensor4D, sigma: number): { images: tf.Tensor4D; bad: tf.Scalar } {
  const { plan, runner } = ad;
  const { inSpec, outSpec, shown } = plan;
  const [, , h, w] = x.shape;
  const ws = ad.shape ?? workingShape(inSpec, h, w);
  const t = plan.timestepFor(sigma, h, w, ws);
  const abarT = t == null ? 1 : plan.abar![t];
  const sa = Math.sqrt(abarT),
    sn = Math.sqrt(1 - abarT);
  const r = toWorkingT(x, ws, inSpec.resize);
  const xt = plan.ddpm ? ((plan.convention === 'miccai' ? r.mul(sa) : r.mul(2).sub(1).mul(sa)) as tf.Tensor4D) : affineT(r, plan.a, plan.b);
  const fedIn = plan.nhwc ? xt.transpose([0, 2, 3, 1]) : xt;
  const feeds = (chunk: tf.Tensor4D, fed: number): Record<string, tf.Tensor> => {
    const f: Record<string, tf.Tensor> = { [plan.inName]: chunk };
    if (plan.ts) {
      const v = t! * plan.ts.scale;
      const dims = plan.ts.meta.dims && plan.ts.meta.dims.length === 0 ? [] : [fed];
      f[plan.ts.meta.name] = plan.ts.dtype === 'float32' ? tf.fill(dims, v, 'float32') : tf.fill(dims, Math.round(v), 'int32');
    }
    return f;
  };
  const out = planesT(
    runChunks(runner, fedIn as tf.Tensor4D, inSpec.batch, feeds, plan.outName, shown),
    outSpec,
    'denoiser output',
    shown,
  ).cast('float32') as tf.Tensor4D;
  const bad = nonFinite(out);
  let x01: tf.Tensor4D;
  if (plan.ddpm) {
    const eps = out.shape[1] === 3 ? out : out.slice([0, 0, 0, 0], [-1, 3, -1, -1]); // learned variance: first 3 are ε
    const x0 = xt.sub(eps.mul(sn)).div(sa);
    x01 = (plan.convention === 'miccai' ? x0.mul(0.5) : x0.clipByValue(-1, 1).add(1).div(2)) as tf.Tensor4D;
  } else {
    x01 = out.sub(tf.tensor4d(plan.b, [1, 3, 1, 1])).div(tf.tensor4d(plan.a, [1, 3, 1, 1]));
  }
  return { images: resizeT(innerT(x01, ws), h, w), bad };
}

// ---------------------------------------------------------------------------------------------------
// Vote counting on device

/** counts[K,C] += per-pixel class histogram of labels [b,K] (one equal-and-sum per class: memory b·K). */
export function addHistogram(hist: tf.Tensor2D, labels: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const C = hist.shape[1];
    const cols = Array.from({ length: C }, (_, c) => tf.equal(labels, c).cast('int32').sum(0));
    return hist.add(tf.stack(cols, 1)) as tf.Tensor2D;
  });
}

/** counts[K] += number of label maps in which pixel i is selected[i]. */
export function addAgreement(counts: tf.Tensor1D, labels: tf.Tensor2D, selected: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => counts.add(tf.equal(labels, selected).cast('int32').sum(0)) as tf.Tensor1D);
}

/** Device counts → the host's 16-bit count array (values ≤ samples ≤ 65535). */
export async function readCounts(t: tf.Tensor): Promise<Uint16Array> {
  return Uint16Array.from((await t.data()) as Int32Array);
}

// ---------------------------------------------------------------------------------------------------

export class DeviceSampler implements Sampler<Segmenter, Denoiser> {
  private fellBack = false;
  readonly noise: DeviceNoise;
  private readonly readbackMs: number;
  private readonly syncEvery: number;

  constructor(opts: DeviceSamplerOptions = {}) {
    this.noise = opts.noise ?? 'xoshiro';
    this.readbackMs = opts.readbackMs ?? 200;
    this.syncEvery = Math.max(1, opts.syncEvery ?? 8);
  }

  /** 'host' once a model turned out not to run synchronously on tensors (graphs with control flow). */
  get path(): SamplingPath {
    return this.fellBack ? 'host' : 'device';
  }

  async run(job: SamplerJob<Segmenter, Denoiser>, phase: SamplerPhase): Promise<Uint16Array> {
    if (this.fellBack) return hostSampler.run(job, phase);
    const segAd = job.segmenter.adapter as Adapted<SegmenterPlan> | undefined;
    const denAd = job.denoiser ? (job.denoiser.adapter as Adapted<DenoiserPlan> | undefined) : null;
    const seg = segAd && { ...segAd, shape: job.segmenter.shape };
    const den = denAd && { ...denAd, shape: job.denoiser?.shape };
    const why = deviceUnsupported(job.segmenter, job.denoiser);
    if (why || !seg || den === undefined) throw new CertsegError(`device sampling: ${why ?? 'no adapter'}`, 'config');
    const { height: h, width: w, sigma, seed, timings } = job;
    const K = h * w;
    const C = job.segmenter.numClasses;
    const total = phase.total;
    const sel = phase.selected;

    const image = tf.tensor4d(job.image, [1, 3, h, w]);
    const selT = sel ? tf.tensor1d(Int32Array.from(sel), 'int32') : null;
    let acc: tf.Tensor = sel ? tf.zeros([K], 'int32') : tf.zeros([K, C], 'int32');
    let bad: tf.Scalar = tf.scalar(0, 'int32');
    let lastRead = performance.now();
    let readAt = -1;
    let counts: Uint16Array = new Uint16Array(0);
    const checkBad = async () => {
      const nBad = (await bad.data())[0];
      if (nBad > 0) {
        const who = job.denoiser ? 'segmenter or denoiser' : 'segmenter';
        throw new CertsegError(
          `${seg.plan.shown}: the ${who} produced ${nBad} invalid values (NaN/Inf scores or labels outside 0..${C - 1})`,
          'model',
        );
      }
    };
    try {
      let done = 0;
      for (const [b, { first, count }] of phaseBatches(phase.firstSample, total, job.batchSize).entries()) {
        throwIfAborted(job.signal);
        let t0 = performance.now();
        const noise = noiseBatch(this.noise, sigma, seed, first, count, h, w);
        timings.noise += performance.now() - t0;
        let next: [tf.Tensor, tf.Scalar];
        try {
          next = tf.tidy(() => {
            let x = image.add(noise) as tf.Tensor4D; // not clipped: the certificate is for x + ε as drawn
            let badB = tf.scalar(0, 'int32');
            if (den) {
              const t1 = performance.now();
              const d = denoiseT(den, x, sigma);
              x = d.images;
              badB = badB.add(d.bad);
              timings.denoise += performance.now() - t1;
            }
            const t2 = performance.now();
            const s = segmentT(seg, x);
            timings.segment += performance.now() - t2;
            const t3 = performance.now();
            const nextAcc = selT ? addAgreement(acc as tf.Tensor1D, s.labels, selT) : addHistogram(acc as tf.Tensor2D, s.labels);
            timings.count += performance.now() - t3;
            return [nextAcc, bad.add(badB.add(s.bad)) as tf.Scalar];
          });
        } catch (e) {
          // A graph that needs executeAsync (control flow) cannot run inside tidy: use the host loop
          // for the whole run, decided before any sample is counted.
          if (/executeAsync/.test(String((e as Error)?.message)) && phase.firstSample === 0 && b === 0) {
            this.fellBack = true;
            return await hostSampler.run(job, phase);
          }
          throw e;
        } finally {
          noise.dispose();
        }
        acc.dispose();
        bad.dispose();
        [acc, bad] = next;
        done += count;
        t0 = performance.now();
        if ((b + 1) % this.syncEvery === 0)
          await checkBad(); // bounds queued device work, fails early
        else await new Promise((r) => setImmediate(r)); // let cancellation and other messages in
        if (phase.onCounts && (done === total || performance.now() - lastRead >= this.readbackMs)) {
          counts = await readCounts(acc);
          readAt = done;
          lastRead = performance.now();
          phase.onCounts(counts, done);
        }
        timings.count += performance.now() - t0;
      }
      const t0 = performance.now();
      await checkBad();
      if (readAt !== total) counts = await readCounts(acc);
      timings.count += performance.now() - t0;
      return counts.length ? counts : new Uint16Array(sel ? K : K * C);
    } finally {
      image.dispose();
      selT?.dispose();
      acc.dispose();
      bad.dispose();
    }
  }
}
