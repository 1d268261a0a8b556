/**
 * Which share of a dataset this process certifies. From `--shard I/N`, else from the scheduler that
 * started it: a Slurm job array (SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT, or _MIN/_MAX), or a
 * Kubernetes Indexed Job (JOB_COMPLETION_INDEX, with the count from `--shards N`).
 *
 * Image i (in certification order, after --split/--limit) belongs to shard i mod N: deterministic,
 * balanced, and independent of where or when a shard runs. Per-image results do not depend on the shard
 * either: each sample's noise is seeded by (seed, sample index) only (core/rng.ts), never by the image's
 * position, so any sharding reproduces a one-process run image by image.
 */
import { CertsegError } from '../core/errors';

export type ShardSource = '--shard' | 'slurm' | 'kubernetes';

export interface Shard {
  /** 0-based */
  index: number;
  count: number;
  source: ShardSource;
}

function bad(msg: string): never {
  throw new CertsegError(msg, 'input');
}

function int(v: string, what: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isInteger(x) || x < 0) bad(`${what} must be a non-negative integer, got "${v}"`);
  return x;
}

function checked(index: number, count: number, source: ShardSource, what: string): Shard {
  if (count < 1) bad(`${what}: the shard count must be at least 1`);
  if (index >= count) bad(`${what}: shard index ${index} is not below the shard count ${count}`);
  return { index, count, source };
}

/**
 * The shard to run, or null for the whole dataset. `shard` is the --shard value ("I/N", I 0-based),
 * `shards` the --shards value (the count, for Kubernetes where the index alone is in the environment).
 */
export function resolveShard(shard: string | undefined, shards: number | undefined, env: NodeJS.ProcessEnv = process.env): Shard | null {
  if (shards !== undefined && (!Number.isInteger(shards) || shards < 1)) bad(`--shards needs a positive integer, got ${shards}`);
  if (shard !== undefined) {
    const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(shard);
    if (!m) bad(`--shard needs I/N (0-based index I of N shards, e.g. 0/3), got "${shard}"`);
    const s = checked(Number(m[1]), Number(m[2]), '--shard', `--shard ${shard}`);
    if (shards !== undefined && shards !== s.count) bad(`--shard ${shard} and --shards ${shards} disagree on the shard count`);
    return s;
  }
  const id = env.SLURM_ARRAY_TASK_ID;
  if (id !== undefined && id !== '') {
    const index = int(id, 'SLURM_ARRAY_TASK_ID');
    const min = env.SLURM_ARRAY_TASK_MIN ? int(env.SLURM_ARRAY_TASK_MIN, 'SLURM_ARRAY_TASK_MIN') : 0;
    let count: number;
    if (shards !== undefined) count = shards;
    else if (env.SLURM_ARRAY_TASK_COUNT) count = int(env.SLURM_ARRAY_TASK_COUNT, 'SLURM_ARRAY_TASK_COUNT');
    else if (env.SLURM_ARRAY_TASK_MAX) count = int(env.SLURM_ARRAY_TASK_MAX, 'SLURM_ARRAY_TASK_MAX') - min + 1;
    else bad('SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX is; pass --shards N');
    return checked(index - min, count, 'slurm', `Slurm array task ${id}`);
  }
  const k = env.JOB_COMPLETION_INDEX;
  if (k !== undefined && k !== '') {
    if (shards === undefined)
      bad("JOB_COMPLETION_INDEX is set (Kubernetes Indexed Job) but the shard count is not; pass --shards N (the Job's completions)");
    return checked(int(k, 'JOB_COMPLETION_INDEX'), shards, 'kubernetes', `JOB_COMPLETION_INDEX ${k}`);
  }
  if (shards !== undefined)
    bad('--shards N needs a shard index: --shard I/N, a Slurm array task or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)');
  return null;
}

/** The items of shard `s` (position mod count), in their original order. */
export function shardItems<T>(items: readonly T[], s: Shard | null): T[] {
  return s ? items.filter((_, i) => i % s.count === s.index) : items.slice();
}

/** "shard 2/3 (from the Slurm array)" */
export function describeShard(s: Shard): string {
  const from =
    s.source === '--shard' ? 'from --shard' : s.source === 'slurm' ? 'from the Slurm job array' : 'from the Kubernetes Indexed Job';
  return `shard ${s.index}/${s.count} (${from})`;
}

/** The shard's summary file: several shards may share one output folder. */
export function shardSummaryName(s: Pick<Shard, 'index' | 'count'>): string {
  return `shard-${s.index}-of-${s.count}.json`;
}
export const SHARD_SUMMARY_RE = /^shard-(\d+)-of-(\d+)\.json$/;
