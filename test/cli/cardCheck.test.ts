/**
 * `certseg card check` as a user runs it (the bundled CLI): the shipped polyp card on a real image, and
 * cards that contradict their model, each caught with one line naming the card field: a tensor name the
 * model does not have (by the tensor check) and a class count the output does not have (only the clean
 * pass can see it: the model's output channels are dynamic).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'dist/server/cli.js');
const polyp = path.join(root, 'models/polyp/segmenter.card.json');
const sample = path.join(root, 'models/default/sample.png');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'certseg-cardcheck-'));

function certseg(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: tmp, env: { ...process.env, CI: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The polyp card with `patch` applied, its model files by absolute path. */
function variant(name: string, patch: (c: Record<string, any>) => void): string {
  const c = JSON.parse(readFileSync(polyp, 'utf8')) as Record<string, any>;
  c.file = path.join(root, 'models/polyp', c.file);
  c.alternates = { tfjs: path.join(root, 'models/polyp', c.alternates.tfjs) };
  patch(c);
  const p = path.join(tmp, `${name}.card.json`);
  writeFileSync(p, JSON.stringify(c, null, 2));
  return p;
}

function oneLineError(r: { code: number | null; stderr: string }, re: RegExp) {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], re);
}

before(() => assert.ok(existsSync(cli), 'run `npm run build` first (npm test does)'));

test('card check on the shipped polyp card: tensors, shapes, class histogram, time per pass, both engines', () => {
  const r = certseg(['card', 'check', polyp, '--image', sample]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /segmenter "certseg-polyp-segmenter" — the card is valid and matches its model/);
  assert.match(r.stdout, /clean pass on .*sample\.png \(128×128\)/);
  for (const engine of ['onnx', 'tfjs']) assert.match(r.stdout, new RegExp(`\\n${engine} \\(`));
  assert.match(r.stdout, /model input {3}image float32 \[\?,3,\?,\?\]/);
  assert.match(r.stdout, /fed image \[1,3,128,128\] → logits \[1,2,128,128\]/);
  const hist = [...r.stdout.matchAll(/output classes: 0 background ([\d.]+)% \((\d+) px\), 1 polyp ([\d.]+)% \((\d+) px\)/g)];
  assert.equal(hist.length, 2);
  for (const h of hist) assert.equal(Number(h[2]) + Number(h[4]), 128 * 128);
  const ms = [...r.stdout.matchAll(/time per forward pass: ([\d.]+) ms/g)].map((m) => Number(m[1]));
  assert.equal(ms.length, 2);
  console.log(`# polyp card check: ${ms.map((x) => `${x} ms`).join(' (onnx), ')} (tfjs) per pass at 128×128`);
  assert.match(r.stdout, /engines agree on [\d.]+% of pixels/);
});

test('card check: contradictions with the model are one line naming the field, exit 2', () => {
  oneLineError(
    certseg(['card', 'check', variant('badname', (c) => (c.input.name = 'pixels'))]),
    /the model has no input named "pixels" \(it has image\)/,
  );
  oneLineError(
    certseg([
      'card',
      'check',
      variant('threeclasses', (c) => {
        c.output.channels = 3;
        c.classes.push({ name: 'extra', color: '#00ff00' });
      }),
      '--engine',
      'onnx',
    ]),
    /segmenter output has 2 channels \(shape \[1,2,256,256\]\), the card says 3/,
  );
  oneLineError(
    certseg(['card', 'check', variant('sigmoid2', (c) => (c.output.kind = 'sigmoid'))]),
    /output\.kind sigmoid needs output\.channels 1 and 2 classes/,
  );
  oneLineError(certseg(['card', 'check', path.join(tmp, 'none.card.json')]), /^certseg: model card not found/);
  oneLineError(certseg(['card', 'check']), /^certseg: expected one CARD, got 0/);
  oneLineError(certseg(['card', 'list', polyp]), /card needs a subcommand: certseg card check CARD \(got "list"\)/);
  oneLineError(certseg(['card', 'check', polyp, '--mask', sample]), /card does not take --mask/);
});
