/**
 * The ONE module of custom messages between the extension (client) and the certseg worker (language
 * server). Both sides import it; docs/protocol.md documents every message (a test keeps them in sync).
 *
 * Conventions
 * - Every message is a namespace with a literal `method` and a `type` built with
 *   vscode-languageserver-protocol's ProtocolRequestType / NotificationType.
 * - Typed arrays do not survive JSON. Every per-pixel array crosses the wire as an {@link EncodedArray}:
 *   the array's raw little-endian bytes in base64 (row-major, width × height). That is 1.33 bytes per
 *   byte (a 512×512 label map is 350 kB), much smaller than a JSON number array, and decodes without
 *   parsing. Use {@link encodeArray} / {@link decodeArray}.
 * - Runs (certifyImage, certifyDataset, recertify, consistency) go through ONE queue in the worker: one run at a time,
 *   the others wait (reported by {@link QueueStatusNotification}). Each run executes in its own child
 *   process; cancelling the request ($/cancelRequest) kills that process and the request fails with
 *   LSPErrorCodes.RequestCancelled (-32800).
 * - A user-facing failure (bad image, bad config, missing model) fails the request with code
 *   {@link CertsegErrorCodes.UserError} and a one-line `message` that can be shown as is; `data.code` is
 *   the CertsegError code ('input' | 'config' | 'model' | 'infeasible').
 */
import {
  NotificationType,
  ProtocolRequestType,
  ProtocolRequestType0,
  type PartialResultParams,
  type WorkDoneProgressOptions,
  type WorkDoneProgressParams,
} from 'vscode-languageserver-protocol';
import type { ConfigOverrides } from './config';
import type { DatasetSummary, EngineInfo, ImageReport, Phase, ProvisionalThresholds, SliceSpec } from './results';

export type { ConfigOverrides } from './config';

// ---------------------------------------------------------------------------------------------------
// Encoding of per-pixel arrays
// ---------------------------------------------------------------------------------------------------

export type DType = 'uint8' | 'uint16' | 'float32';
type ArrayOf<D extends DType> = D extends 'uint8' ? Uint8Array : D extends 'uint16' ? Uint16Array : Float32Array;

/** A typed array on the wire: its raw little-endian bytes, base64. `length` counts elements. */
export interface EncodedArray<D extends DType = DType> {
  dtype: D;
  length: number;
  base64: string;
}

const BYTES: Record<DType, number> = { uint8: 1, uint16: 2, float32: 4 };

function dtypeOf(a: Uint8Array | Uint16Array | Float32Array): DType {
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Uint16Array) return 'uint16';
  return 'float32';
}

