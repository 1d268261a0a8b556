/**
 * The device-side Monte-Carlo loop (engines/deviceSampler.ts): counting parity with votes.ts on identical
 * label maps, tensor transforms vs the host adapter's math, and SegCertify through the device path on a
 * real TF.js graph model (MediaPipe Selfie) against the host loop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { segCertify, type SegCertifyParams } from '../../server/src/core/segcertify';
import { hostSampler } from '../../server/src/core/sampling';
import { EstimationVotes, modeOf, SelectionVotes } from '../../server/src/core/votes';
import { makeDenoiser, makeSegmenter } from '../../server/src/engines/adapt';
import {
  addAgreement,
  addHistogram,
  chooseSampler,
  denoiseT,
  DeviceSampler,
  noiseBatch,
  readCounts,
  segmentT,
} from '../../server/src/engines/deviceSampler';
import { loadSegmenter } from '../../server/src/engines/load';
import type { Feed, ModelRunner } from '../../server/src/engines/runner';
import { tfjsBackend } from '../../server/src/engines/tfjs';
import { loadCard } from '../../server/src/models/loadCard';
import { KVASIR_IMAGES, noShared, seededUniform, selfieCard, tempDir, writeCard } from './helpers';

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('device vote counting equals votes.ts on the same label maps (histogram, mode, agreement)', async () => {
  await tfjsBackend();
  const [K, C, batches, b] = [257, 5, 4, 3];
  const host = new SelectionVotes(K, C);
  let hist = tf.zeros([K, C], 'int32') as tf.Tensor2D;
  const maps: Uint8Array[] = [];
  for (let j = 0; j < batches; j++) {
    // skewed labels so modes and ties both occur
    const l = Uint8Array.from(seededUniform(b * K, 10 + j), (u) => Math.min(C - 1, Math.floor(u * u * C)));
    maps.push(l);
    host.add(l, b);
    const t = tf.tensor2d(Int32Array.from(l), [b, K], 'int32');
    const next = addHistogram(hist, t);
    hist.dispose();
    t.dispose();
    hist = next;
  }
  const dev = await readCounts(hist);
  assert.deepEqual(dev, host.votes);
  const selected = host.selected();
  assert.deepEqual(modeOf(dev, K, C), selected);

  const est = new EstimationVotes(selected);
  const selT = tf.tensor1d(Int32Array.from(selected), 'int32');
  let counts = tf.zeros([K], 'int32') as tf.Tensor1D;
  for (const l of maps) {
    est.add(l, b);
    const t = tf.tensor2d(Int32Array.from(l), [b, K], 'int32');
    const next = addAgreement(counts, t, selT);
    counts.dispose();
    t.dispose();
    counts = next;
  }
  assert.deepEqual(await readCounts(counts), est.counts);
  tf.dispose([hist, counts, selT]);
});

test('device noise: fresh per sample within a batch, independent of the batch split, both streams', async () => {
  await tfjsBackend();
  for (const mode of ['xoshiro', 'tfjs'] as const) {
    const all = await noiseBatch(mode, 0.25, 42, 10, 4, 6, 5).data();
    const tail = await noiseBatch(mode, 0.25, 42, 12, 2, 6, 5).data();
    const len = 3 * 6 * 5;
    assert.deepEqual(tail, all.slice(2 * len), `${mode}: samples 12,13 differ by batch split`);
    for (let j = 1; j < 4; j++)
      assert.ok(maxDiff(all.slice(0, len), all.slice(j * len, (j + 1) * len)) > 0.1, `${mode}: sample ${j} repeats sample 0`);
    const other = await noiseBatch(mode, 0.25, 43, 10, 1, 6, 5).data();
    assert.ok(maxDiff(other, all.slice(0, len)) > 0.1, `${mode}: seed ignored`);
    let s2 = 0;
    for (const v of all) s2 += v * v;
    const sd = Math.sqrt(s2 / all.length);
    assert.ok(Math.abs(sd - 0.25) < 0.05, `${mode}: std ${sd}`);
  }
});

// A runner whose model is known in closed form, usable by both paths: run() on host arrays and
// runTensors() on device tensors compute the same function, so any difference is the adapters' math.
function fakeRunner(
  inputs: ModelRunner['inputs'],
  outputs: ModelRunner['outputs'],
  f: (x: tf.Tensor, t: tf.Tensor | null) => tf.Tensor,
): ModelRunner {
  const ts = inputs[1]?.name;
  return {
    info: { engine: 'tfjs', backend: tf.getBackend(), device: 'cpu', version: tf.version_core },
    inputs,
    outputs,
    async run(feeds: Record<string, Feed>) {
      const x = tf.tensor(feeds[inputs[0].name].data as Float32Array, feeds[inputs[0].name].dims);
      const tf0 = ts ? feeds[ts] : null;
      const t = tf0 ? tf.tensor(Float32Array.from(tf0.data as ArrayLike<number>, Number), tf0.dims) : null;
      const out = f(x, t);
      const data = (await out.data()) as Float32Array;
      const dims = out.shape;
      tf.dispose([x, t, out].filter((v): v is tf.Tensor => v !== null));
      return { data, dims };
    },
    runTensors(feeds) {
      return tf.tidy(() => f(feeds[inputs[0].name], ts ? feeds[ts].cast('float32') : null));
    },
    async dispose() {},
  };
}

const schedule = { type: 'linear' as const, betaStart: 1e-4, betaEnd: 0.02 };

test('denoiser on device matches the host adapter (Carlini/MICCAI, NCHW/NHWC, learned variance, fixed size)', async () => {
  await tfjsBackend();
  const dir = tempDir();
  writeFileSync(path.join(dir, 'eps.onnx'), 'placeholder: the runner below stands in for the model');
  const mix = tf.tensor2d([0.5, -0.2, 0.1, 0.3, 0.4, -0.1, 0, 0.2, 0.6], [3, 3]);
  const cases = [
    { layout: 'NCHW', size: null, lv: false, dtype: 'int64' },
    { layout: 'NHWC', size: null, lv: true, dtype: 'float32' },
    { layout: 'NCHW', size: 8, lv: false, dtype: 'int32' },
  ] as const;
  const [b, h, w, sigma] = [3, 12, 10, 0.25];
  const noisy = seededUniform(b * 3 * h * w, 5).map((v) => 1.4 * v - 0.2);
  for (const cs of cases) {
    const nhwc = cs.layout === 'NHWC';
    const card = await loadCard(
      writeCard(dir, `eps-${cs.layout}-${cs.size}`, {
        cardVersion: 1,
        name: 'eps',
        role: 'denoiser',
        file: 'eps.onnx',
        input: { name: 'x', layout: cs.layout, height: cs.size, width: cs.size, batch: null, channels: 3, range: [-1, 1] },
        output: { layout: cs.layout, height: cs.size, width: cs.size, batch: null, channels: cs.lv ? 6 : 3 },
        denoiser: { kind: 'ddpm-eps', schedule, T: 1000, learnedVariance: cs.lv, timestep: { input: 't', dtype: cs.dtype, scale: 0.001 } },
      }),
      'denoiser',
    );
    // ε̂ = channel mix of x_t + 0.5·t (t = timestep·scale), plus junk variance channels
    const f = (x: tf.Tensor, t: tf.Tensor | null) => {
      const nchw = nhwc ? x.transpose([0, 3, 1, 2]) : x;
      const [n, , H, W] = nchw.shape;
      let eps = tf
        .matMul(
          mix,
          nchw
            .reshape([n, 3, H * W])
            .transpose([1, 0, 2])
            .reshape([3, n * H * W]),
        )
        .reshape([3, n, H, W])
        .transpose([1, 0, 2, 3])
        .add(t!.reshape([n, 1, 1, 1]).mul(0.5));
      if (cs.lv) eps = tf.concat([eps, eps.mul(7)], 1);
      return nhwc ? eps.transpose([0, 2, 3, 1]) : eps;
    };
    const sz: number | null = cs.size;
    const dims = sz ? [null, ...(nhwc ? [sz, sz, 3] : [3, sz, sz])] : null;
    const runner = fakeRunner(
      [
        { name: 'x', dims, dtype: 'float32' },
        { name: 't', dims: [null], dtype: cs.dtype },
      ],
      [{ name: 'eps', dims: null, dtype: 'float32' }],
      f,
    );
    for (const convention of ['carlini', 'miccai'] as const) {
      const den = makeDenoiser(runner, card, convention);
      const host = await den.denoise(noisy, b, h, w, sigma);
      const start = tf.memory().numTensors;
      const dev = tf.tidy(() => denoiseT(den.adapter!, tf.tensor4d(noisy, [b, 3, h, w]), sigma).images);
      const devData = await dev.data();
      dev.dispose();
      assert.equal(tf.memory().numTensors, start);
      const d = maxDiff(devData, host);
      console.log(
        `# denoiser ${cs.layout} size=${cs.size} lv=${cs.lv} ${convention}: t* = ${den.timestepFor(sigma, h, w)}, max |device − host| = ${d.toExponential(2)}`,
      );
      assert.ok(d < 1e-5, `${convention} ${JSON.stringify(cs)}: ${d}`);
    }
  }
  mix.dispose();
});

test('segmenter on device matches the host adapter (logits argmax, sigmoid, labels; fixed batch and size)', async () => {
  await tfjsBackend();
  const dir = tempDir();
  writeFileSync(path.join(dir, 'seg.onnx'), 'placeholder');
  const classes = [
    { name: 'a', color: '#ff0000' },
    { name: 'b', color: '#00ff00' },
    { name: 'c', color: '#0000ff' },
  ];
  const w3 = tf.tensor2d([1, -1, 0.5, -0.5, 1, 0.2, 0.3, 0.3, -1], [3, 3]);
  const [b, h, w] = [3, 12, 10];
  const images = seededUniform(b * 3 * h * w, 9);
  for (const kind of ['logits', 'sigmoid', 'labels'] as const) {
    for (const size of [null, 8]) {
      const ch = kind === 'logits' ? 3 : 1;
      const card = await loadCard(
        writeCard(dir, `seg-${kind}-${size}`, {
          cardVersion: 1,
          name: 'seg',
          role: 'segmenter',
          file: 'seg.onnx',
          classes: kind === 'logits' ? classes : classes.slice(0, 2),
          input: {
            name: 'x',
            layout: 'NHWC',
            height: size,
            width: size,
            batch: size ? 2 : null,
            channels: 3,
            range: [0, 255],
            mean: [120, 110, 100],
            std: [60],
          },
          output: { layout: 'NHWC', height: size, width: size, batch: size ? 2 : null, channels: ch, kind },
        }),
        'segmenter',
      );
      const f = (x: tf.Tensor) => {
        const [n, H, W] = x.shape;
        const s = tf.matMul(x.reshape([n * H! * W!, 3]), w3).reshape([n, H!, W!, 3]);
        if (kind === 'logits') return s;
        const one = s.slice([0, 0, 0, 0], [-1, -1, -1, 1]);
        return kind === 'sigmoid' ? one : tf.greater(one, 0).cast('int32');
      };
      const dims = size ? [2, size, size, 3] : null;
      const runner = fakeRunner(
        [{ name: 'x', dims, dtype: 'float32' }],
        [{ name: 'y', dims: size ? [2, size, size, ch] : null, dtype: 'float32' }],
        f,
      );
      const seg = makeSegmenter(runner, card);
      const host = await seg.segment(images, b, h, w);
      const dev = tf.tidy(() => segmentT(seg.adapter!, tf.tensor4d(images, [b, 3, h, w])).labels);
      const devData = await dev.data();
      dev.dispose();
      let diff = 0;
      for (let i = 0; i < host.length; i++) if (host[i] !== devData[i]) diff++;
      assert.equal(diff, 0, `${kind} size=${size}: ${diff} labels differ`);
      assert.ok(new Set(host).size > 1, `${kind}: degenerate test labels`);
    }
  }
  w3.dispose();
});

// ---------------------------------------------------------------------------------------------------
// A real TF.js graph model

/** A Kvasir frame on which Selfie sees ~68% "person" with a wide uncertain band (the first file is all background). */
const MIXED = 'cju16d65tzw9d0799ouslsw25.jpg';

