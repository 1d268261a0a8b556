/**
 * Output folders are checked before any model is loaded or any sample drawn, so that a place that cannot
 * be written fails at once with one line, instead of after the whole certification (or never: a folder
 * under /proc made the run hang). A non-empty folder that holds no certseg result of that kind is refused:
 * image results are swapped into place as a whole folder, which would otherwise replace the user's files
 * (`--out .`).
 */
import { mkdtemp, readdir, rmdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { CertsegError } from '../core/errors';
import { OUTPUT_FILES } from './outputs';

const PROBE = '.certseg-write-test-';

export type OutputKind = 'image' | 'dataset' | 'consistency';

/** What a folder of each kind may hold, so that writing into it again loses nothing of the user's. */
const OWNED: Record<OutputKind, { marker: string | null; isOwned: (name: string) => boolean }> = {
  // replaced as a whole folder: it must already be an image result
  image: {
    marker: OUTPUT_FILES.report,
    isOwned: (f) => (Object.values(OUTPUT_FILES) as string[]).includes(f) || f.startsWith('recertified-'),
  },
  // written into (per-image folders, summary last): an interrupted run has no summary yet, and resumes
  // (shards of a cluster run may share one folder: shard-I-of-N.json and its plot)
  dataset: {
    marker: null,
    isOwned: (f) =>
      ['summary.json', 'images', 'accuracy-vs-radius.svg'].includes(f) ||
      f.endsWith('.tmp') ||
      /^shard-\d+-of-\d+(\.json|-accuracy-vs-radius\.svg)$/.test(f),
  },
  consistency: { marker: null, isOwned: (f) => f === 'summary.json' || /^flipmap-.*\.png$/.test(f) },
};

function fail(outDir: string, reason: string): never {
  throw new CertsegError(`cannot write results to ${outDir}: ${reason}; nothing was written`, 'input');
}

async function kindOf(p: string): Promise<'dir' | 'file' | 'none'> {
  try {
    return (await stat(p)).isDirectory() ? 'dir' : 'file';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'none'; // ENOTDIR: a file above it, found by walking up
    throw e;
  }
}

/** Throws a one-line CertsegError when `outDir` cannot receive a result of this kind. */
export async function checkOutputDir(outDir: string, kind: OutputKind): Promise<void> {
  const dir = path.resolve(outDir);
  // The folder itself, or the nearest folder above it that exists (where it will be created).
  let existing = dir;
  for (;;) {
    const k = await kindOf(existing).catch((e) => fail(outDir, (e as NodeJS.ErrnoException).code ?? String(e)));
    if (k === 'dir') break;
    if (k === 'file') fail(outDir, existing === dir ? 'it is a file, not a folder' : `${existing} is a file, not a folder`);
    const up = path.dirname(existing);
    if (up === existing) fail(outDir, 'no existing folder above it');
    existing = up;
  }
  if (existing === dir) {
    const entries = await readdir(dir).catch((e) => fail(outDir, (e as NodeJS.ErrnoException).code ?? String(e)));
    const own = OWNED[kind];
    // (another process's staging, swap or write probe: shards racing on one folder)
    const foreign = entries.filter((f) => !own.isOwned(f) && !f.includes('.partial-') && !f.includes('.old-') && !f.startsWith(PROBE));
    if (entries.length > 0 && ((own.marker !== null && !entries.includes(own.marker)) || foreign.length > 0)) {
      fail(
        outDir,
        `the folder is not empty and is not a certseg ${kind} result (it holds ${foreign.slice(0, 3).join(', ') || entries.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}); choose a new or empty folder`,
      );
    }
  }
  // The real test of writability: create and remove a folder where the result will go.
  const probeIn = existing === dir ? dir : existing;
  try {
    const probe = await mkdtemp(path.join(probeIn, PROBE));
    await rmdir(probe);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EROFS'
          ? 'read-only file system'
          : code === 'ENOENT'
            ? 'folders cannot be created there'
            : (code ?? String(e));
    fail(outDir, `${probeIn} is not writable (${why})`);
  }
}
