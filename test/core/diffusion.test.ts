import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alphasCumprod, carliniTimestep, miccaiTimestep, predictX0 } from '../../server/src/core/diffusion';
import { CertsegError } from '../../server/src/core/errors';

const linear = alphasCumprod({ type: 'linear', betaStart: 1e-4, betaEnd: 0.02 }, 1000);

test('Carlini timestep: test vectors from the notes (linear 1e-4..0.02, T=1000)', () => {
  const vectors: [number, number, number][] = [
    [0.12, 70, 0.944944],
    [0.25, 145, 0.797975],
    [0.5, 259, 0.497614],
    [1.0, 396, 0.199923],
  ];
  for (const [sigma, t, abar] of vectors) {
    const got = carliniTimestep(linear, sigma);
    assert.equal(got, t, `σ=${sigma}`);
    assert.ok(Math.abs(linear[got] - abar) < 5e-7, `ᾱ_${t} = ${linear[got]}`);
  }
});

test('timesteps throw a config error when σ is outside the schedule', () => {
  assert.throws(
    () => carliniTimestep(linear, 100),
    (e) => e instanceof CertsegError && e.code === 'config' && /beyond the schedule/.test(e.message),
  );
  assert.throws(
    () => miccaiTimestep(linear, 1000),
    (e) => e instanceof CertsegError && e.code === 'config',
  );
  assert.throws(
    () => carliniTimestep(linear, 0),
    (e) => e instanceof CertsegError && e.code === 'config',
  );
});

test('MICCAI timestep: argmin |ᾱ − 1/(1+σ²)|', () => {
  for (const sigma of [0.12, 0.25, 0.5, 1.0]) {
    const t = miccaiTimestep(linear, sigma);
    const target = 1 / (1 + sigma * sigma);
    assert.ok(Math.abs(linear[t] - target) <= Math.abs(linear[t - 1] - target));
    assert.ok(Math.abs(linear[t] - target) <= Math.abs(linear[t + 1] - target));
  }
  // σ=1: ᾱ target 0.5, the Carlini σ=0.5 row (its ᾱ 0.497614) is within one step
  assert.ok(Math.abs(miccaiTimestep(linear, 1.0) - 259) <= 1);
});

test('cosine schedule: monotone, ᾱ_0 ≈ 1, ends near 0; explicit tables are validated', () => {
  const c = alphasCumprod({ type: 'cosine' }, 1000);
  assert.ok(c[0] > 0.9999 && c[999] < 1e-3);
  for (let i = 1; i < 1000; i++) assert.ok(c[i] <= c[i - 1]);
  assert.deepEqual(Array.from(alphasCumprod({ type: 'alphasCumprod', values: [0.9, 0.5] }, 2)), [0.9, 0.5]);
  assert.throws(() => alphasCumprod({ type: 'alphasCumprod', values: [0.5, 0.9] }, 2), /non-increasing/);
  assert.throws(() => alphasCumprod({ type: 'alphasCumprod', values: [0.5] }, 2), /T = 2/);
});

test('predictX0 inverts the forward process when ε̂ is the true noise; learned variance uses first C channels', () => {
  const x0 = Float32Array.from([0.1, -0.5, 0.9, 0.3]);
  const eps = Float32Array.from([1, -1, 0.5, 2]);
  const a = 0.8;
  const xt = x0.map((v, i) => Math.sqrt(a) * v + Math.sqrt(1 - a) * eps[i]);
  const got = predictX0(xt, eps, a, 1, 1, 4);
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(got[i] - x0[i]) < 1e-6);
  const eps2 = new Float32Array(8);
  eps2.set(eps);
  eps2.fill(99, 4);
  const got2 = predictX0(xt, eps2, a, 1, 1, 4, 2);
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(got2[i] - x0[i]) < 1e-6);
});
