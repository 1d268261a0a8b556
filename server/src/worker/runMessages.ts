/**
 * Messages between the worker process's JSON-RPC loop (runProcess.ts) and a run process (runChild.ts).
 * A job goes in as an IPC message; progress, partial results, log lines and the result (or error) come back
 * the same way. The process then waits for the next job (kept warm) or exits when idle.
 */
import type { ProgressEvent } from '../pipeline/types';
import type {
  CertifyImageResultWire,
  ConfigOverrides,
  ConsistencyResultWire,
  DatasetSummaryWire,
  EngineInfoResult,
  PartialResultWire,
  RecertifyParams,
  SliceSpecWire,
} from '../../../protocol/messages';
import type { ImageReport } from '../../../protocol/results';

export type RunJob =
  | {
      kind: 'certifyImage';
      imagePath: string;
      /** the plane of a volume (NIfTI 3-D, multi-frame DICOM) */
      slice: SliceSpecWire | null;
      maskPath: string | null;
      configPath: string | null;
      overrides: ConfigOverrides;
      outDir: string | null;
      partialIntervalMs: number;
      /** stream partial results at all (the client asked for them) */
      partials: boolean;
    }
  | {
      kind: 'certifyDataset';
      dir: string;
      outDir: string;
      configPath: string | null;
      overrides: ConfigOverrides;
      limit?: number;
      resume?: boolean;
    }
  | { kind: 'recertify'; dir: string; params: Omit<RecertifyParams, 'dir'> }
  | {
      kind: 'consistency';
      imagePath: string;
      slice: SliceSpecWire | null;
      configPath: string | null;
      overrides: ConfigOverrides;
      cropSelection: number | null;
    }
  | { kind: 'engineInfo' };

export type RunKind = RunJob['kind'];

/** What each kind of job answers with. */
export interface RunResults {
  certifyImage: CertifyImageResultWire;
  certifyDataset: DatasetSummaryWire;
  recertify: ImageReport;
  consistency: ConsistencyResultWire;
  engineInfo: EngineInfoResult;
}
export type RunResult = RunResults[RunKind];

export type RunMessage =
  | { type: 'progress'; event: ProgressEvent }
  | { type: 'partial'; partial: PartialResultWire }
  | { type: 'log'; level: 'log' | 'info' | 'warn' | 'error'; text: string }
  | { type: 'result'; result: RunResult }
  | { type: 'error'; certseg: boolean; code: string; message: string; stack?: string };
