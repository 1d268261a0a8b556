/**
 * The result shapes, defined once: what the pipeline returns and writes (report.json, summary.json), what the
 * worker answers over JSON-RPC and what the webviews show. Plain JSON-able data only. The server's modules
 * (pipeline/types.ts, core/metrics.ts, image/medical.ts, engines/engine.ts, pipeline/datasetSummary.ts) use
 * these types; nothing here imports the server.
 */

/** The phases of a certification run (progress messages, partial results). */
export type Phase = 'load' | 'clean' | 'selection' | 'estimation' | 'stats' | 'write';

export type SliceAxis = 'x' | 'y' | 'z';
/** One plane of a volume: axis x, y or z, index from 0 (the CLI's `--slice z:40`). */
export interface SliceSpec {
  axis: SliceAxis;
  index: number;
}

/** DICOM/NIfTI: the window that mapped real intensities to the model's [0,1] input. */
export interface IntensityWindow {
  format: 'dicom' | 'nifti';
  /** where the window came from */
  source: 'dicom' | 'percentile';
  center: number;
  width: number;
  photometric: string | null;
  /** the slice certified, for volumes */
  slice: SliceSpec | null;
}

/** Segmentation metrics of one prediction against the ground truth (core/metrics.ts computes them). */
export interface SegMetrics {
  /** Correct non-abstained / non-ignored pixels (certified pixel accuracy). */
  pixelAccuracy: number;
  /** Abstained / all pixels (ignored ones included). */
  abstainRate: number;
  iou: (number | null)[];
  dice: (number | null)[];
  meanIoU: number | null;
  meanDice: number | null;
}

/** A report's metric block: per class, null where undefined (class absent in both prediction and ground truth). */
export type MetricBlock = SegMetrics;

/** The integer thresholds that decide a pixel before the end of the estimation phase (core/provisional.ts). */
export interface ProvisionalThresholds {
  /** estimation samples of the run */
  n: number;
  /** votes at or above this: certified by the final decision (n + 1 if no count is) */
  certainAt: number;
  /** a final count below this is never certified (n + 1 if no count is) */
  reachableAt: number;
}

export type EngineName = 'onnx' | 'tfjs';
export type EnginePreference = 'auto' | EngineName;

/** Which inference engine runs a model, and where. */
export interface EngineInfo {
  engine: EngineName;
  /** e.g. 'cuda', 'cpu' (onnx); 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu' (tfjs) */
  backend: string;
  device: 'gpu' | 'cpu';
  /** version of the runtime package */
  version: string;
  /** ONNX Runtime only: the session options chosen for this model (engines/onnx.ts), recorded in the report's provenance */
  session?: OrtSessionRecord;
}

/** One model in a report's provenance. */
export interface ModelProvenance {
  card: string;
  sha256: string;
  engine: string;
  backend: string;
  device: string;
  /** the ONNX Runtime session options (absent for TF.js, and in results written before they were recorded) */
  session?: OrtSessionRecord;
  /**
   * Where the card's pre/post-processing ran during sampling (host loop only): 'graph' = composed with the model
   * into one ONNX graph run by ONNX Runtime (the default; CERTSEG_ORT_COMPOSE=0 turns it off; engines/compose.ts), 'adapters' = in JavaScript
   * (engines/adapt.ts), 'graph+adapters' = some batches each way. Absent with the device loop and in older results.
   */
  processing?: 'graph' | 'adapters' | 'graph+adapters';
}

/** The ONNX Runtime session options a model ran with, and whether its optimized graph came from the cache. */
export interface OrtSessionRecord {
  /** 0: ONNX Runtime's default (one thread per physical core) */
  intraOpNumThreads: number;
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  enableCpuMemArena: boolean;
  executionMode: 'sequential' | 'parallel';
  /** whether the intra-op threads spin-wait between parallel sections (absent in results written before it was recorded) */
  allowSpinning?: boolean;
  /**
   * ORT's optimized-model cache (optimizedModelFilePath, keyed by the model file's SHA-256, ORT version, execution
   * provider, optimization level and CPU): hit = the session was created from the cached optimized graph (with
   * graph optimizations off: they are already applied); miss = optimized now and saved; off = not cached (no
   * writable cache folder, or caching disabled).
   */
  optimizedModelCache: 'hit' | 'miss' | 'off';
}

