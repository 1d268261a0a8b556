/**
 * Shared by the cluster tests: the bundled CLI in child processes, and a six-image dataset copied from
 * Kvasir-SEG (../shared) into a temp folder, certified with the shipped polyp segmenter (plain smoothing,
 * small n so that one image takes about a second).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { DatasetSummary } from '../../server/src/pipeline/datasetSummary';

export const root = path.resolve(__dirname, '../..');
export const cli = path.join(root, 'dist/server/cli.js');
const kvasir = path.resolve(root, '../shared/datasets/kvasir-seg-256');
export const SKIP_NO_KVASIR = existsSync(path.join(kvasir, 'splits/test.txt')) ? false : `needs ${kvasir} (../shared is absent)`;
export const SMALL = [
  '--config',
  path.join(root, 'models/polyp/polyp.certseg.json'),
  '--no-denoiser',
  '--n0',
  '4',
  '--n',
  '64',
  '--seed',
  '7',
];

/** The first `count` test-split images of Kvasir-SEG with their masks, as DIR/images + DIR/masks. */
export function makeDataset(dir: string, count = 6): string[] {
  const ids = readFileSync(path.join(kvasir, 'splits/test.txt'), 'utf8').split('\n').filter(Boolean).slice(0, count);
  for (const sub of ['images', 'masks']) mkdirSync(path.join(dir, sub), { recursive: true });
  for (const id of ids) {
    copyFileSync(path.join(kvasir, 'images', `${id}.jpg`), path.join(dir, 'images', `${id}.jpg`));
    copyFileSync(path.join(kvasir, 'masks', `${id}.png`), path.join(dir, 'masks', `${id}.png`));
  }
  return ids;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI in a child process (async, so that several run at once). */
export function certseg(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd, env: { ...process.env, CI: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A summary without what may differ between a one-process and a merged run: times (and the hosts in them). */
export function withoutTimings(s: DatasetSummary): unknown {
  const c = JSON.parse(JSON.stringify(s));
  delete c.timings;
  for (const p of c.perImage) delete p.totalMs;
  return c;
}

export function readSummary(file: string): DatasetSummary {
  return JSON.parse(readFileSync(file, 'utf8')) as DatasetSummary;
}
