/**
 * The API the CLI and the worker process both call. Everything here is plain data (typed arrays and
 * JSON-able objects) so it crosses a worker_thread boundary and JSON-RPC unchanged.
 */
import type { ResolvedConfig } from '../config/types';
import type { ImageReport, Phase, ProvisionalThresholds, SliceSpec } from '../../../protocol/results';

export type { Phase } from '../../../protocol/results';

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

export type { MetricBlock, WorkingShapeReport, ImageReport } from '../../../protocol/results';

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
