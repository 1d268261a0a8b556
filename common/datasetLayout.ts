/**
 * What makes a folder a dataset: the one rule, pure (no I/O). The worker and the CLI list a dataset's pairs
 * by it (server/src/image/dataset.ts findDatasetPairs); the Datasets view finds dataset folders in the
 * workspace by it (client/src/datasetDiscovery.ts).
 *  - DIR/images/ with the masks in the first of MASK_DIRS that exists (common/imageNaming.ts), optionally
 *    DIR/splits/<split>.txt;
 *  - or a manifest: DIR/manifest.txt, .csv or .json.
 */
import { MASK_DIRS } from './imageNaming';

export const DATASET_IMAGES_DIR = 'images';
export const DATASET_SPLITS_DIR = 'splits';
/** Manifest file names, in the order they are looked for. */
export const DATASET_MANIFESTS = ['manifest.txt', 'manifest.csv', 'manifest.json'] as const;

export interface FolderEntry {
  name: string;
  isDirectory(): boolean;
  isFile(): boolean;
}

/**
 * Is a folder with these entries a dataset, as the workspace scan sees it: a manifest, or images/ with a mask
 * folder or splits/. (Asked for a folder explicitly, the worker also takes images/ alone: a dataset without
 * masks; unasked, images/ alone is too common a name to list.)
 */
export function looksLikeDataset(entries: readonly FolderEntry[]): boolean {
  const dirs = new Set(entries.filter((e) => e.isDirectory()).map((e) => e.name));
  const files = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
  if (DATASET_MANIFESTS.some((m) => files.has(m))) return true;
  return dirs.has(DATASET_IMAGES_DIR) && (MASK_DIRS.some((m) => dirs.has(m)) || dirs.has(DATASET_SPLITS_DIR));
}
