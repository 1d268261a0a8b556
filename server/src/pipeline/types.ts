import type { IntensityWindow, SliceSpec } from '../image/medical';
/**
 * The API the CLI and the worker process both call. Everything here is plain data (typed arrays and
 * JSON-able objects) so it crosses a worker_thread boundary and JSON-RPC unchanged.
 */
import type { ResolvedConfig } from '../config/types';
import type { SegMetrics } from '../core/metrics';
import type { ProvisionalThresholds } from '../core/provisional';

export type Phase = 'load' | 'clean' | 'selection' | 'estimation' | 'stats' | 'write';

export interface ProgressEvent {
  phase: Phase;
  /** samples (or steps) done in this phase, and its total */
  done: number;
  total: number;
  /** 0..100 over the whole run */
  percent: number;
  message: string;
}

/** Streamed while samples arrive so a viewer can sharpen the overlay. */
export interface PartialResult {
  width: number;
  height: number;
  phase: Phase;
  samplesDone: number;
  /** the class chosen so far per pixel (selection phase: running mode of the n0 samples) */
  selected: Uint8Array;
  /** estimation phase: votes for the selected class so far (0 during selection) */
  counts: Uint16Array;
  /** estimation phase: the pixels whose votes already reach the final certification threshold */
  certifiedSoFar: Uint8Array | null;
  /** samples of this phase (n0 or n) */
  samplesTotal: number;
  /** estimation phase: the integer thresholds that decide a pixel before the end (core/provisional.ts) */
  thresholds: ProvisionalThresholds | null;
}

export interface RunHooks {
  signal?: AbortSignal;
  onProgress?(e: ProgressEvent): void;
  onPartial?(p: PartialResult): void;
  /** minimum ms between partial results (default 250) */
  partialIntervalMs?: number;
  /** one-line notices before sampling starts (memory plan, a model's working shape, a stretch warning) */
  onNotice?(message: string): void;
}

export interface CertifyImageRequest {
  imagePath: string;
  maskPath?: string | null;
  config: ResolvedConfig;
  /** write report.json, overlays and .npy files here; nothing is written when omitted */
  outDir?: string | null;
  /** the slice of a volume (NIfTI, multi-frame DICOM) */
  slice?: SliceSpec | null;
}

/** A report's metric block: per class, null where undefined (class absent in both prediction and ground truth). */
export type MetricBlock = SegMetrics;

/** report.json (docs/report.schema.json). Versioned: bump reportVersion on breaking changes. */
/** Where one model saw the image: its input tensor's size, how the image got there, and the image's part of it. */
export interface WorkingShapeReport {
  width: number;
  height: number;
  how: 'native' | 'scaled' | 'resized' | 'stretch' | 'letterbox';
  inner: { top: number; left: number; width: number; height: number };
  distortion: number;
  note: string;
}

export interface ImageReport {
  reportVersion: 1;
  kind: 'certify' | 'recertify';
  /** true for re-certified results: the test was re-applied to stored counts with new parameters */
  exploratory: boolean;
  /** intensity: DICOM/NIfTI only, the window that mapped real intensities to the model's [0,1] input (σ's scale) */
  image: { path: string; width: number; height: number; sha256: string; intensity?: IntensityWindow };
  mask: { path: string } | null;
  /** the *.certseg.json the run used (absolute), null for the shipped defaults; absent in results written before it was recorded */
  config?: string | null;
  params: {
    sigma: number; n0: number; n: number; alpha: number; tau: number;
    correction: 'holm' | 'bonferroni';
    denoiser: { card: string; convention: 'carlini' | 'miccai'; timestep: number | null } | null;
    seed: number; batchSize: number;
  };
  classes: { name: string; color: string }[];
  /** σ·Φ⁻¹(τ): one L2 radius for every certified pixel */
  radius: number;
  abstainRate: number;
  /** robust inference by crop selection: the certified crop (abstainRate and counts refer to it); null = whole frame */
  crop: {
    y: number; x: number; height: number; width: number; window: number;
    notCoveredRate: number;
    /** bound on the probability that a one-pixel shift selects other content (uniform-argmax assumption) */
    onePixelShiftBound: number;
    note: string;
  } | null;
  /**
   * The memory plan (pipeline/memoryPlan.ts): where each model saw the image and the samples per batch that ran
   * (params.batchSize is the config's). Absent in results written before it was recorded.
   */
  working?: {
    budgetMiB: number;
    estimatedPeakMiB: number;
    batchSize: number;
    limitedBy: 'nothing' | 'batch' | 'resolution';
    segmenter: WorkingShapeReport;
    denoiser: WorkingShapeReport | null;
  };
  /** smallest vote count (of n) that was certified; n+1 when none */
  minCertifiedCount: number;
  certifiedPixels: number;
  clean: MetricBlock | null;
  certified: MetricBlock | null;
  timings: { noise: number; denoise: number; segment: number; count: number; stats: number; total: number };
  provenance: {
    segmenter: { card: string; sha256: string; engine: string; backend: string; device: string };
    denoiser: { card: string; sha256: string; engine: string; backend: string; device: string } | null;
    /** where the Monte-Carlo loop ran: 'device' (tfjs tensor ops, only counts read back) or 'host' */
    sampling?: 'device' | 'host';
    certsegVersion: string; node: string; platform: string; date: string;
  };
  files: Record<string, string>;
}

export interface CertifyImageResult {
  report: ImageReport;
  width: number;
  height: number;
  /** clean (σ = 0) prediction */
  clean: Uint8Array;
  /** class chosen from the n0 selection samples */
  selected: Uint8Array;
  /** votes for the selected class among the n estimation samples */
  counts: Uint16Array;
  /** selected class where certified, else ABSTAIN */
  certified: Uint8Array;
  /** per-pixel Clopper-Pearson radius (0 = abstain), when config.radiusMap */
  radiusMap: Float32Array | null;
  /** ground truth, when a mask was given */
  mask: Uint8Array | null;
}
