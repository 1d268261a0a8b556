/**
 * Job files for running `certseg dataset` on a cluster, written for the user to read, edit and submit
 * (certseg does not schedule anything itself):
 *  - Slurm: an sbatch job array (one task per shard) and a merge script, submitted with
 *    --dependency=afterok on the array, so the merge runs once every shard succeeded;
 *  - Kubernetes: an Indexed Job (one pod per shard, JOB_COMPLETION_INDEX = the shard) and a merge Job.
 * Every shard writes into the one output folder on shared storage (per-image folders are staged and
 * renamed, shard summaries are separate files) and the merge completes that folder in place, so the
 * result is an ordinary dataset result.
 */

export interface ClusterJob {
  /** job name (from the dataset's folder name) */
  name: string;
  /** dataset folder and output folder, as the cluster's nodes (or pods) see them */
  dataset: string;
  out: string;
  shards: number;
  /** further `certseg dataset` arguments (config, split, limit, parameter overrides) */
  datasetArgs: string[];
  gpusPerTask: number;
  cpusPerTask?: number;
}

export interface SlurmJob extends ClusterJob {
  partition?: string;
  time?: string;
  /** how a node runs certseg, e.g. "node /opt/certseg/dist/server/cli.js" (overridable by $CERTSEG) */
  certsegCommand: string;
  /** folder of the job scripts; Slurm logs go to its logs/ */
  jobDir: string;
}

export interface KubernetesJob extends ClusterJob {
  image: string;
  /** a PersistentVolumeClaim with the dataset and the output, mounted at `mountPath` */
  pvc?: string;
  mountPath?: string;
}

/** A name Slurm and Kubernetes both accept (DNS-1123 label, ≤ 40 characters to leave room for suffixes). */
export function jobName(datasetFolder: string): string {
  const base = datasetFolder
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32)
    .replace(/-+$/, '');
  return `certseg-${base || 'dataset'}`;
}

/** A POSIX shell word. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const words = (xs: string[]) => xs.map(shellQuote).join(' ');

export function slurmScripts(j: SlurmJob): { array: string; merge: string } {
  const logs = `${j.jobDir}/logs`;
  const common = [...(j.partition ? [`#SBATCH --partition=${j.partition}`] : []), ...(j.time ? [`#SBATCH --time=${j.time}`] : [])];
  const head = (what: string) => [
    '#!/bin/bash',
    `# ${what}`,
    '# Written by `certseg cluster slurm`; yours to edit. Submit the shards and the merge together:',
    `#   ${slurmSubmitLine(j)}`,
  ];
  const certseg = [
    '# How this node runs certseg (export CERTSEG to use another installation).',
    `CERTSEG=\${CERTSEG:-${shellQuote(j.certsegCommand)}}`,
  ];
  const array = [
    ...head(`certseg: certify ${j.dataset} in ${j.shards} shards, one Slurm array task each.`),
    `#SBATCH --job-name=${j.name}`,
    `#SBATCH --array=0-${j.shards - 1}`,
    '#SBATCH --ntasks=1',
    ...(j.cpusPerTask ? [`#SBATCH --cpus-per-task=${j.cpusPerTask}`] : []),
    // Slurm sets CUDA_VISIBLE_DEVICES to the task's GPUs; the CUDA engine uses what it sees.
    ...(j.gpusPerTask > 0 ? [`#SBATCH --gpus-per-task=${j.gpusPerTask}`] : []),
    ...common,
    `#SBATCH --output=${logs}/%x-%A_%a.out`,
    'set -euo pipefail',
    ...certseg,
    "# ONNX Runtime's threads: the task's CPUs (Slurm sets SLURM_CPUS_PER_TASK with --cpus-per-task), not every",
    '# core of the node, which tasks sharing a node would oversubscribe. 0: ONNX Runtime decides.',
    'export CERTSEG_ORT_THREADS=${CERTSEG_ORT_THREADS:-${SLURM_CPUS_PER_TASK:-0}}',
    '# Task k certifies the images at positions k, k+N, k+2N, … (certseg reads SLURM_ARRAY_TASK_ID).',
    '# --resume: a requeued or resubmitted task redoes only its unfinished images.',
    `$CERTSEG dataset ${words([j.dataset, '--out', j.out, '--shards', String(j.shards), '--resume', ...j.datasetArgs])}`,
    '',
  ].join('\n');
  const merge = [
    ...head(`certseg: merge the ${j.shards} shards of ${j.dataset} into ${j.out}/summary.json.`),
    `#SBATCH --job-name=${j.name}-merge`,
    '#SBATCH --ntasks=1',
    ...common,
    `#SBATCH --output=${logs}/%x-%j.out`,
    'set -euo pipefail',
    ...certseg,
    `$CERTSEG merge ${words([j.out, '--out', j.out])}`,
    '',
  ].join('\n');
  return { array, merge };
}

export const slurmFiles = (j: Pick<SlurmJob, 'jobDir' | 'name'>) => ({
  array: `${j.jobDir}/${j.name}.sbatch`,
  merge: `${j.jobDir}/${j.name}-merge.sbatch`,
});

/** The shell line that submits the array and then the merge, dependent on the whole array's success. */
export function slurmSubmitLine(j: Pick<SlurmJob, 'jobDir' | 'name'>): string {
  const f = slurmFiles(j);
  return `jid=$(sbatch --parsable ${shellQuote(f.array)}) && sbatch --dependency=afterok:\${jid%%;*} ${shellQuote(f.merge)}`;
}

