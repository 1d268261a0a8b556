/**
 * Dataset folders in the workspace, as the Datasets view lists them: images/ + a mask folder or splits/, or a
 * manifest (the rule, shared with the worker: common/datasetLayout.ts). Without `vscode` (unit-tested in
 * test/client/datasetDiscovery.test.ts); the worker lists each dataset's pairs (server/src/image/dataset.ts).
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { looksLikeDataset } from '../../common/datasetLayout';

const SKIP = new Set(['node_modules', 'dist', 'out', 'build', '__pycache__']);

/** Is `dir` a dataset folder, judging by its entries (cheap: one readdir)? The rule: common/datasetLayout.ts. */
export { looksLikeDataset };

/** The entries with symbolic links replaced by what they point to (a dataset's images/ may be a link). */
async function followLinks(dir: string, entries: Dirent[]): Promise<{ name: string; isDirectory(): boolean; isFile(): boolean }[]> {
  return Promise.all(
    entries.map(async (e) => {
      if (!e.isSymbolicLink()) return e;
      const s = await stat(path.join(dir, e.name)).catch(() => null);
      return { name: e.name, isDirectory: () => !!s?.isDirectory(), isFile: () => !!s?.isFile() };
    }),
  );
}

/** Dataset folders under the workspace folders (breadth first, depth ≤ 4, at most 3000 folders read). */
export async function findDatasets(roots: string[], maxDepth = 4, budget = 3000): Promise<string[]> {
  const found: string[] = [];
  let queue = roots.map((r) => ({ dir: r, depth: 0 }));
  while (queue.length && budget > 0) {
    const next: typeof queue = [];
    for (const { dir, depth } of queue) {
      if (budget-- <= 0) break;
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      if (looksLikeDataset(await followLinks(dir, entries))) {
        found.push(dir);
        continue; // images/ of a dataset are not searched further
      }
      if (depth >= maxDepth) continue;
      for (const e of entries)
        if (e.isDirectory() && !e.name.startsWith('.') && !SKIP.has(e.name)) next.push({ dir: path.join(dir, e.name), depth: depth + 1 });
    }
    queue = next;
  }
  return found.sort();
}
