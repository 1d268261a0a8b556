/**
 * Sharded dataset certification and `certseg merge`, as a cluster runs them: real CLI processes, the
 * shipped polyp segmenter, six real Kvasir-SEG images. Shards run at the same time into one shared output
 * folder (plus a resubmitted duplicate of one shard writing the same images at once), and the merged
 * summary.json must equal a one-process run's in every field except the timings. A shard that fails
 * midway, a missing shard, --allow-partial, --resume of one shard and shards that disagree are tested too.
 * Build first: `npm run build`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { resolveShard, shardItems } from '../../server/src/cluster/shard';
import type { ShardSummary } from '../../server/src/pipeline/datasetSummary';
import { SKIP_NO_KVASIR, SMALL, certseg, cli, makeDataset, readSummary, withoutTimings } from './helpers';

const tmp = mkdtempSync(path.join(tmpdir(), 'certseg-shards-'));
const ds = path.join(tmp, 'ds');
let ids: string[] = [];
const oneLineError = (r: { code: number | null; stderr: string }, re: RegExp) => {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], re);
};

before(() => {
  assert.ok(existsSync(cli), 'run `npm run build` first');
  if (!SKIP_NO_KVASIR) ids = makeDataset(ds, 6);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

test('shard index and count: --shard, a Slurm array, a Kubernetes Indexed Job; position mod N', () => {
  assert.deepEqual(resolveShard('1/3', undefined, {}), { index: 1, count: 3, source: '--shard' });
  assert.equal(resolveShard(undefined, undefined, {}), null);
  // Slurm: the count from SLURM_ARRAY_TASK_COUNT, or MAX-MIN+1 (arrays need not start at 0)
  assert.deepEqual(resolveShard(undefined, undefined, { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '3' }), {
    index: 2,
    count: 3,
    source: 'slurm',
  });
  assert.deepEqual(resolveShard(undefined, undefined, { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '4', SLURM_ARRAY_TASK_MAX: '6' }), {
    index: 1,
    count: 3,
    source: 'slurm',
  });
  // Kubernetes: the index from JOB_COMPLETION_INDEX, the count from --shards
  assert.deepEqual(resolveShard(undefined, 4, { JOB_COMPLETION_INDEX: '3' }), { index: 3, count: 4, source: 'kubernetes' });
  // --shard wins over the environment
  assert.deepEqual(resolveShard('0/2', undefined, { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '2' })?.source, '--shard');
  for (const [shard, shards, env, re] of [
    ['3/3', undefined, {}, /not below/],
    ['1-3', undefined, {}, /needs I\/N/],
    ['1/3', 4, {}, /disagree/],
    [undefined, undefined, { JOB_COMPLETION_INDEX: '0' }, /--shards N/],
    [undefined, 2, { JOB_COMPLETION_INDEX: '2' }, /not below/],
    [undefined, 2, {}, /needs a shard index/],
    [undefined, undefined, { SLURM_ARRAY_TASK_ID: '1' }, /SLURM_ARRAY_TASK_COUNT/],
  ] as const)
    assert.throws(() => resolveShard(shard, shards, env), re);
  const items = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  const parts = [0, 1, 2].map((index) => shardItems(items, { index, count: 3, source: '--shard' }));
  assert.deepEqual(parts, [
    ['a', 'd', 'g'],
    ['b', 'e'],
    ['c', 'f'],
  ]);
  assert.deepEqual(parts.flat().sort(), items, 'every item in exactly one shard');
});

test('shards racing on one folder, merged: summary.json equals the one-process run except timings', { skip: SKIP_NO_KVASIR }, async () => {
  const one = path.join(tmp, 'one');
  const shared = path.join(tmp, 'shared');
  const apart = path.join(tmp, 'apart');
  // One process, and at the same time: shards 0 and 1 into one shared folder, a resubmitted shard 1 writing
  // the same images into it at once, and shard 2 (index from a Kubernetes Indexed Job) in its own folder.
  const runs = await Promise.all([
    certseg(['dataset', ds, '--out', one, ...SMALL]),
    certseg(['dataset', ds, '--out', shared, '--shard', '0/3', ...SMALL]),
    certseg(['dataset', ds, '--out', shared, '--shard', '1/3', ...SMALL]),
    certseg(['dataset', ds, '--out', shared, ...SMALL], { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '3' }),
    certseg(['dataset', ds, '--out', apart, '--shards', '3', ...SMALL], { JOB_COMPLETION_INDEX: '2' }),
  ]);
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  assert.match(runs[1].stdout, /shard 0\/3 \(from --shard\)/);
  assert.match(runs[3].stdout, /shard 1\/3 \(from the Slurm job array\)/);
  assert.match(runs[4].stdout, /shard 2\/3 \(from the Kubernetes Indexed Job\)/);
  // the racing folder holds complete results only: no staging or swap leftovers
  const imgs = readdirSync(path.join(shared, 'images'));
  assert.deepEqual(
    imgs.sort(),
    shardItems(ids, { index: 0, count: 3, source: '--shard' })
      .concat(shardItems(ids, { index: 1, count: 3, source: '--shard' }))
      .sort(),
  );
  for (const f of imgs) assert.ok(existsSync(path.join(shared, 'images', f, 'report.json')), f);
  assert.ok(!existsSync(path.join(shared, 'summary.json')), 'a shard writes shard-I-of-N.json, never summary.json');
  const s1 = JSON.parse(readFileSync(path.join(shared, 'shard-1-of-3.json'), 'utf8')) as ShardSummary;
  assert.equal(s1.shard.status, 'complete');
  assert.deepEqual(s1.shard.datasetIds, ids);

  const merged = path.join(tmp, 'merged');
  const m = await certseg(['merge', shared, apart, '--out', merged]);
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stdout, /merged 3 of 3 shards: 6 images/);
  const a = readSummary(path.join(one, 'summary.json'));
  const b = readSummary(path.join(merged, 'summary.json'));
  assert.equal(b.images, 6);
  assert.ok(b.certified && b.certified.meanOverImages.pixelAccuracy > 0.5, 'a real result');
  assert.deepEqual(withoutTimings(b), withoutTimings(a));
  assert.equal(b.timings.shards?.length, 3);
  assert.ok(existsSync(path.join(merged, 'accuracy-vs-radius.svg')));
  // per image, the very same certified map as the one-process run (noise seeded by (seed, sample) only)
  for (const id of ids) {
    for (const f of ['certified.npy', 'counts.npy', 'mask.npy']) {
      assert.deepEqual(readFileSync(path.join(merged, 'images', id, f)), readFileSync(path.join(one, 'images', id, f)), `${id}/${f}`);
    }
  }
  // the Datasets view and `certseg dataset --resume` see a normal dataset result
  const again = await certseg(['dataset', ds, '--out', merged, '--resume', ...SMALL]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((again.stdout.match(/resumed/g) ?? []).length, 6);

  // shards that disagree (another seed) are refused before anything is written
  const other = path.join(tmp, 'other-seed');
  const o = await certseg(['dataset', ds, '--out', other, '--shard', '2/3', ...SMALL, '--seed', '8']);
  assert.equal(o.code, 0, o.stderr);
  const bad = path.join(tmp, 'merged-bad');
  oneLineError(
    await certseg(['merge', shared, other, '--out', bad]),
    /disagree on the certification parameters \(seed\).*nothing was written/,
  );
  assert.ok(!existsSync(bad));
  oneLineError(await certseg(['merge', shared, path.join(one), '--out', bad]), /holds no shard result/);
  oneLineError(await certseg(['merge', shared, apart, apart + '-nope', '--out', bad]), /does not exist/);
});

test(
  'a shard that fails midway: one line naming its images, --allow-partial, then --resume reruns only the rest',
  { skip: SKIP_NO_KVASIR },
  async () => {
    const ds2 = path.join(tmp, 'ds2');
    makeDataset(ds2, 6);
    const broken = path.join(ds2, 'images', `${ids[5]}.jpg`); // position 5: the second image of shard 2/3
    const good = readFileSync(broken);
    writeFileSync(broken, good.subarray(0, 200)); // a truncated JPEG
    const out = path.join(tmp, 'ds2-out');
    const runs = await Promise.all([0, 1, 2].map((i) => certseg(['dataset', ds2, '--out', out, '--shard', `${i}/3`, ...SMALL])));
    assert.equal(runs[0].code, 0, runs[0].stderr);
    assert.equal(runs[1].code, 0, runs[1].stderr);
    assert.notEqual(runs[2].code, 0, 'the shard with the broken image fails');
    const merged = path.join(tmp, 'ds2-merged');
    const m = await certseg(['merge', out, '--out', merged]);
    oneLineError(
      m,
      new RegExp(`1 of 6 images missing: shard 2/3 did not finish .*1 of 2 images done.*missing images: ${ids[5]} .*--allow-partial`),
    );
    assert.ok(!existsSync(merged), 'nothing written');

    const p = await certseg(['merge', out, '--out', merged, '--allow-partial']);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /PARTIAL/);
    const partial = readSummary(path.join(merged, 'summary.json'));
    assert.equal(partial.images, 5);
    assert.deepEqual(partial.partial?.missing, [ids[5]]);

    // repaired, shard 2 resumes: its first image is reused, only the broken one is certified
    writeFileSync(broken, good);
    const firstReport = path.join(out, 'images', ids[2], 'report.json');
    const before = statSync(firstReport).mtimeMs;
    const r = await certseg(['dataset', ds2, '--out', out, '--shard', '2/3', '--resume', ...SMALL]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${ids[2]}: done earlier \\(resumed\\)`));
    assert.match(r.stdout, new RegExp(`${ids[5]}: radius`));
    assert.equal(statSync(firstReport).mtimeMs, before);
    const full = path.join(tmp, 'ds2-full');
    const f = await certseg(['merge', out, '--out', full]);
    assert.equal(f.code, 0, f.stderr);
    const s = readSummary(path.join(full, 'summary.json'));
    assert.equal(s.images, 6);
    assert.equal(s.partial, undefined);

    // a shard that never ran: the merge names it
    const two = path.join(tmp, 'two-shards');
    rmSync(path.join(out, 'shard-2-of-3.json'));
    oneLineError(
      await certseg(['merge', out, '--out', two]),
      new RegExp(`2 of 6 images missing: shard 2/3 has no result; missing images: ${ids[2]}, ${ids[5]}`),
    );
  },
);