/** Where one model saw the image: its input tensor's size, how the image got there, and the image's part of it. */
export interface WorkingShapeReport {
  width: number;
  height: number;
  how: 'native' | 'scaled' | 'resized' | 'stretch' | 'letterbox';
  inner: { top: number; left: number; width: number; height: number };
  distortion: number;
  note: string;
}

/** report.json (docs/report.schema.json). Versioned: bump reportVersion on breaking changes. */
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
    sigma: number;
    n0: number;
    n: number;
    alpha: number;
    tau: number;
    correction: 'holm' | 'bonferroni';
    denoiser: { card: string; convention: 'carlini' | 'miccai'; timestep: number | null } | null;
    seed: number;
    batchSize: number;
  };
  classes: { name: string; color: string }[];
  /** σ·Φ⁻¹(τ): one L2 radius for every certified pixel */
  radius: number;
  abstainRate: number;
  /** robust inference by crop selection: the certified crop (abstainRate and counts refer to it); null = whole frame */
  crop: {
    y: number;
    x: number;
    height: number;
    width: number;
    window: number;
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
  /**
   * warmUp: the models' warm-up runs on zeros (engines/warmUp.ts), 0 when already warm; absent in results written before it was recorded.
   * With the composed denoiser+segmenter graph (provenance.denoiser.processing 'graph') the denoiser's time is inside segment.
   * noiseThread: only when the noise thread ran, the time it spent drawing noise off the critical path (noise is then the time the loop waited for it).
   */
  timings: {
    noise: number;
    denoise: number;
    segment: number;
    count: number;
    stats: number;
    warmUp?: number;
    noiseThread?: number;
    total: number;
  };
  provenance: {
    /** session: the ONNX Runtime session options (absent for TF.js, and in results written before they were recorded) */
    segmenter: ModelProvenance;
    denoiser: ModelProvenance | null;
    /** where the Monte-Carlo loop ran: 'device' (tfjs tensor ops, only counts read back) or 'host' */
    sampling?: 'device' | 'host';
    /** host loop only: noise drawn on the noise thread while the engine ran, or on the main thread (same values) */
    noise?: 'thread' | 'main';
    certsegVersion: string;
    node: string;
    platform: string;
    date: string;
  };
  files: Record<string, string>;
}

/** summary.json of a dataset run (pipeline/datasetSummary.ts); the result of certseg/certifyDataset. */
export interface DatasetSummary {
  summaryVersion: 1;
  dataset: string;
  images: number;
  withMask: number;
  params: ImageReport['params'] | null;
  radius: number | null;
  /** metrics pooled over all pixels (one confusion matrix) and averaged over images (as the MICCAI paper) */
  clean: { pooled: MetricBlock; meanOverImages: MetricBlock } | null;
  certified: { pooled: MetricBlock; meanOverImages: MetricBlock } | null;
  abstainRate: { pooled: number; meanOverImages: number };
  /** pixel-level certified accuracy at radius r (Clopper-Pearson per-pixel radii), pooled */
  accuracyVsRadius: { radius: number; accuracy: number }[];
  perImage: {
    id: string;
    dir: string;
    abstainRate: number;
    cleanDice: number | null;
    certifiedDice: number | null;
    certifiedPixelAccuracy: number | null;
    totalMs: number;
  }[];
  /** a merged run: totalMs sums the shards' times; `shards` says where and how long each ran */
  timings: { totalMs: number; meanPerImageMs: number; shards?: { index: number; host: string; totalMs: number; status: string }[] };
  files: Record<string, string>;
  /** merge --allow-partial: the images that are missing from this summary */
  partial?: { missing: string[]; note: string };
}
