/**
 * Which workspace files the "Certify with this config" picker offers, without `vscode` (unit-tested in
 * test/client/imageFiles.test.ts): images, not masks (the naming rule of common/imageNaming.ts), in path order.
 */
import * as path from 'node:path';
import { MASK_DIRS, looksLikeMask } from '../../common/imageNaming';

/** A mask by the naming rule: a mask suffix, or inside a masks/labels/gt folder. */
export function isMaskFile(file: string): boolean {
  const parts = file.split(/[\\/]/);
  const base = path.basename(file, path.extname(file));
  return looksLikeMask(base) || parts.slice(0, -1).some((d) => (MASK_DIRS as readonly string[]).includes(d.toLowerCase()));
}

/** The images among `files` (masks left out), ordered by `label` (the workspace-relative path) with numbers in numeric order. */
export function imagesInPathOrder<T>(files: readonly T[], fsPath: (f: T) => string, label: (f: T) => string): T[] {
  return files.filter((f) => !isMaskFile(fsPath(f))).sort((a, b) => label(a).localeCompare(label(b), undefined, { numeric: true }));
}
