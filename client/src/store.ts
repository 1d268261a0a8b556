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
import type { ImageReport } from '../../protocol/results';
import type { ResultArrays } from '../../protocol/webview';
import type { NpyDtype } from '../../common/npy';
import { UnreadableResult, confined, validateNpy, validateReport } from './validate/stored';
import { PREVIEW_IMAGE_EXTENSIONS, maskCandidates } from '../../common/imageNaming';

/** The raster formats the extension opens, without the dot (common/imageNaming.ts). */
export const IMAGE_EXTENSIONS: string[] = PREVIEW_IMAGE_EXTENSIONS.map((e) => e.slice(1));

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

/** A ground-truth mask for the image by the common naming conventions (common/imageNaming.ts), or null. */
export function findMask(imagePath: string): string | null {
  return maskCandidates(imagePath, path).find((c) => existsSync(c)) ?? null;
}

export interface StoredResult extends ResultArrays {
  report: ImageReport;
  dir: string;
}

/**
 * Loads a result folder written by the pipeline: null when there is none; an UnreadableResult when a file
 * fails validation (stored results are untrusted: see validate/stored.ts).
 */
export async function loadStoredResult(dir: string): Promise<StoredResult | null> {
  const reportPath = path.join(dir, 'report.json');
  if (!existsSync(reportPath)) return null;
  const report = validateReport(await readFile(reportPath, 'utf8'), reportPath);
  const { width, height } = report.image;
  const npy = async (key: string, fallback: string, dtype: NpyDtype, required: boolean) => {
    const file = confined(dir, report.files[key] ?? fallback, reportPath);
    if (!existsSync(file)) {
      if (required) throw new UnreadableResult(file, 'file missing');
      return null;
    }
    return validateNpy(await readFile(file), file, dtype, height, width);
  };
  const selected = (await npy('selected', 'selected.npy', '|u1', true)) as Uint8Array;
  const counts = (await npy('counts', 'counts.npy', '<u2', true)) as Uint16Array;
  const certified = (await npy('certifiedNpy', 'certified.npy', '|u1', true)) as Uint8Array;
  const clean = (await npy('clean', 'clean.npy', '|u1', false)) as Uint8Array | null;
  const radius = (await npy('radiusNpy', 'radius.npy', '<f4', false)) as Float32Array | null;
  const mask = report.files.mask ? ((await npy('mask', 'mask.npy', '|u1', false)) as Uint8Array | null) : null;
  return { report, dir, width, height, clean, selected, counts, certified, radiusMap: radius, mask };
}

/** The certified map under a (re-certified) report: the test is monotone in the vote count. */
export function certifiedFromCounts(selected: Uint8Array, counts: Uint16Array, minCertifiedCount: number): Uint8Array {
  const out = new Uint8Array(selected.length);
  for (let i = 0; i < selected.length; i++) out[i] = counts[i] >= minCertifiedCount ? selected[i] : 255;
  return out;
}
