/**
 * SegCertify (Fischer et al. 2021) with streaming counts, exactly as in ../shared/notes/algorithms.md §2:
 *   ĉ_i  = mode of pixel i over n0 selection samples (ties: lowest class id)
 *   k_i  = votes for ĉ_i over n further, independent estimation samples
 *   p_i  = P[Binomial(n, τ) ≥ k_i]; Holm/Bonferroni at family-wise level α over all K pixels
 *   pixel i = ĉ_i if rejected else ABSTAIN; radius R = σ·Φ⁻¹(τ) for every certified pixel.
 */
import { CertsegError } from './errors';
import { ABSTAIN } from './labels';
import type { DenoiseModel, SegmentModel } from './models';
import { certifyFromCounts, clopperPearsonRadiusMap } from './multipleTesting';
import type { Correction } from '../../../protocol/config';
import { certifiedRadius } from './stats';
import { provisionalThresholds } from './provisional';
import type { ProvisionalThresholds } from '../../../protocol/results';
import { assertFeasible } from './feasibility';
import {
  emptyTimings,
  hostSampler,
  openNoiseAhead,
  throwIfAborted,
  usingNoiseAhead,
  type NoiseAhead,
  type Sampler,
  type SamplingPath,
  type StageTimings,
} from './sampling';
import { modeOf } from './votes';
import { noiseThreadWanted } from './noiseThread';

/** The statistical part of a config (config/types.ts ResolvedConfig has these fields): the core takes exactly these. */
export interface SegCertifyParams {
  sigma: number;
  n0: number;
  n: number;
  tau: number;
  alpha: number;
  correction: Correction;
  batchSize: number;
  seed: number;
  radiusMap: boolean;
}

/** The per-pixel state of a run so far, for partial results. */
export interface SegCertifySnapshot {
  selected: Uint8Array;
  /** estimation votes so far (null in the selection phase) */
  counts: Uint16Array | null;
  /** pixels whose votes already reach the Bonferroni threshold: certified whatever the remaining samples */
  certifiedSoFar: Uint8Array | null;
  /** estimation: the run's thresholds that decide a pixel early (core/provisional.ts); null in selection */
  thresholds: ProvisionalThresholds | null;
}

export interface SegCertifyProgress {
  phase: 'selection' | 'estimation';
  done: number;
  total: number;
  /**
   * Computes the per-pixel maps (O(K·C)) only when asked, so a consumer that shows progress alone costs
   * the sampling loop nothing. Call it inside onProgress: the arrays are reused by the run.
   */
  snapshot(): SegCertifySnapshot;
}
export interface SegCertifyOutput {
  selected: Uint8Array;
  counts: Uint16Array;
  certified: Uint8Array;
  minCount: number;
  certifiedPixels: number;
  radius: number;
  radiusMap: Float32Array | null;
  timings: StageTimings & { stats: number };
  /** which Monte-Carlo loop ran */
  sampling: SamplingPath;
  /** where the host loop drew its noise ('thread': noiseThread.ts); absent when the host loop did not run */
  noise?: 'thread' | 'main';
}

export interface SegCertifyInput<S extends SegmentModel = SegmentModel, D extends DenoiseModel = DenoiseModel> {
  image: Float32Array;
  height: number;
  width: number;
  segmenter: S;
  denoiser: D | null;
  params: SegCertifyParams;
  signal?: AbortSignal;
  /** called after every batch (host sampler) or every few batches (device sampler); the caller throttles what it forwards */
  onProgress?(p: SegCertifyProgress): void;
  /** where noise, inference and counting run; default: the host loop (core/sampling.ts) */
  sampler?: Sampler<S, D>;
  /** host loop: draw noise on the noise thread (same values); default CERTSEG_NOISE_THREAD (noiseThread.ts) */
  noiseThread?: boolean;
  /**
   * host loop: a noise schedule for both phases opened by the caller (openNoiseAhead with noisePhases(params)), so
   * that the thread draws the first batch during the caller's clean prediction; the caller closes it. Without it,
   * segCertify opens one itself when the noise thread is on.
   */
  noiseAhead?: NoiseAhead;
}

