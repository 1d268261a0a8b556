/**
 * docs/model-cards.md is enough to bring a model: every card example in it passes the card checks, and the
 * MediaPipe Selfie card (a third-party model nobody here trained, ../shared/models) is taken from the doc
 * alone, checked with `certseg card check` and certified with `certseg certify`, with ONNX Runtime and TF.js,
 * through the bundled CLI as a user runs it.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCard } from '../../server/src/models/loadCard';
import type { CardCheckResult } from '../../server/src/models/cardCheck';
import type { ImageReport } from '../../server/src/pipeline/types';

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'dist/server/cli.js');
const doc = readFileSync(path.join(root, 'docs/model-cards.md'), 'utf8');
const SELFIE = path.resolve(root, '../shared/models/mediapipe-selfie');
const IMAGE = path.resolve(root, '../shared/datasets/ph2-256/images/IMD014.jpg');
const noSelfie = existsSync(path.join(SELFIE, 'tfjs/selfie.json')) && existsSync(IMAGE) ? false : `skipped: ${SELFIE} or ${IMAGE} not found (needs the read-only ../shared folder)`;

/** The ```json block after each `<!-- card-example: NAME -->` marker. */
function examples(): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const m of doc.matchAll(/<!-- card-example: ([\w-]+) -->\s*```json\n([\s\S]*?)```/g)) out.set(m[1], JSON.parse(m[2]) as Record<string, unknown>);
  return out;
}

function certseg(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(() => assert.ok(existsSync(cli), 'run `npm run build` first (npm test does)'));

test('every card example in docs/model-cards.md passes the schema and the card checks', async () => {
  const found = examples();
  assert.deepEqual([...found.keys()], ['onnx-nchw-logits', 'tfjs-nhwc-sigmoid', 'grey-1-channel', 'ddpm-denoiser']);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'certseg-carddoc-'));
  for (const [name, card] of found) {
    // stand-in model files: loadCard checks the card and that its file exists, not what is in it
    for (const f of [card.file as string, ...Object.values((card.alternates ?? {}) as Record<string, string>)]) {
      mkdirSync(path.dirname(path.join(dir, name, f)), { recursive: true });
      writeFileSync(path.join(dir, name, f), '');
    }
    const p = path.join(dir, name, `${name}.card.json`);
    writeFileSync(p, JSON.stringify(card));
    const loaded = await loadCard(p);
    assert.equal(loaded.name, card.name);
  }
});

test('MediaPipe Selfie, card from the doc alone: card check and certify with ONNX Runtime and TF.js', { skip: noSelfie, timeout: 300_000 }, () => {
  // the card saved next to the model's tfjs/ and onnx/ folders, as the doc says (../shared is read-only: links)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'certseg-selfie-'));
  symlinkSync(path.join(SELFIE, 'tfjs'), path.join(dir, 'tfjs'));
  symlinkSync(path.join(SELFIE, 'onnx'), path.join(dir, 'onnx'));
  const card = path.join(dir, 'selfie.card.json');
  writeFileSync(card, JSON.stringify(examples().get('tfjs-nhwc-sigmoid'), null, 2));

  const check = certseg(['card', 'check', card, '--image', IMAGE, '--json']);
  assert.equal(check.code, 0, check.stderr);
  const r = JSON.parse(check.stdout) as CardCheckResult;
  assert.deepEqual(r.engines.map((e) => e.engine), ['tfjs', 'onnx']);
  for (const e of r.engines) {
    assert.deepEqual(e.fed.map((f) => f.dims), [[1, 256, 256, 3]], 'one 256×256 NHWC image per pass (fixed batch 1)');
    assert.deepEqual(e.returned.dims, [1, 256, 256, 1]);
    assert.deepEqual(e.histogram!.map((h) => h.name), ['background', 'person']);
    assert.equal(e.histogram!.reduce((a, h) => a + h.pixels, 0), 256 * 192);
    assert.ok(e.msPerPass > 0);
    console.log(`# selfie card check, ${e.engine}: ${e.msPerPass.toFixed(1)} ms per pass, person ${(100 * e.histogram![1].fraction).toFixed(1)}%`);
  }
  assert.ok(r.agreement! > 0.99, `engines agree on ${r.agreement}`);
  const text = certseg(['card', 'check', card, '--image', IMAGE, '--engine', 'onnx']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /model input {3}input_1:0 float32 \[1,256,256,3\]/);
  assert.match(text.stdout, /output classes: 0 background [\d.]+% \(\d+ px\), 1 person/);
  assert.match(text.stdout, /time per forward pass: [\d.]+ ms/);

  for (const engine of ['onnx', 'tfjs']) {
    const out = path.join(dir, `out-${engine}`);
    const t0 = performance.now();
    const c = certseg(['certify', IMAGE, '--segmenter', card, '--no-denoiser', '--engine', engine, '--out', out]);
    const s = (performance.now() - t0) / 1000;
    assert.equal(c.code, 0, c.stderr);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as ImageReport;
    assert.match(report.provenance.segmenter.engine, new RegExp(`^${engine}\\b`));
    assert.deepEqual(report.classes.map((x) => x.name), ['background', 'person']);
    assert.ok(report.certifiedPixels > 0);
    console.log(`# selfie certify (${engine}, n = ${report.params.n}, no denoiser): ${s.toFixed(1)} s wall, ${(100 * (1 - report.abstainRate)).toFixed(1)}% certified`);
  }
});
