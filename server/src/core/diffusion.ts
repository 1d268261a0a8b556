/**
 * DDPM noise schedules, the timestep that matches a smoothing σ, and one-shot x̂0 (notes §4).
 * t is always the 0-based index into ᾱ.
 */
import type { BetaSchedule } from '../models/card';
import { CertsegError } from './errors';

/** ᾱ_t = Π_{s≤t} (1 − β_s), t = 0..T−1, in float64 (single precision shifts t* on the grid). */
export function alphasCumprod(schedule: BetaSchedule, T: number): Float64Array {
  if (!Number.isInteger(T) || T < 2) throw new CertsegError(`diffusion: T must be an integer ≥ 2 (got ${T})`, 'config');
  const betas = new Float64Array(T);
  switch (schedule.type) {
    case 'linear': {
      const { betaStart: a, betaEnd: b } = schedule;
      if (!(a > 0 && b < 1 && a <= b)) {
        throw new CertsegError(`diffusion: linear schedule needs 0 < betaStart ≤ betaEnd < 1 (got ${a}, ${b})`, 'config');
      }
      for (let i = 0; i < T; i++) betas[i] = a + ((b - a) * i) / (T - 1); // np.linspace
      break;
    }
    case 'cosine': {
      // Nichol & Dhariwal 2021: ᾱ(t) = cos²((t/T + s)/(1 + s)·π/2), β clipped at 0.999
      const s = schedule.s ?? 0.008;
      const f = (t: number) => Math.cos(((t / T + s) / (1 + s)) * (Math.PI / 2)) ** 2;
      for (let i = 0; i < T; i++) betas[i] = Math.min(1 - f(i + 1) / f(i), 0.999);
      break;
    }
    case 'alphasCumprod': {
      const v = schedule.values;
      if (v.length !== T) throw new CertsegError(`diffusion: alphasCumprod table has ${v.length} values, T = ${T}`, 'config');
      for (let i = 0; i < T; i++) {
        if (!(v[i] > 0 && v[i] <= 1 && (i === 0 || v[i] <= v[i - 1]))) {
          throw new CertsegError(`diffusion: alphasCumprod must be non-increasing in (0,1] (value ${i} = ${v[i]})`, 'config');
        }
      }
      return Float64Array.from(v);
    }
    default:
      throw new CertsegError(`diffusion: unknown schedule type ${(schedule as { type: string }).type}`, 'config');
  }
  const abar = new Float64Array(T);
  let p = 1;
  for (let i = 0; i < T; i++) abar[i] = p *= 1 - betas[i];
  return abar;
}

function checkSigma(sigma: number): void {
  if (!(Number.isFinite(sigma) && sigma > 0)) {
    throw new CertsegError(`diffusion: σ must be a positive number to pick a timestep (got ${sigma})`, 'config');
  }
}

/** Carlini et al.: first t ≥ 1 whose noise level sqrt((1−ᾱ)/ᾱ) reaches 2σ (noise std in [−1,1] space). */
export function carliniTimestep(abar: Float64Array, sigma: number): number {
  checkSigma(sigma);
  for (let t = 1; t < abar.length; t++) {
    if (Math.sqrt((1 - abar[t]) / abar[t]) >= 2 * sigma) return t;
  }
  const max = Math.sqrt((1 - abar[abar.length - 1]) / abar[abar.length - 1]) / 2;
  throw new CertsegError(`diffusion: σ = ${sigma} is beyond the schedule (largest σ it covers is ${max.toPrecision(4)})`, 'config');
}

/** MICCAI 2023 code: argmin_t |ᾱ_t − 1/(1+σ²)| (σ itself, input kept in [0,1]). */
export function miccaiTimestep(abar: Float64Array, sigma: number): number {
  checkSigma(sigma);
  const target = 1 / (1 + sigma * sigma);
  const last = abar[abar.length - 1];
  if (target < last) {
    throw new CertsegError(
      `diffusion: σ = ${sigma} is beyond the schedule (largest σ it covers is ${Math.sqrt(1 / last - 1).toPrecision(4)})`,
      'config',
    );
  }
  let best = 0;
  for (let t = 1; t < abar.length; t++) if (Math.abs(abar[t] - target) < Math.abs(abar[best] - target)) best = t;
  return best;
}

/**
 * x̂0 = (x_t − sqrt(1−ᾱ)·ε̂)/sqrt(ᾱ), in place into `out` (may alias xt).
 * epsHat holds `epsChannels` channels per image (learned variance: only the first c are ε).
 */
export function predictX0(
  xt: Float32Array,
  epsHat: Float32Array,
  abarT: number,
  b: number,
  c: number,
  hw: number,
  epsChannels = c,
  out = new Float32Array(xt.length),
): Float32Array {
  const sa = Math.sqrt(abarT);
  const sn = Math.sqrt(1 - abarT);
  for (let n = 0; n < b; n++) {
    for (let ch = 0; ch < c; ch++) {
      const xo = (n * c + ch) * hw;
      const eo = (n * epsChannels + ch) * hw;
      for (let i = 0; i < hw; i++) out[xo + i] = (xt[xo + i] - sn * epsHat[eo + i]) / sa;
    }
  }
  return out;
}
