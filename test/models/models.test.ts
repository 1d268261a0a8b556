/**
 * The shipped models (models/default, polyp, polyp-crop, ph2, cxr) and their training pipeline (models/train).
 *
 *  - every shipped card is valid JSON with the fields the engine needs, and its ONNX file loads and runs in
 *    onnxruntime-node with the expected output shape (any batch and spatial size: fully convolutional);
 *  - the ONNX graphs agree numerically with PyTorch on the input/output pairs recorded at export time
 *    (test/models/fixtures/<set>-<role>.json);
 *  - the procedural generator is deterministic and reproduces the committed sample image;
 *  - the training scripts run one step on a tiny batch (--smoke).
 * Python parts need Debian's python3 with numpy/torch (/usr/bin/python3, or CERTSEG_PYTHON) and skip otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

const ROOT = path.resolve(__dirname, '..', '..');
const MODELS = path.join(ROOT, 'models');
const TRAIN = path.join(MODELS, 'train');
const FIXTURES = path.join(__dirname, 'fixtures');
const DATASETS = path.resolve(ROOT, '..', 'shared', 'datasets');
const KVASIR = path.join(DATASETS, 'kvasir-seg-256');

const PYTHON = process.env.CERTSEG_PYTHON ?? (fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

function pythonHas(modules: string): boolean {
  const r = spawnSync(PYTHON, ['-c', `import ${modules}`], { encoding: 'utf8' });
  return r.status === 0;
}
const HAS_NUMPY = pythonHas('numpy, PIL');
const HAS_TORCH = HAS_NUMPY && pythonHas('torch, onnx');
const NO_NUMPY = HAS_NUMPY ? false : `${PYTHON} with numpy and PIL is not available (apt-get install python3-numpy python3-pil)`;
const NO_TORCH = HAS_TORCH ? false : `${PYTHON} cannot import torch and onnx (apt-get install python3-torch python3-onnx)`;

function runPy(args: string[], timeoutMs = 240_000): { status: number | null; out: string } {
  const r = spawnSync(PYTHON, args, {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, CERTSEG_THREADS: process.env.CERTSEG_THREADS ?? '1' },
  });
  return { status: r.status, out: `${r.stdout ?? ''}\n${r.stderr ?? ''}` };
}

interface Card {
  cardVersion: number;
  name: string;
  role: 'segmenter' | 'denoiser';
  file: string;
  input: { name?: string; layout: string; height: number | null; width: number | null; batch: number | null; channels: number; range: [number, number]; mean?: number[]; std?: number[]; resize?: string };
  output: { name?: string; layout: string; height: number | null; width: number | null; batch: number | null; channels: number; kind?: string };
  classes?: { name: string; color: string }[];
  denoiser?: {
    kind: string;
    schedule?: { type: string; betaStart?: number; betaEnd?: number };
    T?: number;
    learnedVariance?: boolean;
    timestep?: { input: string; dtype: string };
    trainedResolution?: number;
  };
  license?: string;
  source?: string;
}

function shippedCards(): { set: string; path: string; card: Card }[] {
  const out: { set: string; path: string; card: Card }[] = [];
  for (const set of ['default', 'polyp', 'polyp-crop', 'ph2', 'cxr']) {
    const dir = path.join(MODELS, set);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.card.json')).sort()) {
      const p = path.join(dir, f);
      out.push({ set, path: p, card: JSON.parse(fs.readFileSync(p, 'utf8')) as Card });
    }
  }
  return out;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function feedsFor(card: Card, session: ort.InferenceSession, n: number, h: number, w: number): Record<string, ort.Tensor> {
  const rnd = lcg(42);
  const [lo, hi] = card.input.range;
  const data = new Float32Array(n * card.input.channels * h * w);
  for (let i = 0; i < data.length; i++) data[i] = lo + rnd() * (hi - lo);
  const feeds: Record<string, ort.Tensor> = {};
  feeds[card.input.name ?? session.inputNames[0]!] = new ort.Tensor('float32', data, [n, card.input.channels, h, w]);
  if (card.role === 'denoiser') {
    const ts = card.denoiser!.timestep!;
    const t = BigInt64Array.from({ length: n }, (_, i) => BigInt([70, 145, 259, 999][i % 4]!));
    feeds[ts.input] = new ort.Tensor('int64', t, [n]);
  }
  return feeds;
}

test('the default model set is shipped', () => {
  for (const f of ['segmenter.onnx', 'segmenter.card.json', 'denoiser.onnx', 'denoiser.card.json', 'sample.png', 'sample-mask.png']) {
    assert.ok(fs.existsSync(path.join(MODELS, 'default', f)), `models/default/${f} is missing`);
  }
});

for (const { set, path: cardPath, card } of shippedCards()) {
  const rel = path.relative(ROOT, cardPath);

  test(`${rel}: card has the required fields`, () => {
    assert.equal(card.cardVersion, 1);
    assert.match(card.name, /^certseg-/);
    assert.ok(card.role === 'segmenter' || card.role === 'denoiser');
    assert.ok(fs.existsSync(path.join(path.dirname(cardPath), card.file)), `model file ${card.file} exists`);
    assert.ok(card.file.endsWith('.onnx'));
    for (const spec of [card.input, card.output]) {
      assert.equal(spec.layout, 'NCHW');
      // fully convolutional; a card may pin a run resolution (denoiser128: the same weights at 128×128)
      if (card.input.resize) assert.ok(Number.isInteger(spec.height) && spec.height === spec.width);
      else {
        assert.equal(spec.height, null);
        assert.equal(spec.width, null);
      }
      assert.equal(spec.batch, null);
      assert.ok(Number.isInteger(spec.channels) && spec.channels > 0);
      assert.equal(typeof spec.name, 'string');
    }
    // a grey domain's segmenter takes 1 channel (the luma); denoisers always take the pipeline's 3
    assert.equal(card.input.channels, card.role === 'segmenter' && set === 'cxr' ? 1 : 3);
    assert.equal(typeof card.license, 'string');
    assert.equal(typeof card.source, 'string');
    const size = fs.statSync(path.join(path.dirname(cardPath), card.file)).size;
    assert.ok(size < 8 * 1024 * 1024, `model file is small (${size} bytes)`);
    if (card.role === 'segmenter') {
      assert.deepEqual(card.input.range, [0, 1]);
      assert.equal(card.output.kind, 'logits');
      assert.ok(Array.isArray(card.classes));
      assert.equal(card.classes!.length, card.output.channels);
      for (const c of card.classes!) assert.match(c.color, /^#[0-9a-f]{6}$/i);
      assert.equal(card.classes![0]!.name, 'background');
      assert.equal(card.input.mean?.length, card.input.channels);
      assert.equal(card.input.std?.length, card.input.channels);
      assert.ok(card.input.std!.every((s) => s > 0));
      assert.equal(card.denoiser, undefined);
    } else {
      assert.deepEqual(card.input.range, [-1, 1]);
      assert.equal(card.output.channels, 3);
      const d = card.denoiser!;
      assert.equal(d.kind, 'ddpm-eps');
      assert.deepEqual(d.schedule, { type: 'linear', betaStart: 0.0001, betaEnd: 0.02 });
      assert.equal(d.T, 1000);
      assert.equal(d.learnedVariance, false);
      assert.deepEqual(d.timestep, { input: 't', dtype: 'int64' });
      assert.ok(Number.isInteger(d.trainedResolution));
      assert.equal(card.classes, undefined);
    }
  });

  test(`${rel}: ONNX loads and runs at any batch and size`, async () => {
    const session = await ort.InferenceSession.create(path.join(path.dirname(cardPath), card.file));
    const expectedInputs = card.role === 'denoiser' ? [card.input.name, card.denoiser!.timestep!.input] : [card.input.name];
    assert.deepEqual([...session.inputNames].sort(), [...expectedInputs].sort());
    assert.ok(session.outputNames.includes(card.output.name!));
    for (const [n, h, w] of [[1, 64, 64], [2, 37, 50]] as const) {
      const out = await session.run(feedsFor(card, session, n, h, w));
      const y = out[card.output.name!]!;
      assert.deepEqual(y.dims, [n, card.output.channels, h, w]);
      const v = y.data as Float32Array;
      assert.ok(v.every(Number.isFinite), 'finite outputs');
    }
  });

  const fixture = path.join(FIXTURES, `${set}-${card.role}.json`);
  test(`${rel}: ONNX agrees with PyTorch (${path.relative(ROOT, fixture)})`, { skip: fs.existsSync(fixture) ? false : 'no reference fixture' }, async () => {
    const ref = JSON.parse(fs.readFileSync(fixture, 'utf8')) as {
      inputs: Record<string, { dtype: string; shape: number[]; data: number[] }>;
      outputs: Record<string, { shape: number[]; data: number[] }>;
    };
    const session = await ort.InferenceSession.create(path.join(path.dirname(cardPath), card.file));
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(ref.inputs)) {
      feeds[name] = t.dtype === 'int64' ? new ort.Tensor('int64', BigInt64Array.from(t.data.map((v) => BigInt(v))), t.shape) : new ort.Tensor('float32', Float32Array.from(t.data), t.shape);
    }
    const out = await session.run(feeds);
    for (const [name, t] of Object.entries(ref.outputs)) {
      const y = out[name]!;
      assert.deepEqual(y.dims, t.shape);
      const a = y.data as Float32Array;
      let maxRef = 0;
      let maxErr = 0;
      for (let i = 0; i < a.length; i++) {
        maxRef = Math.max(maxRef, Math.abs(t.data[i]!));
        maxErr = Math.max(maxErr, Math.abs(a[i]! - t.data[i]!));
      }
      assert.ok(maxErr <= 1e-4 * Math.max(1, maxRef), `max |onnx - torch| = ${maxErr} (max |ref| ${maxRef})`);
    }
  });
}

function hashTree(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const n of fs.readdirSync(d).sort()) {
      const p = path.join(d, n);
      if (fs.statSync(p).isDirectory()) walk(p);
      else h.update(path.relative(dir, p)).update(fs.readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

test('generate.py is deterministic (same seed, same bytes; another seed differs)', { skip: NO_NUMPY }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'certseg-gen-'));
  try {
    const hashes: string[] = [];
    for (const [dir, seed] of [['a', 5], ['b', 5], ['c', 6]] as const) {
      const r = runPy([path.join(TRAIN, 'generate.py'), '--out', path.join(tmp, dir), '--n', '4', '--size', '48', '--seed', String(seed)]);
      assert.equal(r.status, 0, r.out);
      assert.equal(fs.readdirSync(path.join(tmp, dir, 'images')).length, 4);
      assert.equal(fs.readdirSync(path.join(tmp, dir, 'masks')).length, 4);
      hashes.push(hashTree(path.join(tmp, dir)));
    }
    assert.equal(hashes[0], hashes[1]);
    assert.notEqual(hashes[0], hashes[2]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('generate.py --sample reproduces the committed models/default/sample.png and sample-mask.png', { skip: NO_NUMPY }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'certseg-sample-'));
  try {
    const r = runPy([path.join(TRAIN, 'generate.py'), '--sample', '--sample-out', tmp]);
    assert.equal(r.status, 0, r.out);
    // compare decoded pixels (PNG bytes may differ between zlib versions)
    const cmp = runPy([
      '-c',
      'import sys, numpy as np; from PIL import Image\n' +
        'for n in ("sample.png", "sample-mask.png"):\n' +
        '    a = np.array(Image.open(sys.argv[1] + "/" + n)); b = np.array(Image.open(sys.argv[2] + "/" + n))\n' +
        '    assert a.shape == b.shape and (a == b).all(), n\n' +
        'm = np.array(Image.open(sys.argv[2] + "/sample-mask.png")); assert m.ndim == 2 and m.dtype == np.uint8 and set(np.unique(m)) <= {0, 1, 2, 3}, m.dtype\n' +
        'print("ok", a.shape)',
      tmp,
      path.join(MODELS, 'default'),
    ]);
    assert.equal(cmp.status, 0, cmp.out);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

async function smoke(script: string, set: string, role: 'segmenter' | 'denoiser', extra: string[] = []): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'certseg-smoke-'));
  try {
    const r = runPy([path.join(TRAIN, script), '--set', set, '--smoke', '--out', tmp, ...extra]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /step 1\/1 loss/);
    const card = JSON.parse(fs.readFileSync(path.join(tmp, `${role}.card.json`), 'utf8')) as Card;
    assert.equal(card.cardVersion, 1);
    assert.equal(card.role, role);
    const session = await ort.InferenceSession.create(path.join(tmp, card.file));
    const out = await session.run(feedsFor(card, session, 1, 32, 40));
    assert.deepEqual(out[card.output.name!]!.dims, [1, card.output.channels, 32, 40]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

test('train_segmenter.py --set default --smoke trains one step and exports a working ONNX + card', { skip: NO_TORCH }, () => smoke('train_segmenter.py', 'default', 'segmenter'));
test('train_denoiser.py --set default --smoke trains one step and exports a working ONNX + card', { skip: NO_TORCH }, () => smoke('train_denoiser.py', 'default', 'denoiser'));

test('train_segmenter.py random_crop (--crop-aug): square, a multiple of the stride, half to 7/8 of the side, image and mask cut alike', { skip: NO_TORCH }, () => {
  const r = runPy([
    '-c',
    'import sys, torch; sys.path.insert(0, sys.argv[1]); from train_segmenter import random_crop\n' +
      'g = torch.Generator().manual_seed(0); x = torch.rand(4, 3, 128, 128); y = x[:, 0].clone(); seen = set()\n' +
      'for _ in range(200):\n' +
      '    cx, cy = random_crop(x, y, g)\n' +
      '    c = cx.shape[-1]; assert cx.shape == (4, 3, c, c) and cy.shape == (4, c, c), (cx.shape, cy.shape)\n' +
      '    assert c % 16 == 0 and 64 <= c <= 112, c\n' +
      '    assert torch.equal(cx[:, 0], cy)  # the mask is cut from the same window as the image\n' +
      '    seen.add(c)\n' +
      'assert seen == {64, 80, 96, 112}, seen\n' +
      'print("ok", sorted(seen))',
    TRAIN,
  ]);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /ok \[64, 80, 96, 112\]/);
});

test('training scripts write a test fixture only for models kept in models/<folder> (never for --out elsewhere)', { skip: NO_TORCH }, () => {
  const r = runPy([
    '-c',
    'import os, sys; sys.path.insert(0, sys.argv[1]); import common\n' +
      'p = common.reference_path(os.path.join(common.REPO, "models", "polyp-crop"), "segmenter")\n' +
      'assert p == os.path.join(common.REPO, "test", "models", "fixtures", "polyp-crop-segmenter.json"), p\n' +
      'assert common.reference_path("/tmp/elsewhere", "segmenter") is None\n' +
      'assert common.reference_path(os.path.join(common.REPO, "models", "a", "b"), "denoiser") is None\n' +
      'print("ok")',
    TRAIN,
  ]);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /^ok/m);
});

const NO_KVASIR = NO_TORCH || (fs.existsSync(KVASIR) ? false : `Kvasir-SEG not found at ${KVASIR}`);
test('train_segmenter.py --set polyp --smoke', { skip: NO_KVASIR }, () => smoke('train_segmenter.py', 'polyp', 'segmenter'));
test('train_segmenter.py --set polyp --crop-aug --smoke', { skip: NO_KVASIR }, () => smoke('train_segmenter.py', 'polyp', 'segmenter', ['--crop-aug']));
test('train_denoiser.py --set polyp --smoke', { skip: NO_KVASIR }, () => smoke('train_denoiser.py', 'polyp', 'denoiser'));

for (const [set, folder] of [
  ['ph2', 'ph2-256'],
  ['cxr', 'cxr-lungs-256'],
] as const) {
  const skip = NO_TORCH || (fs.existsSync(path.join(DATASETS, folder)) ? false : `${folder} not found in ${DATASETS}`);
  test(`train_segmenter.py --set ${set} --smoke`, { skip }, () => smoke('train_segmenter.py', set, 'segmenter'));
  test(`train_denoiser.py --set ${set} --smoke`, { skip }, () => smoke('train_denoiser.py', set, 'denoiser'));
}
