/**
 * What each request's params must be: checked here before anything is queued, and turned into the run's
 * job. A malformed request is refused with InvalidParams; a missing file, folder or unusable output folder
 * with a certseg UserError (the client shows its message).
 */
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { ErrorCodes, ResponseError } from 'vscode-languageserver/node';
import { checkOutputDir, type OutputKind } from '../pipeline/outputLocation';
import {
  CertifyDatasetRequest,
  CertifyImageRequest,
  CertsegErrorCodes,
  ConsistencyRequest,
  DisplayImageRequest,
  ListDatasetRequest,
  RecertifyRequest,
  type CertifyDatasetParams,
  type CertifyImageParams,
  type ConsistencyParams,
  type DisplayImageParams,
  type ListDatasetParams,
  type RecertifyParams,
  type SliceSpecWire,
} from '../../../protocol/messages';
import type { RunJob } from './runMessages';

type Job<K extends RunJob['kind']> = Extract<RunJob, { kind: K }>;

export function invalid(message: string): ResponseError<void> {
  return new ResponseError(ErrorCodes.InvalidParams, message);
}
export function userError(message: string, code = 'input'): ResponseError<{ code: string }> {
  return new ResponseError(CertsegErrorCodes.UserError, message, { code });
}

function requireObject(method: string, params: unknown): Record<string, unknown> {
  if (!params || typeof params !== 'object' || Array.isArray(params)) throw invalid(`${method}: params must be an object`);
  return params as Record<string, unknown>;
}
function requirePath(method: string, p: Record<string, unknown>, key: string, what: string): string {
  const v = optionalPath(method, p, key);
  if (v === null) throw invalid(`${method}: params.${key} (${what}) is required`);
  return v;
}
function optionalPath(method: string, p: Record<string, unknown>, key: string): string | null {
  const v = p[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || !isAbsolute(v))
    throw invalid(`${method}: params.${key} must be an absolute path (got ${JSON.stringify(v)})`);
  return v;
}
function requireFile(path: string, what: string, code = 'input') {
  let ok = false;
  try {
    ok = statSync(path).isFile();
  } catch {
    /* missing */
  }
  if (!ok) throw userError(`${what} not found: ${path}`, code);
}
function requireDir(path: string, what: string) {
  let ok = false;
  try {
    ok = statSync(path).isDirectory();
  } catch {
    /* missing */
  }
  if (!ok) throw userError(`${what} not found: ${path}`);
}
async function requireOutputDir(dir: string, kind: OutputKind) {
  try {
    await checkOutputDir(dir, kind);
  } catch (e) {
    throw userError((e as Error).message, 'input');
  }
}
function overridesOf(method: string, p: Record<string, unknown>) {
  const o = p.overrides;
  if (o === undefined || o === null) return {};
  if (typeof o !== 'object' || Array.isArray(o)) throw invalid(`${method}: params.overrides must be an object`);
  return o as Record<string, unknown>;
}
/** params.slice: absent/null, or { axis: x|y|z, index: integer ≥ 0 } */
function sliceOf(method: string, p: Record<string, unknown>): SliceSpecWire | null {
  const s = p.slice as Record<string, unknown> | null | undefined;
  if (s === undefined || s === null) return null;
  if (
    typeof s !== 'object' ||
    !['x', 'y', 'z'].includes(s.axis as string) ||
    typeof s.index !== 'number' ||
    !Number.isInteger(s.index) ||
    s.index < 0
  ) {
    throw invalid(`${method}: params.slice must be { axis: 'x' | 'y' | 'z', index: integer >= 0 } or null (got ${JSON.stringify(s)})`);
  }
  return { axis: s.axis as SliceSpecWire['axis'], index: s.index };
}
/** params.cropSelection: absent (8), null (off), or a positive integer window size */
function cropSelectionOf(method: string, p: Record<string, unknown>): number | null {
  if (p.cropSelection === null) return null;
  if (p.cropSelection === undefined) return 8;
  if (typeof p.cropSelection !== 'number' || !Number.isInteger(p.cropSelection) || p.cropSelection < 1) {
    throw invalid(
      `${method}: params.cropSelection must be a positive integer window size or null (got ${JSON.stringify(p.cropSelection)})`,
    );
  }
  return p.cropSelection;
}

