/**
 * "certseg: Write Cluster Job…" builds a `certseg cluster slurm|k8s` command line from the picked dataset,
 * config and settings; the bundled CLI then writes the job files (the same server code as on a terminal).
 * No vscode import here, so that the mapping is tested with the real CLI (test/cluster/clusterArgs.test.ts).
 */
import * as path from 'node:path';
import type { ConfigOverrides } from '../../protocol/messages';

export interface ClusterJobChoice {
  kind: 'slurm' | 'k8s';
  /** local absolute paths */
  dataset: string;
  configPath: string | null;
  overrides: ConfigOverrides;
  /** the run folder (the Datasets view lists it once the merge wrote summary.json) */
  out: string;
  jobDir: string;
  shards: number;
  gpusPerTask: number;
  /** k8s: the container image, and where the workspace folder (`root`) is mounted in the pods */
  image?: string;
  pvc?: string;
  mount?: string;
  root?: string;
}

/** Config overrides as `certseg dataset` flags. */
const FLAGS: Partial<Record<keyof ConfigOverrides, string>> = {
  engine: '--engine',
  sigma: '--sigma',
  n0: '--n0',
  n: '--n',
  tau: '--tau',
  alpha: '--alpha',
  correction: '--correction',
  denoiseConvention: '--convention',
  batchSize: '--batch-size',
  memoryBudgetMiB: '--memory-budget',
  seed: '--seed',
};

/**
 * A local path as the pods see it: the workspace folder lives on the volume mounted at `mount`. Paths
 * outside the workspace folder have no such mapping: an Error with one line.
 */
export function podPath(local: string, root: string, mount: string): string {
  const rel = path.relative(root, local);
  if (rel.startsWith('..') || path.isAbsolute(rel))
    throw new Error(`${local} is outside the workspace folder ${root}, which the pods see at ${mount}`);
  return rel ? path.posix.join(mount, ...rel.split(path.sep)) : mount;
}

export function clusterArgs(c: ClusterJobChoice): string[] {
  const k8s = c.kind === 'k8s';
  if (k8s && (!c.root || !c.mount)) throw new Error('a Kubernetes job needs the workspace folder and its mount path in the pods');
  const where = (p: string) => (k8s ? podPath(p, c.root as string, c.mount as string) : p);
  const args = [
    'cluster',
    c.kind,
    where(c.dataset),
    '--shards',
    String(c.shards),
    '--gpus-per-task',
    String(c.gpusPerTask),
    '--out',
    where(c.out),
    '--job-dir',
    c.jobDir,
  ];
  if (c.configPath) args.push('--config', where(c.configPath));
  for (const [key, flag] of Object.entries(FLAGS) as [keyof ConfigOverrides, string][]) {
    const v = c.overrides[key];
    if (v !== undefined && v !== null) args.push(flag, String(v));
  }
  if (k8s) {
    args.push('--image', c.image ?? '', '--mount', c.mount as string);
    if (c.pvc) args.push('--pvc', c.pvc);
  }
  return args;
}

/** The files and the submit line from the CLI's output ("wrote A (…) and B (…)", then the line). */
export function parseClusterOutput(stdout: string): { files: string[]; submitLine: string } {
  const m = /wrote (\S+) \(.*\) and (\S+) \(/.exec(stdout);
  const lines = stdout.trim().split('\n');
  return { files: m ? [m[1], m[2]] : [], submitLine: lines[lines.length - 1].trim() };
}
