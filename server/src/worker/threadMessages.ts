/**
 * Messages between the worker process's JSON-RPC loop (server.ts) and a run process (runThread.ts).
 * One process per run: the job goes in as the first IPC message, messages come back the same way, and it
 * ends with the run, so its memory (models, sample buffers) returns to the OS.
 */
import type { ProgressEvent } from '../pipeline/types';
import type {
  CertifyDatasetParams,
  CertifyImageResultWire,
  ConfigOverrides,
  ConsistencyResultWire,
  DatasetSummaryWire,
  EngineInfoResult,
  PartialResultWire,
  RecertifyParams,
  SliceSpecWire,
} from '../../../protocol/messages';
import type { ImageReport } from '../pipeline/types';

export type ThreadJob =
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
  | { kind: 'consistency'; imagePath: string; slice: SliceSpecWire | null; configPath: string | null; overrides: ConfigOverrides; cropSelection: number | null }
  | { kind: 'engineInfo' };

export type ThreadResult = CertifyImageResultWire | ConsistencyResultWire | DatasetSummaryWire | ImageReport | EngineInfoResult;

export type ThreadMessage =
  | { type: 'progress'; event: ProgressEvent }
  | { type: 'partial'; partial: PartialResultWire }
  | { type: 'log'; level: 'log' | 'info' | 'warn' | 'error'; text: string }
  | { type: 'result'; result: ThreadResult }
  | { type: 'error'; certseg: boolean; code: string; message: string; stack?: string };

export type { CertifyDatasetParams };