/** certseg/certifyImage: the image (and mask, config) exist, the output folder is usable; refused before it is queued. */
export async function certifyImageJob(params: CertifyImageParams): Promise<Job<'certifyImage'>> {
  const m = CertifyImageRequest.method;
  const p = requireObject(m, params);
  const imagePath = requirePath(m, p, 'imagePath', 'absolute path of the image');
  const maskPath = optionalPath(m, p, 'maskPath');
  const configPath = optionalPath(m, p, 'configPath');
  const outDir = optionalPath(m, p, 'outDir');
  const slice = sliceOf(m, p);
  requireFile(imagePath, 'Image');
  if (maskPath) requireFile(maskPath, 'Mask');
  if (configPath) requireFile(configPath, 'Config', 'config');
  if (outDir) await requireOutputDir(outDir, 'image');
  const partialIntervalMs = typeof p.partialIntervalMs === 'number' && p.partialIntervalMs >= 0 ? p.partialIntervalMs : 250;
  const partials = params.partialResultToken !== undefined;
  return {
    kind: 'certifyImage',
    imagePath,
    slice,
    maskPath,
    configPath,
    overrides: overridesOf(m, p),
    outDir,
    partialIntervalMs,
    partials,
  };
}

/** certseg/certifyDataset: the dataset folder (and config) exist, the output folder is usable. */
export async function certifyDatasetJob(params: CertifyDatasetParams): Promise<Job<'certifyDataset'>> {
  const m = CertifyDatasetRequest.method;
  const p = requireObject(m, params);
  const dir = requirePath(m, p, 'dir', 'absolute dataset folder');
  const outDir = requirePath(m, p, 'outDir', 'absolute output folder');
  const configPath = optionalPath(m, p, 'configPath');
  requireDir(dir, 'Dataset folder');
  if (configPath) requireFile(configPath, 'Config', 'config');
  await requireOutputDir(outDir, 'dataset');
  const limit = typeof p.limit === 'number' ? p.limit : undefined;
  const resume = typeof p.resume === 'boolean' ? p.resume : undefined;
  return { kind: 'certifyDataset', dir, outDir, configPath, overrides: overridesOf(m, p), limit, resume };
}

/** certseg/recertify: the result folder exists. */
export function recertifyJob(params: RecertifyParams): Job<'recertify'> {
  const m = RecertifyRequest.method;
  const p = requireObject(m, params);
  const dir = requirePath(m, p, 'dir', 'absolute result folder');
  requireDir(dir, 'Result folder');
  const { tau, alpha, correction } = params;
  return { kind: 'recertify', dir, params: { tau, alpha, correction } };
}

/** certseg/consistency: the image (and config) exist; the crop-selection window is a positive integer or null. */
export function consistencyJob(params: ConsistencyParams): Job<'consistency'> {
  const m = ConsistencyRequest.method;
  const p = requireObject(m, params);
  const imagePath = requirePath(m, p, 'imagePath', 'absolute path of the image');
  const configPath = optionalPath(m, p, 'configPath');
  requireFile(imagePath, 'Image');
  if (configPath) requireFile(configPath, 'Config', 'config');
  const cropSelection = cropSelectionOf(m, p);
  return { kind: 'consistency', imagePath, slice: sliceOf(m, p), configPath, overrides: overridesOf(m, p), cropSelection };
}

/** certseg/listDataset: the folder or manifest, and the page (offset, limit ≤ 5000, default 200) and split asked for. */
export function listDatasetQuery(params: ListDatasetParams): { dir: string; offset: number; limit: number; split: string | undefined } {
  const m = ListDatasetRequest.method;
  const p = requireObject(m, params);
  const dir = requirePath(m, p, 'dir', 'absolute dataset folder or manifest');
  const offset = typeof p.offset === 'number' && p.offset >= 0 ? Math.floor(p.offset) : 0;
  const limit = typeof p.limit === 'number' && p.limit >= 1 ? Math.min(5000, Math.floor(p.limit)) : 200;
  const split = typeof p.split === 'string' && p.split ? p.split : undefined;
  return { dir, offset, limit, split };
}

/** certseg/displayImage: the file and the plane of a volume. */
export function displayImageQuery(params: DisplayImageParams): { imagePath: string; slice: SliceSpecWire | null } {
  const m = DisplayImageRequest.method;
  const p = requireObject(m, params);
  const imagePath = requirePath(m, p, 'imagePath', 'absolute path of a DICOM or NIfTI file');
  return { imagePath, slice: sliceOf(m, p) };
}
