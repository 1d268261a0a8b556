/**
 * `certseg cluster slurm|k8s DIR --shards N …`: writes the job files (cluster/launchers.ts) for the user to
 * submit, prints the line that submits them, and with --submit (Slurm) runs it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { CertsegError } from '../../core/errors';
import { writeFileAtomic } from '../../image/write';
import { packagePath } from '../../paths';
import { loadConfig } from '../../config/config';
import type { CertsegConfig } from '../../../../protocol/config';
import {
  jobName,
  kubernetesFiles,
  kubernetesManifests,
  kubernetesSubmitLine,
  slurmFiles,
  slurmScripts,
  slurmSubmitLine,
  toYaml,
  type ClusterJob,
} from '../../cluster/launchers';

export interface ClusterCommand {
  kind: 'slurm' | 'k8s';
  dataset: string;
  shards: number;
  out?: string;
  /** `certseg dataset` options to pass on, as CLI words (paths already made absolute where they should be) */
  datasetArgs: string[];
  gpusPerTask?: number;
  cpusPerTask?: number;
  partition?: string;
  time?: string;
  image?: string;
  pvc?: string;
  mount?: string;
  jobDir?: string;
  submit?: boolean;
}

function bad(msg: string): never {
  throw new CertsegError(msg, 'input');
}

/** How a Slurm node runs this certseg: this Node and this installation's bundled CLI (shared storage). */
export function thisCertseg(): string {
  const cli = packagePath('dist/server/cli.js');
  // Under VS Code (the "Write Cluster Job…" command) execPath is Electron's binary, which is no Node on a
  // compute node: the node on PATH there runs it.
  return `${process.versions.electron ? 'node' : process.execPath} ${cli}`;
}

