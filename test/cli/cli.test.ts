/**
 * The CLI end to end, as a user runs it: the bundled dist/server/cli.js in a child process, on the
 * shipped default models and sample image (made by the project's own generator), plus every bad input
 * the issue lists. Bad input must give one line on stderr, a non-zero exit, and no half-written output.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, copyFileSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import sharp from 'sharp';
import type { ImageReport } from '../../server/src/pipeline/types';
import { scaleModel } from '../engines/onnxWriter';

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'dist/server/cli.js');
const sample = path.join(root, 'models/default/sample.png');
const sampleMask = path.join(root, 'models/default/sample-mask.png');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'certseg-cli-'));
const small = ['--n0', '4', '--n', '60', '--tau', '0.75', '--alpha', '0.01', '--batch-size', '8'];

function certseg(args: string[], opts: { cwd?: string } = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: opts.cwd ?? tmp, env: { ...process.env, CI: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertCleanError(r: { code: number | null; stderr: string }, pattern: RegExp) {
  assert.notEqual(r.code, 0, 'must exit non-zero');
  // progress lines may come first; the error is exactly one line, the last
  const errors = r.stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('certseg: '));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0], pattern);
  assert.ok(r.stderr.trim().endsWith(errors[0]));
  assert.ok(!/\n\s+at /.test(r.stderr), `stack trace printed:\n${r.stderr}`);
}

before(() => {
  assert.ok(existsSync(cli), 'run `npm run build` first (npm test does)');
  assert.ok(existsSync(sample), 'models/default/sample.png is shipped with the repository');
});

test('certify writes a valid report, overlays and numpy arrays', () => {
  const out = path.join(tmp, 'ok');
  const r = certseg(['certify', sample, '--mask', sampleMask, '--out', out, '--seed', '3', ...small]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /radius 0\.1686/);
  const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as ImageReport;
  const schema = JSON.parse(readFileSync(path.join(root, 'docs/report.schema.json'), 'utf8'));
  const validate = new Ajv({ strict: false }).compile(schema);
  assert.ok(validate(report), JSON.stringify(validate.errors));
  assert.equal(report.params.seed, 3);
  assert.equal(report.params.n, 60);
  assert.ok(report.clean && report.certified);
  assert.ok(report.clean.pixelAccuracy > 0.8, `clean accuracy ${report.clean.pixelAccuracy}`);
  assert.ok(report.certified.pixelAccuracy <= report.clean.pixelAccuracy + 0.05);
  for (const f of ['prediction.png', 'certified.png', 'radius.png', 'errors.png', 'selected.npy', 'counts.npy'])
    assert.ok(existsSync(path.join(out, f)), f);
  const npy = readFileSync(path.join(out, 'counts.npy'));
  assert.equal(npy.subarray(1, 6).toString('latin1'), 'NUMPY');
  // Same seed → same counts.
  const out2 = path.join(tmp, 'ok2');
  assert.equal(certseg(['certify', sample, '--out', out2, '--seed', '3', ...small]).code, 0);
  assert.deepEqual(readFileSync(path.join(out2, 'counts.npy')), npy);
});

test('recertify re-applies the test to stored counts and marks it exploratory', () => {
  const out = path.join(tmp, 'ok');
  const r = certseg(['recertify', out, '--tau', '0.6', '--alpha', '0.05', '--correction', 'bonferroni', '--out', path.join(tmp, 're')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /EXPLORATORY/);
  const rep = JSON.parse(readFileSync(path.join(tmp, 're', 'report.json'), 'utf8'));
  assert.equal(rep.exploratory, true);
  assert.equal(rep.params.tau, 0.6);
  assert.equal(rep.params.n, 60);
  const base = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
  assert.ok(rep.certifiedPixels >= base.certifiedPixels, 'a lower τ and larger α certify at least as many pixels');
});

test('dataset mode: images/ + masks/, summary and accuracy-vs-radius plot, resume', async () => {
  const ds = path.join(tmp, 'ds');
  for (const d of ['images', 'masks']) spawnSync('mkdir', ['-p', path.join(ds, d)]);
  copyFileSync(sample, path.join(ds, 'images', 'a.png'));
  copyFileSync(sampleMask, path.join(ds, 'masks', 'a.png'));
  await sharp(sample)
    .flop()
    .toFile(path.join(ds, 'images', 'b.png'));
  await sharp(sampleMask)
    .flop()
    .toFile(path.join(ds, 'masks', 'b.png'));
  const out = path.join(tmp, 'ds-out');
  const r = certseg(['dataset', ds, '--out', out, ...small]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
  assert.equal(s.images, 2);
  assert.equal(s.withMask, 2);
  assert.ok(s.certified.pooled.pixelAccuracy > 0 && s.certified.meanOverImages.pixelAccuracy > 0);
  assert.ok(existsSync(path.join(out, 'accuracy-vs-radius.svg')));
  const again = certseg(['dataset', ds, '--out', out, '--resume', ...small]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((again.stdout.match(/resumed/g) ?? []).length, 2);
});

test('bad inputs: one clear line, non-zero exit, nothing half-written', async () => {
  const corrupt = path.join(tmp, 'corrupt.png');
  writeFileSync(corrupt, Buffer.from('\x89PNG\r\n\x1a\nthis is not a png'));
  const wrongMask = path.join(tmp, 'small-mask.png');
  await sharp({ create: { width: 17, height: 9, channels: 3, background: { r: 0, g: 0, b: 0 } } })
    .png()
    .toFile(wrongMask);
  const badCfg = path.join(tmp, 'bad.certseg.json');
  writeFileSync(badCfg, JSON.stringify({ sigmaa: 0.25 }));
  const missingModelCfg = path.join(tmp, 'missing.certseg.json');
  writeFileSync(missingModelCfg, JSON.stringify({ segmenter: 'nope/segmenter.card.json' }));
  // A segmenter card that contradicts its model (4 output channels in the file, 5 classes on the card).
  const segCard = JSON.parse(readFileSync(path.join(root, 'models/default/segmenter.card.json'), 'utf8'));
  const mismatched = path.join(tmp, 'mismatched.card.json');
  writeFileSync(
    mismatched,
    JSON.stringify({
      ...segCard,
      file: path.join(root, 'models/default', segCard.file),
      output: { ...segCard.output, channels: 5 },
      classes: [...segCard.classes, { name: 'extra', color: '#ffffff' }],
    }),
  );
  // A denoiser whose outputs are NaN (y = NaN·x), and a real denoiser behind a schedule σ = 0.25 lies outside.
  writeFileSync(path.join(tmp, 'nan.onnx'), scaleModel(NaN));
  const nanCard = path.join(tmp, 'nan.card.json');
  writeFileSync(
    nanCard,
    JSON.stringify({
      cardVersion: 1,
      name: 'nan',
      role: 'denoiser',
      file: 'nan.onnx',
      input: { layout: 'NCHW', height: null, width: null, batch: null, channels: 3, range: [0, 1] },
      output: { layout: 'NCHW', height: null, width: null, batch: null, channels: 3 },
      denoiser: { kind: 'direct', sigma: 0.25 },
    }),
  );
  const denCard = JSON.parse(readFileSync(path.join(root, 'models/default/denoiser.card.json'), 'utf8'));
  const shortSchedule = path.join(tmp, 'short.card.json');
  writeFileSync(
    shortSchedule,
    JSON.stringify({
      ...denCard,
      file: path.join(root, 'models/default', denCard.file),
      denoiser: { ...denCard.denoiser, schedule: { type: 'alphasCumprod', values: [0.999, 0.99, 0.95, 0.9] }, T: 4 },
    }),
  );
  const cases: [string[], RegExp][] = [
    [['certify', sample, '--segmenter', mismatched, '--no-denoiser'], /channel|class|shape|output/i],
    [['certify', sample, '--denoiser', nanCard], /NaN/],
    [['certify', sample, '--denoiser', shortSchedule], /schedule/],
    [['certify', path.join(tmp, 'does-not-exist.png')], /cannot read image|not found|no such/i],
    [['certify', corrupt], /cannot read image/i],
    [['certify', sample, '--mask', wrongMask], /mask .* is 17×9 but image is/],
    [['certify', sample, '--config', badCfg], /"sigmaa" is not a config key/],
    [['certify', sample, '--config', missingModelCfg], /not found|missing|does not exist/i],
    [['certify', sample, '--sigma', '50'], /sigma/],
    [['certify', sample, '--n', '5', '--alpha', '0.0001'], /too small/],
    [['certify', sample, '--n', 'many'], /--n needs a number/],
    [['frobnicate'], /unknown command/],
  ];
  for (const [args, pattern] of cases) {
    const out = path.join(tmp, 'bad-out');
    const r = certseg([...args, '--out', out]);
    assertCleanError(r, pattern);
    assert.ok(!existsSync(out), `${args.join(' ')} left ${out} behind`);
  }
  assert.deepEqual(
    readdirSync(tmp).filter((f) => f.includes('.partial-')),
    [],
  );
});
