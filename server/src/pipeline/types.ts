/**
 * The API the CLI and the worker process both call. Everything here is plain data (typed arrays and
 * JSON-able objects) so it crosses a worker_thread boundary and JSON-RPC unchanged.
 */
import type { ResolvedConfig } from '../config/types';

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
}

export interface RunHooks {
  signal?: AbortSignal;
  onProgress?(e: ProgressEvent): void;
  onPartial?(p: PartialResult): void;
  /** minimum ms between partial results (default 250) */
  partialIntervalMs?: number;
}

export interface CertifyImageRequest {
  imagePath: string;
  maskPath?: string | null;
  config: ResolvedConfig;
  /** write report.json, overlays and .npy files here; nothing is written when omitted */
  outDir?: string | null;
}
