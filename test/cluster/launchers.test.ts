/**
 * `certseg cluster slurm|k8s`: the job files, written by the real CLI (dist/server/cli.js).
 *  - Kubernetes: both manifests parse as YAML and pass the Job schema (kubernetes-models, the OpenAPI
 *    schema of batch/v1 Job); the shard Job is Indexed, with one pod per shard and GPU requests when asked.
 *  - The index→shard mapping: each pod's command, run as written with JOB_COMPLETION_INDEX set by hand,
 *    certifies exactly its share (position mod N) of six real Kvasir-SEG images, and the merge Job's
 *    command joins them into one summary of all six.
 *  - Slurm: the array and merge scripts (the Slurm E2E test in slurm.test.ts submits them for real).
 *  - Bad input: one line, exit 2, no file written.
 * Build first: `npm run build`.
 */
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { shardItems } from '../../server/src/cluster/shard';
import type { ShardSummary } from '../../server/src/pipeline/datasetSummary';
import { SKIP_NO_KVASIR, SMALL, certseg, cli, makeDataset, readSummary, root } from './helpers';

const tmp = mkdtempSync(path.join(tmpdir(), 'certseg-launchers-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
before(() => assert.ok(existsSync(cli), 'run `npm run build` first'));

interface Container {
  command: string[];
  env?: { name: string; value: string }[];
  resources: { requests: Record<string, string>; limits: Record<string, string> };
}
const container = (job: Record<string, any>): Container => job.spec.template.spec.containers[0];

/** The manifests `certseg cluster k8s` wrote, parsed and validated against the Job schema. */
function readJobs(jobDir: string): { shards: Record<string, any>; merge: Record<string, any> } {
  const files = readdirSync(jobDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  assert.equal(files.length, 2, files.join());
  const [merge, shards] = files.map((f) => parse(readFileSync(path.join(jobDir, f), 'utf8')) as Record<string, any>);
  for (const m of [shards, merge]) {
    assert.equal(m.kind, 'Job');
    new Job(m as ConstructorParameters<typeof Job>[0]).validate(); // throws on a schema violation
  }
  return { shards, merge };
}

test('the Job schema check is real: it rejects a broken manifest', () => {
  assert.throws(
    () =>
      new Job({
        metadata: { name: 'x' },
        spec: { completionMode: 'Sometimes', template: { spec: { containers: [{ name: 'c' }] } } },
      } as never).validate(),
    /completionMode/,
  );
  assert.throws(
    () =>
      new Job({
        metadata: { name: 'x' },
        spec: { parallelism: '3', template: { spec: { containers: [{ name: 'c' }] } } },
      } as never).validate(),
    /parallelism must be integer/,
  );
});

test('k8s: an Indexed Job (one pod per shard, GPU requests) and a merge Job, valid against the Job schema', async () => {
  const jobDir = path.join(tmp, 'k8s-gpu');
  const r = await certseg([
    'cluster',
    'k8s',
    '/data/kvasir',
    '--shards',
    '4',
    '--image',
    'registry.example/certseg:0.1',
    '--out',
    '/data/out',
    '--pvc',
    'certseg-data',
    '--gpus-per-task',
    '2',
    '--job-dir',
    jobDir,
    '--n',
    '500',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /kubectl apply -f .*shards\.yaml && kubectl wait --for=condition=complete .* && kubectl apply -f .*merge\.yaml/);
  const { shards, merge } = readJobs(jobDir);
  assert.equal(shards.spec.completionMode, 'Indexed');
  assert.equal(shards.spec.completions, 4);
  assert.equal(shards.spec.parallelism, 4);
  const c = container(shards);
  assert.deepEqual(c.command, ['certseg', 'dataset', '/data/kvasir', '--out', '/data/out', '--shards', '4', '--resume', '--n', '500']);
  assert.equal(c.resources.requests['nvidia.com/gpu'], '2');
  assert.equal(c.resources.limits['nvidia.com/gpu'], '2');
  // ONNX Runtime gets the pod's CPU request, not every core of the node the container sees
  assert.deepEqual(c.env, [{ name: 'CERTSEG_ORT_THREADS', value: c.resources.requests.cpu }]);
  assert.deepEqual(shards.spec.template.spec.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'certseg-data' } }]);
  assert.equal(merge.spec.completionMode, undefined);
  assert.deepEqual(container(merge).command, ['certseg', 'merge', '/data/out', '--out', '/data/out']);
  assert.equal(container(merge).resources.requests['nvidia.com/gpu'], undefined, 'the merge needs no GPU');
});

test('k8s: --gpus-per-task 0 requests no GPU', async () => {
  const jobDir = path.join(tmp, 'k8s-cpu');
  const r = await certseg([
    'cluster',
    'k8s',
    '/data/ds',
    '--shards',
    '2',
    '--image',
    'certseg:cpu',
    '--out',
    '/data/out',
    '--gpus-per-task',
    '0',
    '--job-dir',
    jobDir,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const { shards } = readJobs(jobDir);
  assert.equal(container(shards).resources.requests['nvidia.com/gpu'], undefined);
  assert.equal(shards.spec.template.spec.volumes, undefined, 'no volume without --pvc');
});

test(
  'k8s index→shard: each pod command with JOB_COMPLETION_INDEX certifies its share; the merge Job joins them',
  { skip: SKIP_NO_KVASIR },
  async () => {
    const ds = path.join(tmp, 'ds');
    const ids = makeDataset(ds, 6);
    const out = path.join(tmp, 'k8s-out');
    const jobDir = path.join(tmp, 'k8s-run');
    // Absolute paths of this machine stand for the pods' volume paths.
    const w = await certseg([
      'cluster',
      'k8s',
      ds,
      '--shards',
      '3',
      '--image',
      'certseg:test',
      '--out',
      out,
      '--gpus-per-task',
      '0',
      '--job-dir',
      jobDir,
      ...SMALL,
    ]);
    assert.equal(w.code, 0, w.stderr);
    const { shards, merge } = readJobs(jobDir);
    const podCommand = container(shards).command;
    assert.equal(podCommand[0], 'certseg');
    // Kubernetes sets JOB_COMPLETION_INDEX to 0…completions-1, one per pod: run the pods' command that way.
    for (let k = 0; k < shards.spec.completions; k++) {
      const r = await certseg(podCommand.slice(1), { JOB_COMPLETION_INDEX: String(k) });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`certifying shard ${k}/3 \\(from the Kubernetes Indexed Job\\)`));
      const s = JSON.parse(readFileSync(path.join(out, `shard-${k}-of-3.json`), 'utf8')) as ShardSummary;
      assert.deepEqual(
        s.perImage.map((p) => p.id),
        shardItems(ids, { index: k, count: 3, source: 'kubernetes' }),
        `pod ${k} certified images ${k}, ${k + 3}`,
      );
    }
    const m = await certseg(container(merge).command.slice(1));
    assert.equal(m.code, 0, m.stderr);
    const summary = readSummary(path.join(out, 'summary.json'));
    assert.deepEqual(
      summary.perImage.map((p) => p.id),
      ids,
      'all six images, in dataset order',
    );
    assert.equal(summary.partial, undefined);
  },
);

test('slurm: an sbatch array over the shards and a merge script for --dependency=afterok', async () => {
  const jobDir = path.join(tmp, 'slurm');
  const ds = path.join(root, 'models/default');
  const out = path.join(tmp, 'slurm-out');
  const r = await certseg([
    'cluster',
    'slurm',
    ds,
    '--shards',
    '3',
    '--partition',
    'gpu',
    '--time',
    '01:30:00',
    '--gpus-per-task',
    '1',
    '--out',
    out,
    '--job-dir',
    jobDir,
    '--no-denoiser',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const array = readFileSync(path.join(jobDir, 'certseg-default.sbatch'), 'utf8');
  const mergeScript = readFileSync(path.join(jobDir, 'certseg-default-merge.sbatch'), 'utf8');
  for (const line of ['#SBATCH --array=0-2', '#SBATCH --gpus-per-task=1', '#SBATCH --partition=gpu', '#SBATCH --time=01:30:00'])
    assert.ok(array.includes(line), line);
  assert.match(array, new RegExp(`\\$CERTSEG dataset ${ds} --out ${out} --shards 3 --resume --no-denoiser\\n`));
  // ONNX Runtime's threads follow the task's CPUs: the line is real shell, run here with and without Slurm's variable
  const threadsLine = array.split('\n').find((l) => l.startsWith('export CERTSEG_ORT_THREADS='));
  assert.ok(threadsLine, 'the array script sets CERTSEG_ORT_THREADS');
  const threads = (env: NodeJS.ProcessEnv) =>
    execFileSync('bash', ['-euc', `${threadsLine}; echo "$CERTSEG_ORT_THREADS"`], {
      env: { PATH: process.env.PATH, ...env },
      encoding: 'utf8',
    }).trim();
  assert.equal(threads({ SLURM_CPUS_PER_TASK: '6' }), '6');
  assert.equal(threads({}), '0', "without --cpus-per-task: ONNX Runtime's default");
  assert.equal(threads({ SLURM_CPUS_PER_TASK: '6', CERTSEG_ORT_THREADS: '3' }), '3', "the user's own setting wins");
  assert.match(mergeScript, new RegExp(`\\$CERTSEG merge ${out} --out ${out}\\n`));
  assert.ok(!mergeScript.includes('--array'), 'the merge is one job');
  // the printed line submits the merge dependent on the whole array
  assert.match(
    r.stdout,
    /jid=\$\(sbatch --parsable \S+certseg-default\.sbatch\) && sbatch --dependency=afterok:\$\{jid%%;\*\} \S+certseg-default-merge\.sbatch/,
  );
  assert.ok(existsSync(path.join(jobDir, 'logs')), 'the logs folder exists (sbatch does not create it)');
});

test('bad input: one line, exit 2, nothing written', async () => {
  const jobDir = path.join(tmp, 'bad');
  const ds = path.join(root, 'models/default');
  const cases: [string[], RegExp][] = [
    [['cluster', 'slurm', ds, '--shards', '0'], /--shards needs a positive integer, got "0"/],
    [['cluster', 'slurm', ds], /needs --shards N/],
    [['cluster', 'slurm', '--shards', '2'], /needs one dataset folder DIR/],
    [['cluster', 'slurm', path.join(tmp, 'nope'), '--shards', '2'], /dataset .*nope does not exist/],
    [['cluster', 'pbs', ds, '--shards', '2'], /needs slurm or k8s: .*\(got "pbs"\)/],
    [['cluster', 'slurm', ds, '--shards', '2', '--image', 'x'], /slurm does not take --image/],
    [['cluster', 'k8s', '/d', '--shards', '2', '--image', 'x', '--out', '/o', '--partition', 'p'], /k8s does not take --partition/],
    [['cluster', 'k8s', '/d', '--shards', '2', '--out', '/o'], /needs --image IMAGE/],
    [['cluster', 'k8s', 'rel/ds', '--shards', '2', '--image', 'x', '--out', '/o'], /absolute path inside the container/],
    [['cluster', 'slurm', ds, '--shards', '2', '--gpus-per-task=-1'], /--gpus-per-task needs a non-negative integer/],
    [['cluster', 'slurm', ds, '--shards', '2', '--time', '1:00\n#SBATCH --x'], /--time needs one word/],
    [['cluster', 'slurm', ds, '--shards', '2', '--config', path.join(tmp, 'no.certseg.json')], /--config .* does not exist/],
    [['cluster', 'slurm', ds, '--shards', '2', '--n', 'many'], /--n needs a number/],
    [['cluster', 'slurm', ds, '--shards', '2', '--rics', '3'], /cluster does not take --rics/],
  ];
  for (const [args, re] of cases) {
    const r = await certseg([...args, '--job-dir', jobDir]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], re);
  }
  assert.ok(!existsSync(jobDir), 'no job file written');
});

test('slurm --submit without a reachable Slurm: one line saying what was (not) submitted', async () => {
  const ds = path.join(root, 'models/default');
  const jobDir = path.join(tmp, 'submit');
  const args = [
    'cluster',
    'slurm',
    ds,
    '--shards',
    '2',
    '--gpus-per-task',
    '0',
    '--out',
    path.join(tmp, 'submit-out'),
    '--job-dir',
    jobDir,
    '--submit',
  ];
  // no sbatch on PATH (not a login node)
  const none = await certseg(args, { PATH: '/nonexistent' });
  assert.equal(none.code, 2, none.stderr);
  assert.equal(none.stderr.trim(), 'certseg: sbatch is not installed here; submit from a Slurm login node (the job files are written)');
  assert.ok(existsSync(path.join(jobDir, 'certseg-default.sbatch')));
  // the real sbatch, pointed at a controller that is not there
  if (!existsSync('/usr/bin/sbatch')) return;
  const conf = path.join(tmp, 'nowhere.conf');
  const host = hostname().split('.')[0];
  writeFileSync(
    conf,
    `ClusterName=nowhere\nSlurmctldHost=${host}\nSlurmctldPort=1\nNodeName=${host}\nPartitionName=p Nodes=${host} Default=YES\n`,
  );
  const down = await certseg(args, { SLURM_CONF: conf });
  assert.equal(down.code, 2, down.stderr);
  const lines = down.stderr.trim().split('\n');
  assert.equal(lines.length, 1, down.stderr);
  assert.match(lines[0], /^certseg: sbatch failed: .*(contact|connect).*; nothing was submitted$/);
});
