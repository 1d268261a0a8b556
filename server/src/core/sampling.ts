/**
 * The Monte-Carlo loop shared by both SegCertify phases: noisy copies → (denoiser) → segmenter → labels,
 * batch by batch, from two batch buffers. With the noise thread (noiseThread.ts) the next batch's noise is
 * drawn while the engine works on the current one; without it, on this thread, in series with
 * onnxruntime-node (whose run() blocks the JS thread).
 */
import { CertsegError } from './errors';
import type { DenoiseModel, SegmentModel } from './models';
import { startNoiseRun, type NoiseRun } from './noiseThread';
import { noisyBatch } from './rng';
import { EstimationVotes, SelectionVotes } from './votes';

export interface StageTimings {
  /** noise on the critical path: drawing it (main thread), or waiting for it (noise thread) */
  noise: number;
  denoise: number;
  segment: number;
  count: number;
  /** only when the noise thread ran: the time it spent drawing noise, off the critical path */
  noiseThread?: number;
}

export function emptyTimings(): StageTimings {
  return { noise: 0, denoise: 0, segment: 0, count: 0 };
}

/** S, D: the models' types (engines/engine.ts Segmenter and Denoiser in the pipeline; the core needs only SegmentModel, DenoiseModel). */
export interface SamplingJob<S extends SegmentModel = SegmentModel, D extends DenoiseModel = DenoiseModel> {
  /** NCHW 3×h×w in [0,1] */
  image: Float32Array;
  height: number;
  width: number;
  sigma: number;
  seed: number;
  /** global index of the first sample: selection uses 0..n0-1, estimation n0..n0+n-1 (disjoint streams) */
  firstSample: number;
  total: number;
  batchSize: number;
  segmenter: S;
  denoiser: D | null;
  signal?: AbortSignal;
  timings: StageTimings;
  /** draw noise on the noise thread (noiseThread.ts) when one can start; the values are the same either way */
  noiseThread?: boolean;
  /** the certification's noise schedule on the noise thread (segcertify.ts opens it for both phases); overrides noiseThread */
  noiseAhead?: NoiseAhead;
  /** receives `count` label maps (count × h × w) for samples [done, done+count) */
  onLabels(labels: Uint8Array, count: number, doneAfter: number): void;
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CertsegError('cancelled', 'cancelled', 130);
}

export async function runSamples(job: SamplingJob): Promise<void> {
  if (job.noiseAhead) return runSamplesThreaded(job, job.noiseAhead);
  // no certification-wide schedule (a phase run on its own, or a device sampler's fallback): one for this phase
  const ahead = job.noiseThread ? openNoiseAhead(job.image, job.sigma, job.seed, job.batchSize, [job]) : null;
  if (!ahead) return runSamplesSerial(job);
  await usingNoiseAhead(ahead, () => runSamplesThreaded(job, ahead));
}

/** Noise on the main thread: it cannot overlap with onnxruntime-node's run(), which blocks this thread. */
async function runSamplesSerial(job: SamplingJob): Promise<void> {
  const { image, height: h, width: w, sigma, seed, segmenter, denoiser, timings } = job;
  const batches = phaseBatches(job.firstSample, job.total, job.batchSize);
  const len = image.length;
  const scratch = new Float32Array(len);
  // Two input buffers: one being consumed by the engine, one being filled with the next batch (the first batch is the widest).
  const width = batches[0]?.count ?? 0;
  const buffers = [new Float32Array(width * len), new Float32Array(width * len)];

  const fill = (slot: number, b: { first: number; count: number }) => {
    const t0 = performance.now();
    noisyBatch(image, sigma, seed, b.first, b.count, buffers[slot], scratch);
    timings.noise += performance.now() - t0;
  };

  let done = 0;
  if (batches.length) fill(0, batches[0]);
  for (let k = 0; k < batches.length; k++) {
    throwIfAborted(job.signal);
    const slot = k % 2;
    const { count } = batches[k];
    const input = count === width ? buffers[slot] : buffers[slot].subarray(0, count * len);
    // Kick off the engine, then prepare the next batch before awaiting it (engines whose run() works off
    // this thread overlap the two; onnxruntime-node's does not, see runSamplesThreaded).
    const labelsPromise = infer(input, count, h, w, sigma, segmenter, denoiser, timings);
    if (k + 1 < batches.length) fill(1 - slot, batches[k + 1]);
    const labels = await labelsPromise;
    const t0 = performance.now();
    done += count;
    job.onLabels(labels, count, done);
    timings.count += performance.now() - t0;
  }
}