/** The two phases' samples, for openNoiseAhead: selection 0..n0-1, estimation n0..n0+n-1 (disjoint streams). */
export function noisePhases(p: Pick<SegCertifyParams, 'n0' | 'n'>): { firstSample: number; total: number }[] {
  return [
    { firstSample: 0, total: p.n0 },
    { firstSample: p.n0, total: p.n },
  ];
}

export async function segCertify<S extends SegmentModel, D extends DenoiseModel>(input: SegCertifyInput<S, D>): Promise<SegCertifyOutput> {
  const { image, height: h, width: w, params: p } = input;
  // Say before sampling when not even a unanimous pixel could pass the test.
  assertFeasible(p.n, p.tau, p.alpha, h * w, p.correction);
  for (const [what, v] of [
    ['n0', p.n0],
    ['n', p.n],
  ] as const) {
    if (v > 0xffff) throw new CertsegError(`${what} must be at most 65535`, 'config'); // counts are 16-bit
  }
  const noiseThread = input.noiseThread ?? noiseThreadWanted();
  const sampler: Sampler<S, D> = input.sampler ?? hostSampler;
  const opened =
    !input.noiseAhead && noiseThread && sampler.path === 'host'
      ? openNoiseAhead(image, p.sigma, p.seed, p.batchSize, noisePhases(p))
      : null;
  return usingNoiseAhead(opened, () => certify(input, sampler, { noiseThread, noiseAhead: input.noiseAhead ?? opened ?? undefined }));
}

async function certify<S extends SegmentModel, D extends DenoiseModel>(
  input: SegCertifyInput<S, D>,
  sampler: Sampler<S, D>,
  noise: { noiseThread: boolean; noiseAhead?: NoiseAhead },
): Promise<SegCertifyOutput> {
  const { image, height: h, width: w, segmenter, denoiser, params: p, signal } = input;
  const K = h * w;
  const timings = emptyTimings();
  const job = {
    image,
    height: h,
    width: w,
    sigma: p.sigma,
    seed: p.seed,
    batchSize: p.batchSize,
    segmenter,
    denoiser,
    signal,
    timings,
    ...noise,
  };
  const C = segmenter.numClasses;

  const selected = new Uint8Array(K);
  const histogram = await sampler.run(job, {
    firstSample: 0,
    total: p.n0,
    selected: null,
    onCounts: input.onProgress
      ? (votes, done) => {
          const snapshot = () => ({ selected: modeOf(votes, K, C, selected), counts: null, certifiedSoFar: null, thresholds: null });
          input.onProgress!({ phase: 'selection', done, total: p.n0, snapshot });
        }
      : undefined,
  });
  modeOf(histogram, K, C, selected);

  // Votes only grow, and Holm rejects everything Bonferroni rejects, so a pixel at the Bonferroni
  // threshold is final: partial results may show it as certified already (core/provisional.ts).
  const thresholds = provisionalThresholds(p.n, p.tau, p.alpha, K, p.correction);
  const sure = thresholds.certainAt;
  const soFar = new Uint8Array(K);
  const counts = await sampler.run(job, {
    firstSample: p.n0, // disjoint noise streams from the selection samples
    total: p.n,
    selected,
    onCounts: input.onProgress
      ? (k, done) => {
          const snapshot = () => {
            for (let i = 0; i < K; i++) soFar[i] = k[i] >= sure ? selected[i] : ABSTAIN;
            return { selected, counts: k, certifiedSoFar: soFar, thresholds };
          };
          input.onProgress!({ phase: 'estimation', done, total: p.n, snapshot });
        }
      : undefined,
  });
  throwIfAborted(signal);

  const t0 = performance.now();
  const test = certifyFromCounts(selected, counts, p.n, p.tau, p.alpha, p.correction);
  const radiusMap = p.radiusMap ? clopperPearsonRadiusMap(counts, p.n, p.alpha / K, p.sigma) : null;
  const stats = performance.now() - t0;
  return {
    selected,
    counts,
    certified: test.certified,
    minCount: test.minCount,
    certifiedPixels: test.rejected,
    radius: certifiedRadius(p.sigma, p.tau),
    radiusMap,
    timings: { ...timings, stats },
    sampling: sampler.path,
    ...(sampler.path === 'host' ? { noise: timings.noiseThread !== undefined ? ('thread' as const) : ('main' as const) } : {}),
  };
}