type Manifest = Record<string, unknown>;

export function kubernetesManifests(j: KubernetesJob): { shards: Manifest; merge: Manifest } {
  const mount = j.mountPath ?? '/data';
  const volumes = j.pvc ? [{ name: 'data', persistentVolumeClaim: { claimName: j.pvc } }] : undefined;
  const volumeMounts = j.pvc ? [{ name: 'data', mountPath: mount }] : undefined;
  const resources = (gpus: number) => ({
    requests: { cpu: String(j.cpusPerTask ?? 2), memory: '4Gi', ...(gpus > 0 ? { 'nvidia.com/gpu': String(gpus) } : {}) },
    limits: { memory: '8Gi', ...(gpus > 0 ? { 'nvidia.com/gpu': String(gpus) } : {}) },
  });
  const pod = (command: string[], gpus: number) => ({
    metadata: { labels: { app: 'certseg', 'certseg/job': j.name } },
    spec: {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'certseg',
          image: j.image,
          command,
          // a container sees every core of the node: ONNX Runtime gets the pod's CPU request instead
          env: [{ name: 'CERTSEG_ORT_THREADS', value: String(j.cpusPerTask ?? 2) }],
          resources: resources(gpus),
          ...(volumeMounts ? { volumeMounts } : {}),
        },
      ],
      ...(volumes ? { volumes } : {}),
    },
  });
  const shards: Manifest = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `${j.name}-shards`, labels: { app: 'certseg' } },
    spec: {
      // Pod k gets JOB_COMPLETION_INDEX=k: certseg takes it as the shard index, the count from --shards.
      completionMode: 'Indexed',
      completions: j.shards,
      parallelism: j.shards,
      backoffLimit: j.shards, // about one retry per shard; a retried pod resumes (--resume)
      template: pod(
        ['certseg', 'dataset', j.dataset, '--out', j.out, '--shards', String(j.shards), '--resume', ...j.datasetArgs],
        j.gpusPerTask,
      ),
    },
  };
  const merge: Manifest = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `${j.name}-merge`, labels: { app: 'certseg' } },
    spec: { completions: 1, parallelism: 1, backoffLimit: 1, template: pod(['certseg', 'merge', j.out, '--out', j.out], 0) },
  };
  return { shards, merge };
}

export const kubernetesFiles = (j: Pick<KubernetesJob, 'name'>, dir: string) => ({
  shards: `${dir}/${j.name}-shards.yaml`,
  merge: `${dir}/${j.name}-merge.yaml`,
});

/** kubectl has no job dependencies: apply the shards, wait for them all, then apply the merge. */
export function kubernetesSubmitLine(j: Pick<KubernetesJob, 'name'>, dir: string): string {
  const f = kubernetesFiles(j, dir);
  return `kubectl apply -f ${shellQuote(f.shards)} && kubectl wait --for=condition=complete --timeout=24h job/${j.name}-shards && kubectl apply -f ${shellQuote(f.merge)}`;
}

/** YAML for plain data (objects, arrays, strings, numbers, booleans): strings double-quoted (JSON escapes are YAML's). */
export function toYaml(v: unknown, indent = 0): string {
  const pad = ' '.repeat(indent);
  const scalar = (x: unknown) => (typeof x === 'string' ? JSON.stringify(x) : String(x));
  const isBlock = (x: unknown) => x !== null && typeof x === 'object' && Object.keys(x as object).length > 0;
  if (Array.isArray(v)) {
    if (!v.length) return '[]';
    return v.map((x) => (isBlock(x) ? `${pad}- ${toYaml(x, indent + 2).trimStart()}` : `${pad}- ${scalar(x)}`)).join('\n');
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (!entries.length) return '{}';
    return entries
      .map(([k, x]) => {
        const key = /^[A-Za-z0-9_./-]+$/.test(k) ? k : JSON.stringify(k);
        if (isBlock(x)) return `${pad}${key}:\n${toYaml(x, indent + 2)}`;
        if (x !== null && typeof x === 'object') return `${pad}${key}: ${Array.isArray(x) ? '[]' : '{}'}`;
        return `${pad}${key}: ${scalar(x)}`;
      })
      .join('\n');
  }
  return scalar(v);
}