/** The batches a phase is sampled in: global first sample index and count (the last one may be partial). */
export function phaseBatches(firstSample: number, total: number, batchSize: number): { first: number; count: number }[] {
  const batch = Math.max(1, Math.min(batchSize, total));
  const out: { first: number; count: number }[] = [];
  for (let start = 0; start < total; start += batch) out.push({ first: firstSample + start, count: Math.min(batch, total - start) });
  return out;
}

/**
 * A certification's noise drawn ahead on the noise thread, in the order the phases will take it. The whole
 * schedule is known before sampling starts (selection: samples 0..n0-1, estimation: n0..n0+n-1, in batches),
 * and the noise does not depend on what the selection phase finds, so the thread works across the phase
 * boundary: the estimation phase's first batch is drawn while the selection phase's last one runs, and the
 * first batch while the clean prediction runs when the schedule is opened before it (pipeline/certifyImage.ts).
 * Two batch buffers in flight, as in the serial loop: a buffer given back takes the batch two ahead.
 */
export class NoiseAhead {
  private readonly schedule: { first: number; count: number }[];
  private readonly inFlight: Promise<{ data: Float32Array; count: number; ms: number }>[] = [];
  /** index in `schedule` of the next batch next() hands out, and of the next one to request */
  private taken = 0;
  private requested = 0;

  constructor(
    private readonly run: NoiseRun,
    phases: readonly { firstSample: number; total: number }[],
    batchSize: number,
    len: number,
  ) {
    this.schedule = phases.flatMap((p) => phaseBatches(p.firstSample, p.total, batchSize));
    const width = Math.max(0, ...this.schedule.map((b) => b.count));
    for (let i = 0; i < 2 && this.requested < this.schedule.length; i++) this.request(new Float32Array(width * len));
  }

  /** batches requested from the thread so far (tests: how far ahead it works) */
  get requestedBatches(): number {
    return this.requested;
  }

  private request(into: Float32Array) {
    const { first, count } = this.schedule[this.requested++];
    const p = this.run.fill(into, first, count).then((r) => ({ data: r.data, count, ms: r.ms }));
    p.catch(() => {}); // a run that stops early (cancel, error) leaves its requests unawaited
    this.inFlight.push(p);
  }

  /** The noisy batch starting at global sample `first`: must be the schedule's next one. */
  async next(first: number, count: number): Promise<{ data: Float32Array; count: number; ms: number }> {
    const want = this.schedule[this.taken];
    if (!want || want.first !== first || want.count !== count)
      throw new Error(
        `noise schedule out of step: asked for samples ${first}+${count}, next is ${want ? `${want.first}+${want.count}` : 'none'}`,
      );
    this.taken++;
    return this.inFlight.shift()!;
  }

  /** A batch's buffer is free again (its labels are in): it takes the next batch not yet requested. */
  release(data: Float32Array) {
    if (this.requested < this.schedule.length) this.request(data);
  }

  /** Frees the thread's copy of the image. Call once, when the certification ends (or fails). */
  close() {
    this.run.close();
  }
}

/** A schedule on the process's noise thread, or null when no thread can start (the caller draws noise itself). */
export function openNoiseAhead(
  image: Float32Array,
  sigma: number,
  seed: number,
  batchSize: number,
  phases: readonly { firstSample: number; total: number }[],
): NoiseAhead | null {
  const run = startNoiseRun(image, sigma, seed);
  return run && new NoiseAhead(run, phases, batchSize, image.length);
}

/** f's result, with `ahead` closed once f settles, however it ends (null: nothing to close). */
export async function usingNoiseAhead<T>(ahead: NoiseAhead | null, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } finally {
    ahead?.close();
  }
}