/** Encodes a typed array (Node side: uses Buffer; all supported platforms are little-endian). */
export function encodeArray<A extends Uint8Array | Uint16Array | Float32Array>(a: A): EncodedArray {
  return { dtype: dtypeOf(a), length: a.length, base64: Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64') };
}

/** Decodes an {@link EncodedArray} into a fresh, aligned typed array. Throws on a length mismatch. */
export function decodeArray<D extends DType>(e: EncodedArray<D>): ArrayOf<D> {
  const bytes = Buffer.from(e.base64, 'base64');
  const n = BYTES[e.dtype];
  if (bytes.length !== e.length * n) throw new Error(`encoded ${e.dtype} array: ${bytes.length} bytes for ${e.length} elements`);
  const copy = new ArrayBuffer(bytes.length);
  new Uint8Array(copy).set(bytes);
  const out = e.dtype === 'uint8' ? new Uint8Array(copy) : e.dtype === 'uint16' ? new Uint16Array(copy) : new Float32Array(copy);
  return out as ArrayOf<D>;
}

/** A wire shape with its {@link EncodedArray} fields decoded to typed arrays (what the host hands the webviews). */
export type Decoded<T> = {
  [K in keyof T]: T[K] extends EncodedArray<infer D> ? ArrayOf<D> : T[K] extends EncodedArray<infer D> | null ? ArrayOf<D> | null : T[K];
};

// ---------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------

export namespace CertsegErrorCodes {
  /** A CertsegError: `message` is one line meant for the user; `data.code` is CertsegError.code. */
  export const UserError = -32001;
  /** An unexpected failure inside a run (a bug or a crashed run process); `message` says what. */
  export const InternalRunError = -32002;
}

// ---------------------------------------------------------------------------------------------------
// Shared parameter pieces
// ---------------------------------------------------------------------------------------------------

export interface RunConfigParams {
  /** absolute path of a `*.certseg.json`; null/absent = shipped defaults (models/default) */
  configPath?: string | null;
  overrides?: ConfigOverrides;
}

// ---------------------------------------------------------------------------------------------------
// certseg/certifyImage
// ---------------------------------------------------------------------------------------------------

export interface CertifyImageParams extends RunConfigParams, WorkDoneProgressParams, PartialResultParams {
  /** absolute path of the image (png, jpg, bmp, tif; DICOM .dcm, NIfTI .nii/.nii.gz) */
  imagePath: string;
  /** the slice of a volume to certify (NIfTI 3-D, multi-frame DICOM), as the CLI's --slice; required for volumes */
  slice?: SliceSpecWire | null;
  /** absolute path of a ground-truth mask: metrics and error overlay */
  maskPath?: string | null;
  /** write report.json, overlays and arrays here (absolute); nothing written when absent */
  outDir?: string | null;
  /** minimum ms between partial results (default 250) */
  partialIntervalMs?: number;
}

/** A {@link PartialResult} on the wire: streamed via `$/progress` on `partialResultToken`. */
export interface PartialResultWire {
  width: number;
  height: number;
  phase: Phase;
  samplesDone: number;
  selected: EncodedArray<'uint8'>;
  counts: EncodedArray<'uint16'>;
  certifiedSoFar: EncodedArray<'uint8'> | null;
  /** samples of this phase (n0 in selection, n in estimation) */
  samplesTotal: number;
  /**
   * estimation only (null in selection): a pixel with counts ≥ certainAt is certified by the final decision;
   * one with counts + (n − samplesDone) < reachableAt is not (exact, server/src/core/provisional.ts)
   */
  thresholds: ProvisionalThresholds | null;
}

/** A {@link CertifyImageResult} on the wire. */
export interface CertifyImageResultWire {
  report: ImageReport;
  width: number;
  height: number;
  clean: EncodedArray<'uint8'>;
  selected: EncodedArray<'uint8'>;
  counts: EncodedArray<'uint16'>;
  /** selected class where certified, else 255 (ABSTAIN) */
  certified: EncodedArray<'uint8'>;
  radiusMap: EncodedArray<'float32'> | null;
  mask: EncodedArray<'uint8'> | null;
  /** outDir as given, when the pipeline wrote files there */
  outDir: string | null;
  /** ms from the request's arrival in the worker to the end of the run (queue wait excluded) */
  runMs: number;
}

/**
 * Sent by the client: certify one image. Queued behind other runs.
 * Work-done progress (`workDoneToken`, percentages 0..100, message = phase) and partial results
 * (`partialResultToken`, values {@link PartialResultWire}) are streamed while it runs.
 * Cancel with $/cancelRequest: the run's process is killed, answer RequestCancelled.
 */
export namespace CertifyImageRequest {
  export const method = 'certseg/certifyImage' as const;
  export const type = new ProtocolRequestType<CertifyImageParams, CertifyImageResultWire, PartialResultWire, void, WorkDoneProgressOptions>(
    method,
  );
}

// ---------------------------------------------------------------------------------------------------
// certseg/certifyDataset
// ---------------------------------------------------------------------------------------------------

export interface CertifyDatasetParams extends RunConfigParams, WorkDoneProgressParams {
  /** absolute folder with images (and masks, per the dataset layout the CLI documents) */
  dir: string;
  /** absolute output folder: one result folder per image plus summary.json */
  outDir: string;
  /** certify at most this many images */
  limit?: number;
  /** skip images whose result already exists in outDir */
  resume?: boolean;
}

/** Sent by the client: certify a folder of images. Queued; work-done progress; cancellable like certifyImage. */
export namespace CertifyDatasetRequest {
  export const method = 'certseg/certifyDataset' as const;
  /** Result: the dataset's summary.json (protocol/results.ts DatasetSummary). */
  export const type = new ProtocolRequestType<CertifyDatasetParams, DatasetSummaryWire, void, void, WorkDoneProgressOptions>(method);
}
/** The result of certseg/certifyDataset: the DatasetSummary itself (plain JSON, no typed arrays). */
export type DatasetSummaryWire = DatasetSummary;

// ---------------------------------------------------------------------------------------------------
// certseg/recertify
// ---------------------------------------------------------------------------------------------------

export interface RecertifyParams {
  /** absolute result folder of an earlier certifyImage run (its outDir) */
  dir: string;
  tau?: number;
  alpha?: number;
  correction?: 'holm' | 'bonferroni';
}

/**
 * Sent by the client: re-apply the test to the stored counts of a result folder with new τ/α/correction
 * (exploratory: no new samples). Result: the new report (kind 'recertify', exploratory true). A pixel is
 * certified under the new report iff counts[i] >= report.minCertifiedCount (the test is monotone in the
 * count), so the client recomputes the certified map from the stored selected/counts arrays.
 */
export namespace RecertifyRequest {
  export const method = 'certseg/recertify' as const;
  export const type = new ProtocolRequestType<RecertifyParams, ImageReport, void, void, void>(method);
}

// ---------------------------------------------------------------------------------------------------
// certseg/consistency
// ---------------------------------------------------------------------------------------------------

export interface ConsistencyParams extends RunConfigParams, WorkDoneProgressParams {
  /** absolute path of the image */
  imagePath: string;
  /** the plane of a volume (NIfTI 3-D, multi-frame DICOM), as in certifyImage */
  slice?: SliceSpecWire | null;
  /**
   * crop-selection window M of the second measurement (robust inference by crop selection, docs/consistency.md);
   * default 8; null: the plain segmenter only
   */
  cropSelection?: number | null;
}

/** One measurement of the 8 one-pixel (non-cyclic) camera shifts (server/src/consistency/shift.ts). */
export interface ShiftMeasurementWire {
  /** per direction (dy, dx ∈ {-1,0,1}): compared / changed pixels; selectionChanged with crop selection */
  directions: { dy: number; dx: number; compared: number; changed: number; fraction: number; selectionChanged?: boolean }[];
  /** mean over the 8 directions of the fraction of compared pixels whose label changed */
  meanFraction: number;
  /** the direction with the largest changed fraction */
  worst: { dy: number; dx: number; fraction: number };
  /** some pixel changed under some shift */
  anyChanged: boolean;
  /** share of the reference view's pixels changed by at least one of the 8 shifts */
  changedAnyFraction: number;
  /** share of the reference view's pixels the prediction covers (1 without crop selection) */
  coverage: number;
  /** crop selection: share of the 8 shifts whose selected content moved; null without */
  selectionChangeRate: number | null;
  /** per image pixel (width × height): how many of the 8 shifts changed it, 0..8 */
  flipMap: EncodedArray<'uint8'>;
}

export interface ConsistencyResultWire {
  imagePath: string;
  width: number;
  height: number;
  plain: ShiftMeasurementWire;
  /** with crop selection of window M: the measured numbers, the one-pixel-shift bound and the some-shift rate for exchangeable scores (docs/consistency.md) */
  cropSelection: (ShiftMeasurementWire & { M: number; bound: number; exchangeable: number; anyShift: number }) | null;
  segmenter: { card: string; engine: string; backend: string; device: string };
  /** ms in the run process */
  runMs: number;
}

/**
 * Sent by the client: measure how the segmenter's prediction of one image changes under the 8 one-pixel
 * camera shifts, plain and with crop selection (M = 8 by default). Queued like the runs, executed in its own
 * run process, cancellable, work-done progress. Only the segmenter of the config is used (no noise, no denoiser).
 */
export namespace ConsistencyRequest {
  export const method = 'certseg/consistency' as const;
  export const type = new ProtocolRequestType<ConsistencyParams, ConsistencyResultWire, void, void, WorkDoneProgressOptions>(method);
}

// ---------------------------------------------------------------------------------------------------
// certseg/listDataset
// ---------------------------------------------------------------------------------------------------

export interface ListDatasetParams {
  /** absolute dataset folder (images/ + masks/, a manifest, splits/) or manifest file */
  dir: string;
  /** DIR/splits/<split>.txt */
  split?: string;
  /** page: first pair to return (default 0) */
  offset?: number;
  /** page size (default 200, at most 5000) */
  limit?: number;
}

export interface ListDatasetResult {
  /** all pairs of the dataset */
  total: number;
  /** pairs offset .. offset+limit, absolute paths */
  pairs: { id: string; image: string; mask: string | null }[];
  /** e.g. images without a mask */
  warnings: string[];
}

/**
 * Sent by the client (dataset tree view): the image/mask pairs of a dataset, a page at a time, in the order
 * certifyDataset uses. Not queued (it only reads the folder). Not a dataset: UserError with data.code 'input'.
 */
export namespace ListDatasetRequest {
  export const method = 'certseg/listDataset' as const;
  export const type = new ProtocolRequestType<ListDatasetParams, ListDatasetResult, void, void, void>(method);
}

// ---------------------------------------------------------------------------------------------------
// certseg/displayImage
// ---------------------------------------------------------------------------------------------------

/** One plane of a volume: axis x, y or z, index from 0 (the CLI's `--slice z:40`); the same shape as results.ts's SliceSpec. */
export type SliceSpecWire = SliceSpec;

export interface DisplayImageParams {
  /** absolute path of a DICOM or NIfTI file (extensionless DICOM is recognised by its preamble) */
  imagePath: string;
  /** the plane of a volume to show; null/absent: the middle z slice of a volume, the image of a 2-D file */
  slice?: SliceSpecWire | null;
}

/** An intensity window: [center − width/2, center + width/2] maps linearly onto black..white. */
export interface WindowWire {
  center: number;
  width: number;
}

export interface DisplayImageResult {
  format: 'dicom' | 'nifti';
  width: number;
  height: number;
  /** 1 (grey) or 3 (RGB, interleaved) */
  channels: 1 | 3;
  /** real intensities (after Rescale Slope/Intercept), row-major, `channels` per pixel */
  values: EncodedArray<'float32'>;
  /** the window certification uses (the DICOM's Window Center/Width, else the percentile window) */
  window: WindowWire & { source: 'dicom' | 'percentile' };
  /** the 0.5–99.5 percentile window of this plane */
  percentile: WindowWire;
  /** smallest and largest value of this plane */
  range: { min: number; max: number };
  /** DICOM Photometric Interpretation (null for NIfTI) */
  photometric: string | null;
  /** MONOCHROME1: draw the windowed value inverted (bright = dense), as certification does */
  invert: boolean;
  /** the voxel grid [x, y, z]; z > 1 for a volume */
  size: [number, number, number];
  /** the plane shown (volumes), else null */
  slice: SliceSpecWire | null;
}

/**
 * Sent by the client (the preview of a DICOM or NIfTI file): the real intensities of one plane, for display
 * with the preview's own window/level (display only: certification keeps the worker's window). Not queued
 * (it only reads the file). A file that cannot be read fails with UserError, data.code 'input', one line.
 */
export namespace DisplayImageRequest {
  export const method = 'certseg/displayImage' as const;
  export const type = new ProtocolRequestType<DisplayImageParams, DisplayImageResult, void, void, void>(method);
}

// ---------------------------------------------------------------------------------------------------
// certseg/engineInfo
// ---------------------------------------------------------------------------------------------------

export interface EngineInfoResult {
  /** what `auto` resolves to on this machine, null if no engine loads */
  preferred: EngineInfo | null;
  /** every engine that was probed; `reason`: why it is unavailable, or a note (fallback backend) */
  engines: { name: string; available: boolean; info: EngineInfo | null; reason?: string }[];
}

/** Sent by the client (at start, for the status bar): which inference engines load here. Not queued. */
export namespace EngineInfoRequest {
  export const method = 'certseg/engineInfo' as const;
  export const type = new ProtocolRequestType0<EngineInfoResult, void, void, void>(method);
}

// ---------------------------------------------------------------------------------------------------
// Notifications
// ---------------------------------------------------------------------------------------------------

export interface RunSummary {
  /** JSON-RPC request id of the run */
  id: string | number;
  kind: 'certifyImage' | 'certifyDataset' | 'recertify' | 'consistency';
  /** image path, dataset folder or result folder */
  label: string;
}

export interface QueueStatusParams {
  running: (RunSummary & { startedAt: number }) | null;
  queued: RunSummary[];
}

/** Sent by the server whenever its run queue changes (a run starts, ends, or is queued). */
export namespace QueueStatusNotification {
  export const method = 'certseg/queueStatus' as const;
  export const type = new NotificationType<QueueStatusParams>(method);
}

/** Every custom method, for docs and tests. */
export const allMethods = [
  CertifyImageRequest.method,
  CertifyDatasetRequest.method,
  RecertifyRequest.method,
  ConsistencyRequest.method,
  ListDatasetRequest.method,
  DisplayImageRequest.method,
  EngineInfoRequest.method,
  QueueStatusNotification.method,
] as const;
