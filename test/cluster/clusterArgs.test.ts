/**
 * "certseg: Write Cluster Job…" (client/src/clusterJob.ts): the choices made in VS Code become a
 * `certseg cluster` command line (client/src/clusterArgs.ts), which the real bundled CLI turns into job
 * files. Tested here without the VS Code UI: the mapping, run through dist/server/cli.js; the Kubernetes
 * manifest validated against the Job schema. Build first: `npm run build`.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { clusterArgs, parseClusterOutput, podPath } from '../../client/src/clusterArgs';
import { certseg, cli, root } from './helpers';

const tmp = mkdtempSync(path.join(tmpdir(), 'certseg-clusterargs-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const ds = path.join(tmp, 'data', 'kvasir');
mkdirSync(path.join(ds, 'images'), { recursive: true });
const config = path.join(root, 'models/polyp/polyp.certseg.json');

test("Slurm from the extension: the config and the settings' overrides reach the shards' command", async () => {
  assert.ok(existsSync(cli), 'run `npm run build` first');
  const out = path.join(tmp, '.certseg', 'datasets', 'data__kvasir', 'polyp');
  const args = clusterArgs({
    kind: 'slurm',
    dataset: ds,
    configPath: config,
    overrides: { engine: 'onnx', batchSize: 4 },
    out,
    jobDir: path.join(tmp, 'jobs'),
    shards: 3,
    gpusPerTask: 1,
  });
  const r = await certseg(args);
  assert.equal(r.code, 0, r.stderr);
  const { files, submitLine } = parseClusterOutput(r.stdout);
  assert.deepEqual(files, [path.join(tmp, 'jobs', 'certseg-kvasir.sbatch'), path.join(tmp, 'jobs', 'certseg-kvasir-merge.sbatch')]);
  assert.match(submitLine, /^jid=\$\(sbatch --parsable .*certseg-kvasir\.sbatch\) && sbatch --dependency=afterok:/);
  const script = readFileSync(files[0], 'utf8');
  assert.match(
    script,
    new RegExp(`\\$CERTSEG dataset ${ds} --out ${out} --shards 3 --resume --config ${config} --engine onnx --batch-size 4\\n`),
  );
  assert.ok(script.includes('#SBATCH --gpus-per-task=1'));
  assert.ok(readFileSync(files[1], 'utf8').includes(`$CERTSEG merge ${out} --out ${out}`));
});

test("Kubernetes from the extension: workspace paths become paths on the pods' volume; the manifest is a valid Job", async () => {
  const out = path.join(tmp, '.certseg', 'datasets', 'data__kvasir', 'default');
  const args = clusterArgs({
    kind: 'k8s',
    dataset: ds,
    configPath: null,
    overrides: {},
    out,
    jobDir: path.join(tmp, 'k8s'),
    shards: 5,
    gpusPerTask: 0,
    image: 'certseg:cpu',
    mount: '/data',
    pvc: 'ws',
    root: tmp,
  });
  const r = await certseg(args);
  assert.equal(r.code, 0, r.stderr);
  const { files, submitLine } = parseClusterOutput(r.stdout);
  assert.equal(files.length, 2);
  assert.match(submitLine, /^kubectl apply -f .*certseg-kvasir-shards\.yaml && kubectl wait/);
  const job = parse(readFileSync(files[0], 'utf8'));
  new Job(job).validate();
  assert.equal(job.spec.completionMode, 'Indexed');
  assert.deepEqual(job.spec.template.spec.containers[0].command, [
    'certseg',
    'dataset',
    '/data/data/kvasir',
    '--out',
    '/data/.certseg/datasets/data__kvasir/default',
    '--shards',
    '5',
    '--resume',
  ]);
  assert.deepEqual(job.spec.template.spec.containers[0].volumeMounts, [{ name: 'data', mountPath: '/data' }]);
});

test('podPath: inside the workspace folder maps to the mount; outside is refused', () => {
  assert.equal(podPath(path.join(tmp, 'a', 'b'), tmp, '/mnt/ws'), '/mnt/ws/a/b');
  assert.equal(podPath(tmp, tmp, '/mnt/ws'), '/mnt/ws');
  assert.throws(() => podPath('/elsewhere/ds', tmp, '/data'), /outside the workspace folder/);
  assert.throws(
    () =>
      clusterArgs({
        kind: 'k8s',
        dataset: '/elsewhere/ds',
        configPath: null,
        overrides: {},
        out: path.join(tmp, 'o'),
        jobDir: tmp,
        shards: 2,
        gpusPerTask: 1,
        image: 'x',
        mount: '/data',
        root: tmp,
      }),
    /outside the workspace folder/,
  );
});