async function kvasirImage(): Promise<{ data: Float32Array; h: number; w: number }> {
  const files = readdirSync(KVASIR_IMAGES)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort();
  const first = files.includes(MIXED) ? MIXED : files[0];
  const { data, info } = await sharp(path.join(KVASIR_IMAGES, first)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const { width: w, height: h } = info;
  const out = new Float32Array(3 * h * w);
  for (let i = 0; i < h * w; i++) for (let c = 0; c < 3; c++) out[c * h * w + i] = data[i * 3 + c] / 255;
  return { data: out, h, w };
}

test(
  'selfie (TF.js graph): SegCertify on the device path is reproducible, batch-independent, leak-free, agrees with the host loop',
  { skip: noShared },
  async () => {
    const card = writeCard(tempDir(), 'selfie', selfieCard());
    const seg = await loadSegmenter(card, { engine: 'tfjs' });
    assert.equal(seg.info.engine, 'tfjs');
    assert.equal(chooseSampler(seg, null).path, seg.info.device === 'gpu' ? 'device' : 'host'); // auto: device on GPU backends
    assert.equal(chooseSampler(seg, null, 'device').path, 'device');
    assert.equal(chooseSampler(seg, null, 'host').path, 'host');
    const img = await kvasirImage();
    const base: SegCertifyParams = {
      sigma: 0.05,
      n0: 4,
      n: 32,
      tau: 0.5,
      alpha: 0.01,
      correction: 'holm',
      batchSize: 4,
      seed: 7,
      radiusMap: false,
    };
    const K = img.h * img.w;
    const run = async (sampler: typeof hostSampler, batchSize: number, seed = base.seed) => {
      const before = tf.memory().numTensors;
      let partials = 0;
      const t0 = performance.now();
      const out = await segCertify({
        image: img.data,
        height: img.h,
        width: img.w,
        segmenter: seg,
        denoiser: null,
        params: { ...base, batchSize, seed },
        sampler,
        onProgress: (p) => {
          if (p.phase === 'estimation') partials++;
        },
      });
      const ms = (performance.now() - t0) / (base.n0 + base.n);
      assert.equal(tf.memory().numTensors, before, `${sampler.path}: tensors leaked`);
      assert.ok(partials >= 1);
      return { out, ms };
    };
    const devA = await run(new DeviceSampler(), 4);
    const devB = await run(new DeviceSampler(), 2);
    const host = await run(hostSampler, 4);
    const tfA = await run(new DeviceSampler({ noise: 'tfjs' }), 4);
    const tfB = await run(new DeviceSampler({ noise: 'tfjs' }), 2);
    // Selfie looks at the whole image, so one noise draw moves many pixels together: a single run's
    // certified fraction varies by several points from seed to seed. Compare means over 3 seeds each.
    const hostRuns = [host.out];
    const tfRuns = [tfA.out];
    for (const d of [1, 2]) {
      hostRuns.push((await run(hostSampler, 4, base.seed + d)).out);
      tfRuns.push((await run(new DeviceSampler({ noise: 'tfjs' }), 4, base.seed + d)).out);
    }
    assert.equal(devA.out.sampling, 'device');
    assert.equal(host.out.sampling, 'host');
    // same seed, other batch size → identical counts (both noise streams)
    assert.deepEqual(devA.out.counts, devB.out.counts);
    assert.deepEqual(devA.out.selected, devB.out.selected);
    assert.deepEqual(tfA.out.counts, tfB.out.counts);
    // 'xoshiro' noise is the host loop's own stream: same labels up to float differences
    let mism = 0;
    for (let i = 0; i < K; i++) if (devA.out.counts[i] !== host.out.counts[i] || devA.out.selected[i] !== host.out.selected[i]) mism++;
    // 'tfjs' noise is another stream: the certified fraction agrees statistically
    const frac = (o: typeof host.out) => o.certifiedPixels / K;
    const person = (o: typeof host.out) => o.selected.reduce((s, v) => s + v, 0) / K;
    const mean = (runs: (typeof host.out)[], f: (o: typeof host.out) => number) => runs.reduce((s, o) => s + f(o), 0) / runs.length;
    const show = (runs: (typeof host.out)[], f: (o: typeof host.out) => number) => runs.map((o) => f(o).toFixed(3)).join('/');
    console.log(
      `# selfie ${img.h}x${img.w}, n0=${base.n0}, n=${base.n}: device/xoshiro vs host loop (seed 7): ${mism} pixels differ; certified fraction (seeds 7/8/9) host ${show(hostRuns, frac)}, device/tfjs-noise ${show(tfRuns, frac)}; selected-person fraction host ${show(hostRuns, person)}, device/tfjs-noise ${show(tfRuns, person)}`,
    );
    console.log(
      `# selfie ms/sample (tfjs ${seg.info.backend}, batch 4): host loop ${host.ms.toFixed(1)}, device loop ${devA.ms.toFixed(1)} (xoshiro noise), ${tfA.ms.toFixed(1)} (tf.randomNormal noise)`,
    );
    console.log(
      `# device stage ms (xoshiro): ${JSON.stringify(devA.out.timings, (_, v) => (typeof v === 'number' ? Math.round(v) : v))}; host: ${JSON.stringify(host.out.timings, (_, v) => (typeof v === 'number' ? Math.round(v) : v))}`,
    );
    assert.ok(mism / K < 1e-3, `device (xoshiro) vs host: ${mism} pixels differ`);
    assert.ok(Math.abs(mean(tfRuns, frac) - mean(hostRuns, frac)) < 0.05);
    assert.ok(Math.abs(mean(tfRuns, person) - mean(hostRuns, person)) < 0.05);
    await seg.dispose();
  },
);

test('certifyImage: sampling auto/device/host for a tfjs model; provenance says which loop ran', { skip: noShared }, async () => {
  const { resolveConfig } = await import('../../server/src/config/config');
  const { certifyImage } = await import('../../server/src/pipeline/certifyImage');
  const card = writeCard(tempDir(), 'selfie', selfieCard());
  const imagePath = path.join(KVASIR_IMAGES, MIXED);
  const paths: string[] = [];
  for (const sampling of [undefined, 'device', 'host'] as const) {
    const config = resolveConfig(
      {
        segmenter: card,
        denoiser: null,
        engine: 'tfjs',
        sigma: 0.05,
        n0: 2,
        n: 32,
        tau: 0.6,
        alpha: 0.01,
        batchSize: 4,
        seed: 3,
        radiusMap: false,
        ...(sampling ? { sampling } : {}),
      },
      null,
    );
    const res = await certifyImage({ imagePath, config });
    paths.push(res.report.provenance.sampling!);
  }
  const gpu = (await tfjsBackend()).device === 'gpu';
  assert.deepEqual(paths, [gpu ? 'device' : 'host', 'device', 'host']);
});