export async function writeClusterJob(c: ClusterCommand, log: (s: string) => void): Promise<{ files: string[]; submitLine: string }> {
  // Everything is checked before the first file is written: a bad option leaves nothing behind.
  if (!Number.isInteger(c.shards) || c.shards < 1) bad('cluster needs --shards N (a positive integer)');
  const gpus = c.gpusPerTask ?? 1;
  if (!Number.isInteger(gpus) || gpus < 0) bad('--gpus-per-task needs a non-negative integer');
  // These go into #SBATCH lines and YAML: one plain word each (a newline would inject a directive).
  for (const [flag, x] of [
    ['--partition', c.partition],
    ['--time', c.time],
    ['--image', c.image],
    ['--pvc', c.pvc],
  ] as const) {
    if (x !== undefined && !/^[\w.:/@+,=-]+$/.test(x))
      bad(`${flag} needs one word (letters, digits, . : / @ + , = - _), got ${JSON.stringify(x)}`);
  }
  const name = jobName(path.basename(path.resolve(c.dataset)));
  const jobDir = path.resolve(c.jobDir ?? 'certseg-jobs');
  const makeJobDir = (sub = '') =>
    mkdir(path.join(jobDir, sub), { recursive: true }).catch((e) =>
      bad(`cannot write the job files to ${jobDir}: ${(e as NodeJS.ErrnoException).code}`),
    );

  if (c.kind === 'slurm') {
    // Nodes see the same file system (shared storage): absolute paths of this machine.
    const dataset = path.resolve(c.dataset);
    if (!existsSync(dataset)) bad(`dataset ${c.dataset} does not exist`);
    const job = {
      ...base(c, name, dataset, path.resolve(c.out ?? path.join('certseg-out', path.basename(dataset))), gpus),
      partition: c.partition,
      time: c.time,
      certsegCommand: thisCertseg(),
      jobDir,
    };
    await makeJobDir('logs'); // sbatch does not create the folder of --output
    const s = slurmScripts(job);
    const f = slurmFiles(job);
    await writeFileAtomic(f.array, s.array, 0o755);
    await writeFileAtomic(f.merge, s.merge, 0o755);
    const line = slurmSubmitLine(job);
    log(
      `wrote ${f.array} (${c.shards} array tasks${gpus ? `, ${gpus} GPU each` : ''}) and ${f.merge} (the merge, after all shards succeeded)`,
    );
    if (!c.submit) {
      log(`submit with:\n  ${line}`);
      return { files: [f.array, f.merge], submitLine: line };
    }
    const sbatch = (args: string[], what: string) => {
      try {
        // bounded: sbatch retries an unreachable controller on its own
        return execFileSync('sbatch', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 }).trim();
      } catch (e) {
        const err = e as NodeJS.ErrnoException & { stderr?: string; signal?: string };
        if (err.code === 'ENOENT') bad('sbatch is not installed here; submit from a Slurm login node (the job files are written)');
        const why = err.signal
          ? 'sbatch did not answer within 2 minutes (is the Slurm controller up?)'
          : `sbatch failed: ${(err.stderr || err.message).trim().split('\n')[0]}`;
        bad(`${why}${what}`);
      }
    };
    const arrayId = sbatch(['--parsable', f.array], '; nothing was submitted').split(';')[0];
    const mergeId = sbatch(
      ['--parsable', `--dependency=afterok:${arrayId}`, f.merge],
      `; the shards were submitted (job ${arrayId}) but not the merge: sbatch --dependency=afterok:${arrayId} ${f.merge}`,
    ).split(';')[0];
    log(
      `submitted: shards as job array ${arrayId}, merge as job ${mergeId} (runs after every shard succeeded); the result goes to ${job.out}`,
    );
    return { files: [f.array, f.merge], submitLine: line };
  }

  if (!c.image) bad('cluster k8s needs --image IMAGE (the certseg container image; see the Dockerfile)');
  if (c.submit) bad('cluster k8s does not submit; apply the manifests with kubectl (the line is printed)');
  // Paths as the pods see them (the volume's mount), not this machine's.
  const inPod = (p: string, what: string) =>
    path.posix.isAbsolute(p)
      ? p
      : bad(`cluster k8s needs ${what} as an absolute path inside the container (e.g. ${c.mount ?? '/data'}/…), got ${p}`);
  const dataset = inPod(c.dataset, 'DIR');
  const out = inPod(c.out ?? bad('cluster k8s needs --out (the output folder inside the container, on the shared volume)'), '--out');
  for (let i = 0; i < c.datasetArgs.length; i++) {
    if (['--config', '--segmenter', '--denoiser'].includes(c.datasetArgs[i])) inPod(c.datasetArgs[i + 1], c.datasetArgs[i]);
  }
  if (c.mount !== undefined) inPod(c.mount, '--mount');
  const job = { ...base(c, name, dataset, out, gpus), image: c.image, pvc: c.pvc, mountPath: c.mount };
  const m = kubernetesManifests(job);
  const f = kubernetesFiles(job, jobDir);
  const header = (what: string) =>
    `# ${what}\n# Written by \`certseg cluster k8s\`; yours to edit. Run:\n#   ${kubernetesSubmitLine(job, jobDir)}\n`;
  await makeJobDir();
  await writeFileAtomic(f.shards, header(`certseg: certify ${dataset} in ${c.shards} shards (an Indexed Job).`) + toYaml(m.shards) + '\n');
  await writeFileAtomic(f.merge, header(`certseg: merge the shards into ${out}/summary.json.`) + toYaml(m.merge) + '\n');
  const line = kubernetesSubmitLine(job, jobDir);
  log(
    `wrote ${f.shards} (Indexed Job, ${c.shards} pods${gpus ? `, ${gpus} GPU each` : ''}) and ${f.merge} (the merge Job)\nrun:\n  ${line}`,
  );
  return { files: [f.shards, f.merge], submitLine: line };
}

function base(c: ClusterCommand, name: string, dataset: string, out: string, gpus: number): ClusterJob {
  return { name, dataset, out, shards: c.shards, datasetArgs: c.datasetArgs, gpusPerTask: gpus, cpusPerTask: c.cpusPerTask };
}

