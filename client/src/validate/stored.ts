/**
 * Stored results (.certseg/ folders, dataset runs) come from the workspace, which may be a repository
 * someone else wrote: they are untrusted input. Every file is validated on read before anything is
 * rendered or opened: JSON against its schema in docs/ (types enforced, file references confined to the
 * result folder), .npy files by dtype, shape (the report's image size) and length. A file that fails is an
 * UnreadableResult ("unreadable result: FIELD …"), shown as such and never rendered.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import * as path from 'node:path';
import reportSchema from '../../../docs/report.schema.json';
import summarySchema from '../../../docs/summary.schema.json';
import consistencySchema from '../../../docs/consistency.schema.json';
import type { ConsistencyResultWire } from '../../../protocol/messages';
import { decodeNpy, type NpyArray, type NpyDtype } from '../../../common/npy';
import type { ImageReport } from '../../../protocol/results';
import type { DatasetSummary } from '../../../protocol/results';

export class UnreadableResult extends Error {
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`unreadable result: ${detail} (${path.basename(file)})`);
    this.name = 'UnreadableResult';
  }
}

let compiled: { report: ValidateFunction; summary: ValidateFunction; consistency: ValidateFunction } | undefined;
function validators() {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: false, strict: false });
    ajv.addSchema(reportSchema as object, 'report.schema.json');
    ajv.addSchema(summarySchema as object, 'summary.schema.json');
    ajv.addSchema(consistencySchema as object, 'consistency.schema.json');
    compiled = {
      report: ajv.getSchema('report.schema.json')!,
      summary: ajv.getSchema('summary.schema.json')!,
      consistency: ajv.getSchema('consistency.schema.json')!,
    };
  }
  return compiled;
}

/** "params.sigma must be number": the field as a dotted path, and what is wrong with it. */
export function describeError(e: ErrorObject | undefined): string {
  if (!e) return 'invalid';
  const field = e.instancePath.split('/').filter(Boolean).join('.') || '(top level)';
  if (e.keyword === 'additionalProperties')
    return `${field === '(top level)' ? '' : field + '.'}${String((e.params as { additionalProperty: string }).additionalProperty)} is not an expected field`;
  if (e.keyword === 'required')
    return `${field === '(top level)' ? '' : field + '.'}${String((e.params as { missingProperty: string }).missingProperty)} is missing`;
  return `${field} ${e.message ?? 'is invalid'}`;
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UnreadableResult(file, 'not valid JSON');
  }
}

/** The file a result's `files` entry names, inside `dir` (the schema already refuses folders and '..'). */
export function confined(dir: string, name: string, file: string): string {
  const p = path.resolve(dir, name);
  if (path.dirname(p) !== path.resolve(dir))
    throw new UnreadableResult(file, `files entry "${name.slice(0, 40)}" is not a file of the result folder`);
  return p;
}

/** True when `p` is `dir` or inside it (after resolving '..'). */
export function isInside(dir: string, p: string): boolean {
  const rel = path.relative(path.resolve(dir), path.resolve(p));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export function validateReport(text: string, file: string): ImageReport {
  const data = parseJson(text, file);
  const v = validators().report;
  if (!v(data)) throw new UnreadableResult(file, describeError(v.errors?.[0]));
  const r = data as ImageReport;
  if (!path.isAbsolute(r.image.path)) throw new UnreadableResult(file, 'image.path is not an absolute path');
  return r;
}

export function validateSummary(text: string, file: string): DatasetSummary {
  const data = parseJson(text, file);
  const v = validators().summary;
  if (!v(data)) throw new UnreadableResult(file, describeError(v.errors?.[0]));
  const s = data as DatasetSummary;
  const runDir = path.dirname(file);
  for (const [i, p] of s.perImage.entries()) {
    if (!isInside(runDir, path.resolve(runDir, p.dir))) throw new UnreadableResult(file, `perImage.${i}.dir leaves the run folder`);
  }
  return s;
}

/** The stored translation-consistency result: schema, and flip maps of exactly width × height pixels. */
export function validateConsistency(text: string, file: string): ConsistencyResultWire {
  const data = parseJson(text, file);
  const v = validators().consistency;
  if (!v(data)) throw new UnreadableResult(file, describeError(v.errors?.[0]));
  const c = data as ConsistencyResultWire;
  for (const [name, m] of [
    ['plain', c.plain],
    ['cropSelection', c.cropSelection],
  ] as const) {
    if (!m) continue;
    if (m.flipMap.length !== c.width * c.height)
      throw new UnreadableResult(file, `${name}.flipMap.length ${m.flipMap.length} is not width × height`);
    if (Buffer.byteLength(m.flipMap.base64, 'base64') !== m.flipMap.length)
      throw new UnreadableResult(
        file,
        `${name}.flipMap holds ${Buffer.byteLength(m.flipMap.base64, 'base64')} bytes, not ${m.flipMap.length}`,
      );
  }
  return c;
}

/** Decode a stored .npy strictly: the expected dtype, shape [height, width], and exactly that many values. */
export function validateNpy(buf: Buffer, file: string, dtype: NpyDtype, height: number, width: number): NpyArray {
  let npy;
  try {
    npy = decodeNpy(buf, path.basename(file));
  } catch (e) {
    throw new UnreadableResult(file, (e as Error).message.replace(/^cannot read [^:]*: /, ''));
  }
  if (npy.dtype !== dtype) throw new UnreadableResult(file, `dtype ${npy.dtype}, expected ${dtype}`);
  if (npy.shape.length !== 2 || npy.shape[0] !== height || npy.shape[1] !== width) {
    throw new UnreadableResult(file, `shape (${npy.shape.join(', ')}), expected (${height}, ${width}) from report.json`);
  }
  return npy.data;
}