/**
 * Noise on the noise thread (noiseThread.ts): while the engine runs batch k from one buffer, the thread
 * fills the other with batch k+1, across phase boundaries (NoiseAhead). timings.noise is then only the time
 * this loop waited for noise; timings.noiseThread what the thread spent on the batches this loop took.
 */
async function runSamplesThreaded(job: SamplingJob, ahead: NoiseAhead): Promise<void> {
  const { height: h, width: w, sigma, segmenter, denoiser, timings } = job;
  const len = job.image.length;
  timings.noiseThread ??= 0;
  let done = 0;
  for (const b of phaseBatches(job.firstSample, job.total, job.batchSize)) {
    throwIfAborted(job.signal);
    const t0 = performance.now();
    const { data, count, ms } = await ahead.next(b.first, b.count);
    timings.noise += performance.now() - t0;
    timings.noiseThread += ms;
    const input = data.length === count * len ? data : data.subarray(0, count * len);
    const labels = await infer(input, count, h, w, sigma, segmenter, denoiser, timings); // the thread fills the other buffer meanwhile
    const t1 = performance.now();
    done += count;
    job.onLabels(labels, count, done);
    timings.count += performance.now() - t1;
    ahead.release(data);
  }
}

async function infer(
  input: Float32Array,
  count: number,
  h: number,
  w: number,
  sigma: number,
  segmenter: SegmentModel,
  denoiser: DenoiseModel | null,
  timings: StageTimings,
): Promise<Uint8Array> {
  let x = input;
  if (denoiser) {
    const t0 = performance.now();
    x = await denoiser.denoise(input, count, h, w, sigma);
    timings.denoise += performance.now() - t0;
  }
  const t1 = performance.now();
  const labels = await segmenter.segment(x, count, h, w);
  timings.segment += performance.now() - t1;
  return labels;
}

/** Where the Monte-Carlo loop ran: 'host' (this file: JS noise, labels read back, JS counting) or 'device' (engines/deviceSampler.ts). */
export type SamplingPath = 'host' | 'device';

/** What both phases share (a SamplingJob without the phase-specific fields). */
export type SamplerJob<S extends SegmentModel = SegmentModel, D extends DenoiseModel = DenoiseModel> = Omit<
  SamplingJob<S, D>,
  'firstSample' | 'total' | 'onLabels'
>;

export interface SamplerPhase {
  /** global index of the first sample (selection 0, estimation n0) and number of samples */
  firstSample: number;
  total: number;
  /** null: selection phase, counts are the per-pixel class histogram K×C (row-major);
   *  else the estimation phase, counts are the per-pixel votes for selected[i] (K) */
  selected: Uint8Array | null;
  /**
   * Counts so far after `done` samples (the array may be reused: copy what you keep). The host sampler
   * calls it after every batch; a device sampler only every so often, since each call costs a read-back.
   */
  onCounts?(counts: Uint16Array, done: number): void;
}

/**
 * One Monte-Carlo phase from noisy copies to per-pixel counts. SegCertify keeps all statistics; a
 * sampler only decides where noise, inference and counting happen. Implementations must give fresh,
 * seeded noise per global sample index (independent of the batch size) and never keep label maps.
 */
export interface Sampler<S extends SegmentModel = SegmentModel, D extends DenoiseModel = DenoiseModel> {
  readonly path: SamplingPath;
  run(job: SamplerJob<S, D>, phase: SamplerPhase): Promise<Uint16Array>;
}

/** The CPU loop above with the JS vote counters of votes.ts. */
export const hostSampler: Sampler = {
  path: 'host',
  async run(job, phase) {
    const K = job.height * job.width;
    const sel = phase.selected;
    const votes = sel ? new EstimationVotes(sel) : new SelectionVotes(K, job.segmenter.numClasses);
    const counts = votes instanceof EstimationVotes ? votes.counts : votes.votes;
    await runSamples({
      ...job,
      firstSample: phase.firstSample,
      total: phase.total,
      onLabels: (labels, count, done) => {
        votes.add(labels, count);
        phase.onCounts?.(counts, done);
      },
    });
    return counts;
  },
};