/** Options of `certseg cluster` that only one scheduler takes: refused for the other, not ignored. */
const ONLY: Record<'slurm' | 'k8s', string[]> = { slurm: ['partition', 'time', 'submit'], k8s: ['image', 'pvc', 'mount'] };
/** `certseg dataset` options that the shards run with (config overrides, the split and limit). */
const PASS_VALUES = [
  'split',
  'limit',
  'sigma',
  'n0',
  'n',
  'tau',
  'alpha',
  'correction',
  'engine',
  'batch-size',
  'memory-budget',
  'convention',
  'seed',
];
const PASS_PATHS = ['config', 'segmenter', 'denoiser'];

function count(v: unknown, flag: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (String(v).trim() === '' || !Number.isInteger(x) || x < min)
    bad(`${flag} needs ${min ? 'a positive' : 'a non-negative'} integer, got "${v}"`);
  return x;
}

/**
 * `certseg cluster slurm|k8s DIR …` from parsed CLI values. `overrides` are the config overrides as
 * `certseg dataset` reads them: the config and overrides are checked here, so that a typo fails now with
 * one line instead of in every shard on the cluster.
 */
export async function clusterFromCli(
  positionals: string[],
  v: Record<string, string | boolean | undefined>,
  log: (s: string) => void,
  overrides: Partial<CertsegConfig>,
): Promise<{ files: string[]; submitLine: string }> {
  const [kind, ...dirs] = positionals;
  if (kind !== 'slurm' && kind !== 'k8s')
    bad(`cluster needs slurm or k8s: certseg cluster slurm|k8s DIR --shards N${kind ? ` (got "${kind}")` : ''}`);
  if (dirs.length !== 1) bad(`cluster ${kind} needs one dataset folder DIR, got ${dirs.length}`);
  const other = kind === 'slurm' ? 'k8s' : 'slurm';
  const wrong = ONLY[other].filter((o) => v[o] !== undefined);
  if (wrong.length) bad(`cluster ${kind} does not take ${wrong.map((o) => `--${o}`).join(', ')} (that is for cluster ${other})`);
  if (v.shards === undefined) bad(`cluster ${kind} needs --shards N (the number of array tasks or pods)`);
  const shards = count(v.shards, '--shards', 1) as number;

  // Slurm nodes share this machine's file system: local paths, made absolute and checked. Pods see
  // the volume's paths: passed as given (checked absolute in writeClusterJob).
  const local = kind === 'slurm';
  const datasetArgs: string[] = [];
  for (const k of PASS_PATHS) {
    const p = v[k];
    if (typeof p !== 'string') continue;
    if (local && !existsSync(p)) bad(`--${k} ${p} does not exist`);
    datasetArgs.push(`--${k}`, local ? path.resolve(p) : p);
  }
  for (const k of PASS_VALUES) if (typeof v[k] === 'string') datasetArgs.push(`--${k}`, v[k] as string);
  if (v['no-denoiser']) datasetArgs.push('--no-denoiser');
  if (local) await loadConfig(typeof v.config === 'string' ? path.resolve(v.config) : null, overrides);
  else {
    const { segmenter: _s, denoiser: _d, ...plain } = overrides; // model paths are the pods', not ours
    await loadConfig(null, plain);
  }
  if (v.limit !== undefined) count(v.limit, '--limit', 1);

  return writeClusterJob(
    {
      kind,
      dataset: dirs[0],
      shards,
      out: v.out as string | undefined,
      datasetArgs,
      gpusPerTask: count(v['gpus-per-task'], '--gpus-per-task', 0),
      cpusPerTask: count(v['cpus-per-task'], '--cpus-per-task', 1),
      partition: v.partition as string | undefined,
      time: v.time as string | undefined,
      image: v.image as string | undefined,
      pvc: v.pvc as string | undefined,
      mount: v.mount as string | undefined,
      jobDir: v['job-dir'] as string | undefined,
      submit: v.submit as boolean | undefined,
    },
    log,
  );
}
