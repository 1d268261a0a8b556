/**
 * One-shot DDPM denoising through ONNX Runtime on ε-models whose output is known in closed form
 * (ε̂ = c·x_t + d·t), so x̂0 can be checked exactly for both conventions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { alphasCumprod, carliniTimestep, miccaiTimestep } from '../../server/src/core/diffusion';
import { CertsegError } from '../../server/src/core/errors';
import { noiseStdFactor } from '../../server/src/core/resize';
import { loadDenoiser } from '../../server/src/engines/load';
import { DT, epsModel, scaleModel } from './onnxWriter';
import { seededUniform, tempDir, writeCard } from './helpers';

const schedule = { type: 'linear' as const, betaStart: 1e-4, betaEnd: 0.02 };
const abar = alphasCumprod(schedule, 1000);

function ddpmCard(file: string, o: { size?: number | null; layout?: 'NCHW' | 'NHWC'; dtype?: string; scale?: number; lv?: boolean } = {}) {
  const s = o.size ?? null;
  const layout = o.layout ?? 'NCHW';
  return {
    cardVersion: 1,
    name: 'eps',
    role: 'denoiser',
    file,
    input: { name: 'x', layout, height: s, width: s, batch: null, channels: 3, range: [-1, 1] },
    output: { layout, height: s, width: s, batch: null, channels: o.lv ? 6 : 3 },
    denoiser: {
      kind: 'ddpm-eps',
      schedule,
      T: 1000,
      learnedVariance: o.lv ?? false,
      timestep: { input: 't', dtype: o.dtype ?? 'int64', ...(o.scale ? { scale: o.scale } : {}) },
    },
  };
}

/** Expected output for ε̂ = c·x_t + d·t·scale, Carlini or MICCAI. */
function expected(noisy: Float32Array, t: number, c: number, dt: number, conv: 'carlini' | 'miccai'): Float64Array {
  const a = abar[t],
    sa = Math.sqrt(a),
    sn = Math.sqrt(1 - a);
  return Float64Array.from(noisy, (v) => {
    const xt = sa * (conv === 'carlini' ? 2 * v - 1 : v);
    const x0 = (xt - sn * (c * xt + dt)) / sa;
    return conv === 'carlini' ? (Math.min(1, Math.max(-1, x0)) + 1) / 2 : 0.5 * x0;
  });
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('ddpm-eps, Carlini and MICCAI conventions: x̂0 matches the closed form; timestep reaches the model', async () => {
  const dir = tempDir();
  const c = 0.3,
    d = 1e-3;
  writeFileSync(path.join(dir, 'eps.onnx'), epsModel({ c, d }));
  const card = writeCard(dir, 'eps', ddpmCard('eps.onnx'));
  const [b, h, w, sigma] = [2, 9, 7, 0.25];
  const noisy = seededUniform(b * 3 * h * w, 2).map((v) => 1.4 * v - 0.2); // x+ε leaves [0,1]
  for (const conv of ['carlini', 'miccai'] as const) {
    const den = await loadDenoiser(card, { convention: conv });
    const t = den.timestepFor(sigma, h, w)!;
    assert.equal(t, conv === 'carlini' ? 145 : miccaiTimestep(abar, sigma));
    const out = await den.denoise(noisy, b, h, w, sigma);
    const diff = maxDiff(out, expected(noisy, t, c, d * t, conv));
    console.log(`# ${conv}: t* = ${t}, max |Δ| vs closed form = ${diff.toExponential(2)}`);
    assert.ok(diff < 2e-6, `${conv}: ${diff}`);
    if (conv === 'carlini') assert.ok(out.every((v) => v >= 0 && v <= 1)); // clipped
    await den.dispose();
  }
});

test('ddpm-eps: learned variance (6 channels), NHWC, scalar float timestep with scale', async () => {
  const dir = tempDir();
  writeFileSync(
    path.join(dir, 'lv.onnx'),
    epsModel({ c: 0.5, d: 0.01, learnedVariance: true, layout: 'NHWC', tType: DT.FLOAT, tScalar: true }),
  );
  const card = writeCard(dir, 'lv', ddpmCard('lv.onnx', { layout: 'NHWC', dtype: 'float32', scale: 0.001, lv: true }));
  const den = await loadDenoiser(card);
  const [b, h, w, sigma] = [3, 5, 6, 0.5];
  const noisy = seededUniform(b * 3 * h * w, 8);
  const out = await den.denoise(noisy, b, h, w, sigma);
  assert.equal(den.timestepFor(sigma, h, w), 259);
  assert.ok(maxDiff(out, expected(noisy, 259, 0.5, 0.01 * 259 * 0.001, 'carlini')) < 2e-6);
  await den.dispose();
});

test('ddpm-eps at a fixed input size: t* uses σ·noiseStdFactor, output comes back at the image size', async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'eps0.onnx'), epsModel({ c: 0, d: 0, size: [16, 16] }));
  const card = writeCard(dir, 'eps0', ddpmCard('eps0.onnx', { size: 16 }));
  const den = await loadDenoiser(card);
  const sigma = 0.25;
  // 32×32 → 16×16 area downsampling halves the noise std: t* is the one for σ = 0.125
  assert.ok(Math.abs(noiseStdFactor(32, 32, 16, 16) - 0.5) < 1e-12);
  assert.equal(den.timestepFor(sigma, 32, 32), carliniTimestep(abar, 0.125));
  assert.equal(den.timestepFor(sigma, 16, 16), 145);
  // ε̂ = 0: x̂0 = z exactly, so a constant image survives the down/up resize unchanged
  const out = await den.denoise(new Float32Array(3 * 32 * 32).fill(0.3), 1, 32, 32, sigma);
  assert.equal(out.length, 3 * 32 * 32);
  assert.ok(maxDiff(out, new Float32Array(out.length).fill(0.3)) < 1e-6);
  await den.dispose();
});

test('direct denoiser: card range round trip; σ outside the schedule is a config error', async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'half.onnx'), scaleModel(0.5));
  const card = writeCard(dir, 'half', {
    cardVersion: 1,
    name: 'half',
    role: 'denoiser',
    file: 'half.onnx',
    input: { layout: 'NCHW', height: null, width: null, batch: 1, channels: 3, range: [0, 255] },
    output: { layout: 'NCHW', height: null, width: null, batch: 1, channels: 3 },
    denoiser: { kind: 'direct', sigma: 0.25 },
  });
  const den = await loadDenoiser(card);
  assert.equal(den.timestepFor(0.25, 8, 8), null);
  const noisy = seededUniform(2 * 3 * 8 * 8, 1);
  const out = await den.denoise(noisy, 2, 8, 8, 0.25); // batch 2 through a fixed-batch-1 model
  assert.ok(
    maxDiff(
      out,
      noisy.map((v) => 0.5 * v),
    ) < 1e-6,
  );
  await den.dispose();

  writeFileSync(path.join(dir, 'eps.onnx'), epsModel({ c: 0, d: 0 }));
  const ddpm = await loadDenoiser(writeCard(dir, 'eps', ddpmCard('eps.onnx')));
  await assert.rejects(
    ddpm.denoise(new Float32Array(3 * 4), 1, 2, 2, 100),
    (e) => e instanceof CertsegError && e.code === 'config' && /beyond the schedule/.test(e.message),
  );
  await assert.rejects(ddpm.denoise(new Float32Array(5), 1, 2, 2, 0.25), (e) => e instanceof CertsegError && e.code === 'input');
  await ddpm.dispose();
});
