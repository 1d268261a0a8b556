/**
 * The noise thread end to end: a seeded certification of the shipped default sample (default segmenter and
 * diffusion denoiser) gives the same counts, labels and radii with CERTSEG_NOISE_THREAD=1 and =0, through
 * the sources (tsx) and through the bundled CLI (dist/server/noiseWorker.js), and the report says which ran.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import { loadConfig } from '../../server/src/config/config';
import { certifyImage } from '../../server/src/pipeline/certifyImage';
import { disposeModels } from '../../server/src/pipeline/models';
import type { ImageReport } from '../../protocol/results';

const root = path.resolve(__dirname, '../..');
const sample = path.join(root, 'models/default/sample.png');
const validateReport = new Ajv({ strict: false }).compile(JSON.parse(readFileSync(path.join(root, 'docs/report.schema.json'), 'utf8')));

async function withNoiseThread<T>(on: boolean, f: () => Promise<T>): Promise<T> {
  const old = process.env.CERTSEG_NOISE_THREAD;
  process.env.CERTSEG_NOISE_THREAD = on ? '1' : '0';
  try {
    return await f();
  } finally {
    if (old === undefined) delete process.env.CERTSEG_NOISE_THREAD;
    else process.env.CERTSEG_NOISE_THREAD = old;
  }
}

test('certifyImage, default models with the denoiser: identical results with the noise thread on and off', async (t) => {
  t.after(disposeModels);
  // batch 6: a selection phase shorter than a batch, an estimation phase ending on a partial batch
  const config = await loadConfig(null, { n0: 4, n: 40, alpha: 0.4, batchSize: 6, seed: 11 });
  const on = await withNoiseThread(true, () => certifyImage({ imagePath: sample, config }));
  const off = await withNoiseThread(false, () => certifyImage({ imagePath: sample, config }));
  assert.ok(on.report.params.denoiser, 'the denoiser ran');
  assert.equal(on.report.provenance.noise, 'thread');
  assert.equal(off.report.provenance.noise, 'main');
  assert.ok(on.report.timings.noiseThread! > 0);
  assert.equal(off.report.timings.noiseThread, undefined);
  for (const r of [on, off]) assert.ok(validateReport(r.report), JSON.stringify(validateReport.errors));
  assert.deepEqual(on.selected, off.selected);
  assert.deepEqual(on.counts, off.counts);
  assert.deepEqual(on.certified, off.certified);
  assert.deepEqual(on.radiusMap, off.radiusMap);
  assert.equal(on.report.certifiedPixels, off.report.certifiedPixels);
  assert.ok(on.report.certifiedPixels > 0, 'a certificate that certifies something');
});

test('the bundled CLI finds its noise thread and exits; same counts as without it', (t) => {
  const cli = path.join(root, 'dist/server/cli.js');
  if (!existsSync(path.join(root, 'dist/server/noiseWorker.js'))) return t.skip('not built (npm run build)');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'certseg-noise-'));
  const run = (on: boolean) => {
    const out = path.join(tmp, on ? 'on' : 'off');
    const args = [cli, 'certify', sample, '--out', out, '--seed', '4', '--n0', '4', '--n', '60', '--batch-size', '8', '--no-denoiser'];
    const r = spawnSync(process.execPath, args, {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, CERTSEG_NOISE_THREAD: on ? '1' : '0' },
    });
    assert.equal(r.error, undefined, `the CLI did not exit: ${r.error}`);
    assert.equal(r.status, 0, r.stderr);
    return {
      report: JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as ImageReport,
      counts: readFileSync(path.join(out, 'counts.npy')),
      selected: readFileSync(path.join(out, 'selected.npy')),
    };
  };
  const on = run(true);
  const off = run(false);
  assert.equal(on.report.provenance.noise, 'thread');
  assert.equal(off.report.provenance.noise, 'main');
  assert.deepEqual(on.counts, off.counts);
  assert.deepEqual(on.selected, off.selected);
});

test("left open, the noise thread runs where it helps (ORT on fewer threads than the CPUs, or ORT's threads sleeping: the default) and not beside spinning ORT threads on every core; same counts", (t) => {
  const cli = path.join(root, 'dist/server/cli.js');
  if (!existsSync(path.join(root, 'dist/server/noiseWorker.js'))) return t.skip('not built (npm run build)');
  if (os.availableParallelism() < 2) return t.skip('one CPU: no core to leave');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'certseg-noise-default-'));
  const run = (name: string, vars: { CERTSEG_ORT_THREADS?: string; CERTSEG_ORT_SPINNING?: string }) => {
    const out = path.join(tmp, name);
    const env = { ...process.env };
    delete env.CERTSEG_NOISE_THREAD;
    delete env.CERTSEG_ORT_THREADS;
    delete env.CERTSEG_ORT_SPINNING;
    Object.assign(env, vars);
    const args = [cli, 'certify', sample, '--out', out, '--seed', '4', '--n0', '4', '--n', '60', '--no-denoiser'];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000, env });
    assert.equal(r.status, 0, r.stderr);
    return {
      report: JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as ImageReport,
      counts: readFileSync(path.join(out, 'counts.npy')),
    };
  };
  const spare = run('spare', { CERTSEG_ORT_THREADS: '1' });
  const byDefault = run('default', {});
  const spinning = run('spinning', { CERTSEG_ORT_SPINNING: '1' });
  assert.equal(spare.report.provenance.segmenter.session?.intraOpNumThreads, 1);
  assert.equal(spare.report.provenance.noise, 'thread');
  assert.equal(byDefault.report.provenance.segmenter.session?.intraOpNumThreads, 0);
  assert.equal(byDefault.report.provenance.segmenter.session?.allowSpinning, false);
  assert.equal(byDefault.report.provenance.noise, 'thread');
  assert.equal(spinning.report.provenance.segmenter.session?.allowSpinning, true);
  assert.equal(spinning.report.provenance.noise, 'main');
  assert.deepEqual(byDefault.counts, spare.counts);
  assert.deepEqual(spinning.counts, spare.counts);
});
