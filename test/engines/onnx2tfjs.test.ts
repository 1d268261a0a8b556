/**
 * tools/onnx2tfjs: the TF.js exports of the shipped models (models/default, polyp, ph2, cxr: cards with
 * `alternates.tfjs`) agree with their ONNX originals through the real adapters — label agreement on the
 * sample image and noisy versions, denoised images within 1e-3 — and a certification runs on engine tfjs.
 * Plus the converter's own contract: unsupported ops are named, hand-written graphs convert exactly, and
 * converting the shipped ONNX files again gives their committed exports byte for byte.
 *
 * ONNX2TFJS_MODEL_DIRS (':'-separated) replaces the model folders checked (e.g. a copy of the committed
 * models while the working tree holds a half-written export).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDenoiser, loadSegmenter } from '../../server/src/engines/load';
import { loadOnnxRunner } from '../../server/src/engines/onnx';
import { loadTfjsRunner } from '../../server/src/engines/tfjs';
import { readImage } from '../../server/src/image/read';
import { loadConfig } from '../../server/src/config/config';
import { certifyImage } from '../../server/src/pipeline/certifyImage';
import { ABSTAIN } from '../../server/src/core/labels';
import { convert } from '../../tools/onnx2tfjs/convert';
import { convertFile } from '../../tools/onnx2tfjs/main';
import { readOnnx } from '../../tools/onnx2tfjs/onnx';
import { DT, model, node, tensor, valueInfo } from './onnxWriter';
import { seededUniform } from './helpers';

const ROOT = path.resolve(__dirname, '../..');
const DIRS = (process.env.ONNX2TFJS_MODEL_DIRS?.split(':') ?? ['models/default', 'models/polyp', 'models/ph2', 'models/cxr']).map((d) =>
  path.resolve(ROOT, d),
);
const SAMPLE = path.join(ROOT, 'models/default/sample.png');

interface Exported {
  cardPath: string;
  role: string;
  onnx: string;
  tfjs: string;
}
function exportedCards(): Exported[] {
  const out: Exported[] = [];
  for (const dir of DIRS) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)
      .filter((x) => x.endsWith('.card.json'))
      .sort()) {
      const card = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { role: string; file: string; alternates?: { tfjs?: string } };
      if (!card.alternates?.tfjs || !card.file.endsWith('.onnx')) continue;
      out.push({
        cardPath: path.join(dir, f),
        role: card.role,
        onnx: path.join(dir, card.file),
        tfjs: path.join(dir, card.alternates.tfjs),
      });
    }
  }
  return out;
}
const cards = exportedCards();
const none = cards.length ? false : 'skipped: no card with alternates.tfjs';
const rerun = (e: Exported) =>
  `node --import tsx tools/onnx2tfjs/main.ts ${path.relative(ROOT, e.onnx)} ${path.relative(ROOT, path.dirname(e.tfjs))}`;

function gaussianNoisy(x: Float32Array, sigma: number, seed: number): Float32Array {
  const u1 = seededUniform(x.length, seed),
    u2 = seededUniform(x.length, seed + 1000);
  return x.map((v, i) => v + sigma * Math.sqrt(-2 * Math.log(u1[i] + 1e-12)) * Math.cos(2 * Math.PI * u2[i]));
}

test('converter names the ONNX ops it cannot convert', () => {
  const m = model({
    nodes: [node('Relu', ['x'], ['r']), node('LSTM', ['r'], ['y']), node('TopK', ['y'], ['z'])],
    inputs: [valueInfo('x', DT.FLOAT, [1, 3, 4, 4])],
    outputs: [valueInfo('z', DT.FLOAT, [1, 3, 4, 4])],
  });
  assert.throws(() => convert(readOnnx(m)), /unsupported ONNX ops: LSTM, TopK/);
  // Resize's defaults (nearest, half_pixel, round_prefer_floor) have no exact TF.js counterpart
  const r = model({
    nodes: [node('Resize', ['x', '', 'scales'], ['y'])],
    initializers: [tensor('scales', [4], Float32Array.of(1, 1, 2, 2))],
    inputs: [valueInfo('x', DT.FLOAT, [1, 3, 4, 4])],
    outputs: [valueInfo('y', DT.FLOAT, [1, 3, 8, 8])],
  });
  assert.throws(() => convert(readOnnx(r)), /Resize .*nearest with half_pixel\/round_prefer_floor is not supported/);
});

test('hand-written graph (conv stride 2 asymmetric pads, GroupNorm pattern, ceil max pool, broadcasting) converts exactly', async () => {
  const u = seededUniform(4 * 3 * 3 * 3 + 4, 3);
  const w = Float32Array.from(u.subarray(0, 108), (v) => v - 0.5);
  const b = Float32Array.from(u.subarray(108), (v) => v - 0.5);
  const m = model({
    nodes: [
      node(
        'Conv',
        ['x', 'w', 'b'],
        ['c'],
        [
          { name: 'strides', ints: [2, 2] },
          { name: 'pads', ints: [1, 0, 0, 1] },
          { name: 'kernel_shape', ints: [3, 3] },
        ],
      ),
      node('Reshape', ['c', 'gshape'], ['g']),
      node('InstanceNormalization', ['g', 'ones', 'zeros'], ['gn'], [{ name: 'epsilon', f: 1e-5 }]),
      node('Shape', ['c'], ['cs']),
      node('Reshape', ['gn', 'cs'], ['r']),
      node('Mul', ['r', 'gamma'], ['rm']),
      node('Sigmoid', ['rm'], ['sg']),
      node(
        'MaxPool',
        ['sg'],
        ['p'],
        [
          { name: 'kernel_shape', ints: [2, 2] },
          { name: 'strides', ints: [2, 2] },
          { name: 'ceil_mode', i: 1 },
        ],
      ),
      node('Sub', ['p', 'x2'], ['y']),
    ],
    initializers: [
      tensor('w', [4, 3, 3, 3], w),
      tensor('b', [4], b),
      tensor('gshape', [3], BigInt64Array.from([0n, 2n, -1n])),
      tensor('ones', [2], Float32Array.of(1, 1)),
      tensor('zeros', [2], Float32Array.of(0, 0)),
      tensor('gamma', [4, 1, 1], Float32Array.of(1, -2, 0.5, 3)),
      tensor('x2', [2], Float32Array.of(0.25, -1)),
    ],
    inputs: [valueInfo('x', DT.FLOAT, ['n', 3, 'h', 'w'])],
    outputs: [valueInfo('y', DT.FLOAT, ['n', 4, 'h2', 'w2'])],
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onnx2tfjs-'));
  try {
    const onnxPath = path.join(dir, 'm.onnx');
    writeFileSync(onnxPath, m);
    convertFile(m, dir);
    const [o, t] = [await loadOnnxRunner(onnxPath, 'm.onnx'), await loadTfjsRunner(path.join(dir, 'model.json'), 'model.json')];
    const x = Float32Array.from(seededUniform(3 * 11 * 9, 5), (v) => 2 * v - 1);
    const feeds = { x: { dtype: 'float32' as const, data: x, dims: [1, 3, 11, 9] } };
    const [a, c] = [await o.run(feeds, 'y'), await t.run(feeds, 'y')];
    assert.deepEqual(c.dims, a.dims);
    const diff = Math.max(...Array.from(a.data, (v, i) => Math.abs(Number(v) - Number(c.data[i]))));
    assert.ok(diff < 1e-5, `max abs diff ${diff}`);
    await o.dispose();
    await t.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('TF.js exports are up to date with their ONNX files', { skip: none }, () => {
  for (const e of cards) {
    const meta = JSON.parse(readFileSync(e.tfjs, 'utf8')).userDefinedMetadata as { onnxSha256?: string } | undefined;
    const sha = createHash('sha256').update(readFileSync(e.onnx)).digest('hex');
    assert.equal(
      meta?.onnxSha256,
      sha,
      `${path.relative(ROOT, e.tfjs)} was converted from another ${path.basename(e.onnx)}: re-run\n  ${rerun(e)}`,
    );
  }
});

test('converting the shipped ONNX files reproduces their TF.js exports byte for byte', { skip: none }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onnx2tfjs-'));
  try {
    for (const [k, e] of cards.entries()) {
      const out = path.join(dir, String(k));
      convertFile(readFileSync(e.onnx), out);
      for (const f of ['model.json', 'weights.bin']) {
        const committed = path.join(path.dirname(e.tfjs), f);
        assert.ok(
          readFileSync(path.join(out, f)).equals(readFileSync(committed)),
          `${path.relative(ROOT, committed)} differs from what the converter writes now: re-run\n  ${rerun(e)}`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('shipped TF.js exports match ONNX Runtime (sample image and noisy versions)', { skip: none }, async () => {
  const img = await readImage(SAMPLE);
  const { height: h, width: w } = img;
  const inputs: [string, Float32Array][] = [
    ['clean', img.data],
    ['σ=0.25', gaussianNoisy(img.data, 0.25, 1)],
    ['σ=0.5', gaussianNoisy(img.data, 0.5, 2)],
  ];
  for (const e of cards) {
    const name = path.relative(ROOT, e.cardPath);
    if (e.role === 'segmenter') {
      const [so, st] = [await loadSegmenter(e.cardPath, { engine: 'onnx' }), await loadSegmenter(e.cardPath, { engine: 'tfjs' })];
      assert.equal(st.info.engine, 'tfjs');
      // odd sizes exercise the ceil_mode pools' last window and the resizes back to odd skip sizes
      const [ch, cw] = [67, 53];
      const crop = new Float32Array(3 * ch * cw);
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < ch; y++) for (let x = 0; x < cw; x++) crop[(c * ch + y) * cw + x] = inputs[1][1][(c * h + y + 20) * w + x + 30];
      for (const [label, x, hh, ww] of [...inputs.map(([l, d]) => [l, d, h, w]), ['σ=0.25 67×53 crop', crop, ch, cw]] as [
        string,
        Float32Array,
        number,
        number,
      ][]) {
        const t0 = performance.now();
        const lo = await so.segment(x, 1, hh, ww);
        const t1 = performance.now();
        const lt = await st.segment(x, 1, hh, ww);
        const t2 = performance.now();
        let agree = 0;
        for (let i = 0; i < lo.length; i++) if (lo[i] === lt[i]) agree++;
        console.log(
          `# ${name} ${label}: label agreement ${((100 * agree) / lo.length).toFixed(3)}% (${lo.length - agree} px differ); onnx ${(t1 - t0).toFixed(0)} ms, tfjs ${(t2 - t1).toFixed(0)} ms`,
        );
        assert.ok(agree / lo.length >= 0.999, `${name} ${label}: ${lo.length - agree} of ${lo.length} labels differ`);
      }
      await so.dispose();
      await st.dispose();
    } else {
      const [d0, d1] = [await loadDenoiser(e.cardPath, { engine: 'onnx' }), await loadDenoiser(e.cardPath, { engine: 'tfjs' })];
      for (const [label, x, sigma] of [
        [...inputs[1], 0.25],
        [...inputs[2], 0.5],
      ] as [string, Float32Array, number][]) {
        const a = await d0.denoise(x, 1, h, w, sigma);
        const b = await d1.denoise(x, 1, h, w, sigma);
        let diff = 0;
        for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
        console.log(`# ${name} ${label}: t* = ${d0.timestepFor(sigma, h, w)}, denoised max abs diff ${diff.toExponential(2)}`);
        assert.ok(diff < 1e-3, `${name} ${label}: denoised images differ by ${diff}`);
      }
      await d0.dispose();
      await d1.dispose();
    }
  }
});

// the default pair, or the first folder that has both roles exported
const pair = DIRS.map((d) => [
  cards.find((e) => e.role === 'segmenter' && path.dirname(e.cardPath) === d),
  cards.find((e) => e.role === 'denoiser' && path.dirname(e.cardPath) === d),
]).find(([s, d]) => s && d);

test(
  'certify the sample with engine tfjs',
  { skip: pair ? false : 'skipped: no folder with both a segmenter and a denoiser exported' },
  async () => {
    const [seg, den] = pair!;
    // cropSelection 64: certifies a 64×64 crop, which halves the run (the test budget is 20 s on 2 shared cores)
    const config = await loadConfig(null, {
      engine: 'tfjs',
      n0: 4,
      n: 60,
      alpha: 0.01,
      cropSelection: 64,
      segmenter: seg!.cardPath,
      denoiser: den!.cardPath,
    });
    const t0 = performance.now();
    const res = await certifyImage({ imagePath: SAMPLE, config });
    const certified = res.certified.filter((c) => c !== ABSTAIN).length;
    console.log(
      `# certify ${path.relative(ROOT, path.dirname(seg!.cardPath))} via tfjs (${res.report.provenance.segmenter.backend}): ${res.width}×${res.height}, ${certified} px certified, ${(performance.now() - t0).toFixed(0)} ms`,
    );
    assert.match(res.report.provenance.segmenter.engine, /^tfjs /);
    assert.match(res.report.provenance.denoiser?.engine ?? '', /^tfjs /);
    assert.ok(certified > 0, 'nothing certified');
  },
);
