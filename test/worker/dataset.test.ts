/**
 * Contract tests of the worker's dataset and consistency requests: the real server bundle, a real run
 * process, the shipped models, a two-image dataset made in a temp folder from models/default/sample.png.
 * Small n (n0=4, n=60, α=0.01) keeps the file near 20 s on a busy 2-core machine. Build first: `node esbuild.mjs`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancellationTokenSource, ErrorCodes, LSPErrorCodes, WorkDoneProgress } from 'vscode-languageserver-protocol/node';
import {
  CertifyDatasetRequest,
  CertsegErrorCodes,
  ConsistencyRequest,
  ListDatasetRequest,
  QueueStatusNotification,
  decodeArray,
  type QueueStatusParams,
} from '../../protocol/messages';
import type { DatasetSummary } from '../../server/src/pipeline/certifyDataset';
import { SAMPLE, SAMPLE_MASK, baseOverrides, expectError, logLine, startWorker, type Worker } from './harness';

const SMALL = { n0: 4, n: 60, alpha: 0.01 };
let w: Worker;
const tmp = mkdtempSync(join(tmpdir(), 'certseg-dataset-'));
const ds = join(tmp, 'ds');
before(async () => {
  for (const sub of ['images', 'masks']) mkdirSync(join(ds, sub), { recursive: true });
  for (const id of ['a', 'b']) {
    copyFileSync(SAMPLE, join(ds, 'images', `${id}.png`));
    copyFileSync(SAMPLE_MASK, join(ds, 'masks', `${id}.png`));
  }
  w = await startWorker();
});
after(async () => {
  if (w) await w.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test('listDataset: pairs in certification order, paged; a plain folder is a user error', async () => {
  const all = await w.conn.sendRequest(ListDatasetRequest.type, { dir: ds });
  assert.equal(all.total, 2);
  assert.deepEqual(
    all.pairs.map((p) => p.id),
    ['a', 'b'],
  );
  assert.equal(all.pairs[0].image, join(ds, 'images', 'a.png'));
  assert.equal(all.pairs[0].mask, join(ds, 'masks', 'a.png'));
  const page = await w.conn.sendRequest(ListDatasetRequest.type, { dir: ds, offset: 1, limit: 1 });
  assert.equal(page.total, 2);
  assert.deepEqual(
    page.pairs.map((p) => p.id),
    ['b'],
  );
  await expectError(w.conn.sendRequest(ListDatasetRequest.type, { dir: join(ds, 'images') }), CertsegErrorCodes.UserError, /not a dataset/);
  await expectError(w.conn.sendRequest(ListDatasetRequest.type, { dir: 'relative' }), ErrorCodes.InvalidParams, /absolute/);
});

test('certifyDataset: progress, summary + plot on disk, an interrupted run resumes', async () => {
  const out = join(tmp, 'run');
  const overrides = { ...baseOverrides(), ...SMALL };
  const progress: string[] = [];
  const d = w.conn.onProgress(WorkDoneProgress.type, 'ds-1', (v) => {
    progress.push(`${v.kind}:${'percentage' in v ? v.percentage : ''}`);
  });
  const t0 = performance.now();
  // "interrupted": only the first image
  const first = (await w.conn.sendRequest(CertifyDatasetRequest.type, {
    dir: ds,
    outDir: out,
    overrides,
    limit: 1,
    resume: true,
    workDoneToken: 'ds-1',
  })) as unknown as DatasetSummary;
  const t1 = performance.now();
  d.dispose();
  assert.equal(first.images, 1);
  assert.equal(progress[0], 'begin:0');
  assert.equal(progress.at(-1), 'end:');
  assert.ok(
    progress.some((p) => p.startsWith('report:') && Number(p.slice(7)) > 0),
    progress.join(' '),
  );
  // resumed: a is reused (same parameters), only b is certified
  const full = (await w.conn.sendRequest(CertifyDatasetRequest.type, {
    dir: ds,
    outDir: out,
    overrides,
    resume: true,
  })) as unknown as DatasetSummary;
  const t2 = performance.now();
  console.log(`dataset: 1 image ${(t1 - t0).toFixed(0)} ms, resumed to 2 images ${(t2 - t1).toFixed(0)} ms`);
  assert.equal(full.images, 2);
  assert.equal(full.withMask, 2);
  assert.deepEqual(
    full.perImage.map((p) => p.id),
    ['a', 'b'],
  );
  assert.equal(full.perImage[0].totalMs, first.perImage[0].totalMs, 'image a was reused, not certified again');
  assert.equal(full.params?.n, 60);
  assert.ok(full.certified && full.certified.pooled.dice.length >= 2);
  assert.ok(full.accuracyVsRadius.length > 10);
  const onDisk = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as DatasetSummary;
  assert.deepEqual(onDisk.perImage, full.perImage);
  assert.equal(full.files.plot, 'accuracy-vs-radius.svg');
  assert.match(readFileSync(join(out, 'accuracy-vs-radius.svg'), 'utf8'), /^<svg/);
  for (const p of full.perImage) assert.ok(existsSync(join(out, p.dir, 'report.json')), p.dir);
  assert.deepEqual(readdirSync(join(out, 'images')).sort(), ['a', 'b']);
});

test('consistency: flip maps and numbers, plain and with crop selection M=8', async () => {
  const kinds: string[] = [];
  const sub = w.conn.onNotification(QueueStatusNotification.method, (q: QueueStatusParams) => {
    if (q.running) kinds.push(q.running.kind);
  });
  const progress: number[] = [];
  const d = w.conn.onProgress(WorkDoneProgress.type, 'cons-1', (v) => {
    if (v.kind === 'report' && v.percentage !== undefined) progress.push(v.percentage);
  });
  const t0 = performance.now();
  const r = await w.conn.sendRequest(ConsistencyRequest.type, { imagePath: SAMPLE, overrides: baseOverrides(), workDoneToken: 'cons-1' });
  console.log(
    `consistency ${(performance.now() - t0).toFixed(0)} ms (run ${r.runMs} ms): plain mean ${r.plain.meanFraction}, worst ${JSON.stringify(r.plain.worst)}; M=8 mean ${r.cropSelection?.meanFraction}, bound ${r.cropSelection?.bound}`,
  );
  d.dispose();
  sub.dispose();
  assert.ok(kinds.includes('consistency'), 'ran through the queue');
  assert.ok(progress.includes(100), progress.join(','));
  assert.equal(r.width, 128);
  assert.equal(r.height, 128);
  for (const m of [r.plain, r.cropSelection!]) {
    assert.equal(m.directions.length, 8);
    const flip = decodeArray(m.flipMap);
    assert.equal(flip.length, 128 * 128);
    assert.ok(Math.max(...flip) <= 8);
    // the frame border is never compared
    for (let x = 0; x < 128; x++) assert.equal(flip[x], 0);
    const worst = Math.max(...m.directions.map((x) => x.fraction));
    assert.equal(m.worst.fraction, worst);
    assert.ok(Math.abs(m.meanFraction - m.directions.reduce((s, x) => s + x.fraction, 0) / 8) < 1e-12);
    assert.equal(
      m.anyChanged,
      flip.some((v) => v > 0),
    );
    assert.ok(m.changedAnyFraction >= 0 && m.changedAnyFraction <= 1);
  }
  assert.equal(r.plain.coverage, 1);
  assert.equal(r.plain.selectionChangeRate, null);
  const cs = r.cropSelection!;
  assert.equal(cs.M, 8);
  assert.ok(cs.coverage > 0.8 && cs.coverage < 1, `coverage ${cs.coverage}`);
  assert.ok(cs.bound > 0 && cs.bound <= 1);
  assert.equal(cs.anyShift, 1 - (6 / 10) ** 2); // exchangeable scores, M = 8
  assert.ok(cs.selectionChangeRate !== null);
  assert.match(r.segmenter.card, /segmenter\.card\.json$/);

  const plainOnly = await w.conn.sendRequest(ConsistencyRequest.type, { imagePath: SAMPLE, cropSelection: null });
  assert.equal(plainOnly.cropSelection, null);
  assert.deepEqual(plainOnly.plain.directions, r.plain.directions, 'deterministic');
});

test('consistency: bad params, missing image, cancellation', async () => {
  await expectError(
    w.conn.sendRequest(ConsistencyRequest.type, { imagePath: SAMPLE, cropSelection: 0 }),
    ErrorCodes.InvalidParams,
    /cropSelection/,
  );
  await expectError(
    w.conn.sendRequest(ConsistencyRequest.type, { imagePath: join(tmp, 'none.png') }),
    CertsegErrorCodes.UserError,
    /not found/,
  );
  // Cancel once the run process says it is measuring: a timer raced the whole run (about 150 ms warm here),
  // and on a faster machine the answer came first. After "plain: 9 views" 18 segmentations remain.
  const cts = new CancellationTokenSource();
  const d = w.conn.onProgress(WorkDoneProgress.type, 'cons-cancel', (v) => {
    if (v.kind !== 'end' && /plain/.test(v.message ?? '')) cts.cancel();
  });
  const p = w.conn.sendRequest(ConsistencyRequest.type, { imagePath: SAMPLE, workDoneToken: 'cons-cancel' }, cts.token);
  await expectError(p, LSPErrorCodes.RequestCancelled, /cancelled/i);
  d.dispose();
  // the cancel reached a running run: its process was killed (the worker logs when it has gone)
  const ended = await logLine(w, /run consistency: process ended \d+ ms after the cancellation/, 5000);
  assert.ok(ended, `the log says the run's process ended: ${w.logs.slice(-5).join(' | ')}`);
  // the worker is still serving
  const again = await w.conn.sendRequest(ListDatasetRequest.type, { dir: ds, limit: 1 });
  assert.equal(again.pairs.length, 1);
});
