/**
 * Where results live and how they are read back: <workspace folder>/.certseg/<image path relative to the
 * folder, '/' → '__'>/ (the pipeline's output folder: report.json, overlays, .npy arrays), or the
 * extension's storage for images outside the workspace. Reading the .npy files back is what lets a preview
 * show a result again after a reload.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ImageReport } from '../../server/src/pipeline/types';
import type { ResultArrays } from '../../media/src/messages';

export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'bmp', 'tif', 'tiff'];

export function resultDirFor(context: vscode.ExtensionContext, imagePath: string): string {
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(imagePath));
  if (folder && folder.uri.scheme === 'file') {
    const rel = path.relative(folder.uri.fsPath, imagePath).split(path.sep).join('__');
    return path.join(folder.uri.fsPath, '.certseg', rel);
  }
  const base = (context.storageUri ?? context.globalStorageUri).fsPath;
  const h = createHash('sha256').update(imagePath).digest('hex').slice(0, 16);
  return path.join(base, 'results', `${path.basename(imagePath)}-${h}`);
}

/** A ground-truth mask beside the image by common naming conventions, or null. */
export function findMask(imagePath: string): string | null {
  const dir = path.dirname(imagePath);
  const ext = path.extname(imagePath);
  const stem = path.basename(imagePath, ext);
  const candidates: string[] = [];
  for (const e of [ext, '.png']) {
    for (const suffix of ['-mask', '_mask', '.mask', '_gt', '-gt']) candidates.push(path.join(dir, stem + suffix + e));
    for (const sub of ['masks', 'mask', 'labels', 'gt']) {
      candidates.push(path.join(path.dirname(dir), sub, stem + e));
      candidates.push(path.join(dir, sub, stem + e));
    }
  }
  return candidates.find((c) => c !== imagePath && existsSync(c)) ?? null;
}

type NpyArray = Uint8Array | Uint16Array | Float32Array;

/** Minimal .npy reader (v1–v3, little-endian u1/u2/f4, C order): enough for the pipeline's own files. */
export function parseNpy(buf: Buffer): { data: NpyArray; shape: number[] } {
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error('not a .npy file');
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error('.npy in Fortran order is not supported');
  const body = buf.subarray(start + headerLen);
  const copy = new ArrayBuffer(body.length);
  new Uint8Array(copy).set(body);
  switch (descr) {
    case '|u1':
    case '<u1':
    case '|b1':
      return { data: new Uint8Array(copy), shape };
    case '<u2':
      return { data: new Uint16Array(copy), shape };
    case '<f4':
      return { data: new Float32Array(copy), shape };
    default:
      throw new Error(`.npy dtype ${descr} is not supported`);
  }
}

async function readNpyIf(file: string): Promise<NpyArray | null> {
  if (!existsSync(file)) return null;
  return parseNpy(await readFile(file)).data;
}

export interface StoredResult extends ResultArrays {
  report: ImageReport;
  dir: string;
}

/** Loads a result folder written by the pipeline, or null when there is none (or it is unreadable). */
export async function loadStoredResult(dir: string): Promise<StoredResult | null> {
  const reportPath = path.join(dir, 'report.json');
  if (!existsSync(reportPath)) return null;
  try {
    const report = JSON.parse(await readFile(reportPath, 'utf8')) as ImageReport;
    const f = (key: string, fallback: string) => path.join(dir, report.files?.[key] ?? fallback);
    const selected = await readNpyIf(f('selected', 'selected.npy'));
    const counts = await readNpyIf(f('counts', 'counts.npy'));
    const certified = await readNpyIf(f('certifiedNpy', 'certified.npy'));
    if (!(selected instanceof Uint8Array) || !(counts instanceof Uint16Array) || !(certified instanceof Uint8Array)) return null;
    const clean = await readNpyIf(f('clean', 'clean.npy'));
    const radius = await readNpyIf(f('radiusNpy', 'radius.npy'));
    const mask = report.files?.mask ? await readNpyIf(f('mask', 'mask.npy')) : null;
    return {
      report,
      dir,
      width: report.image.width,
      height: report.image.height,
      clean: clean instanceof Uint8Array ? clean : null,
      selected,
      counts,
      certified,
      radiusMap: radius instanceof Float32Array ? radius : null,
      mask: mask instanceof Uint8Array ? mask : null,
    };
  } catch {
    return null;
  }
}

/** The certified map under a (re-certified) report: the test is monotone in the vote count. */
export function certifiedFromCounts(selected: Uint8Array, counts: Uint16Array, minCertifiedCount: number): Uint8Array {
  const out = new Uint8Array(selected.length);
  for (let i = 0; i < selected.length; i++) out[i] = counts[i] >= minCertifiedCount ? selected[i] : 255;
  return out;
}
