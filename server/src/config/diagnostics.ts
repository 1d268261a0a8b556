/**
 * What the editor shows on a *.certseg.json file beyond the JSON Schema: model files that don't exist,
 * σ outside the denoiser's schedule, maskValues naming no class of the segmenter, n too small for any pixel to ever be certified, and the insights
 * (radius σ·Φ⁻¹(τ), the denoiser's t*) that hovers display.
 */
import { existsSync } from 'node:fs';
import { isCertsegError } from '../core/errors';
import { alphasCumprod, carliniTimestep, miccaiTimestep } from '../core/diffusion';
import { minCertifiableCount } from '../core/feasibility';
import { certifiedRadius } from '../core/stats';
import { resolveMaskValues } from '../image/maskValues';
import { loadCard } from '../models/loadCard';
import { resolveConfig, schemaProblems } from './config';
import type { ResolvedConfig } from './types';

export interface ConfigDiagnostic {
  message: string;
  severity: 'error' | 'warning' | 'info';
  /** JSON path of the offending value (empty = the whole document) */
  path: (string | number)[];
}

export interface ConfigInsights {
  radius: number | null;
  timestep: number | null;
  /** the image size assumed for the feasibility check */
  assumedPixels: number;
  minCount: number | null;
}

/** Typical image size when the segmenter accepts any size: the feasibility check needs some K. */
const ASSUMED_SIDE = 256;

export async function configDiagnostics(text: string, configPath: string): Promise<ConfigDiagnostic[]> {
  return (await analyzeConfig(text, configPath)).diagnostics;
}

export async function analyzeConfig(
  text: string,
  configPath: string,
): Promise<{ diagnostics: ConfigDiagnostic[]; insights: ConfigInsights | null }> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { diagnostics: [{ message: `not valid JSON: ${(e as Error).message}`, severity: 'error', path: [] }], insights: null };
  }
  // Structural problems are the JSON Schema's, which the editor reports itself (package.json jsonValidation):
  // one source per problem. The semantic checks below need a structurally valid config.
  if (schemaProblems(raw).length > 0) return { diagnostics: [], insights: null };

  const diagnostics: ConfigDiagnostic[] = [];
  const cfg: ResolvedConfig = resolveConfig(raw, configPath);
  const insights: ConfigInsights = {
    radius: certifiedRadius(cfg.sigma, cfg.tau),
    timestep: null,
    assumedPixels: ASSUMED_SIDE ** 2,
    minCount: null,
  };

  let side = ASSUMED_SIDE;
  for (const key of ['segmenter', 'denoiser'] as const) {
    const card = cfg[key];
    if (!card) continue;
    if (!existsSync(card)) {
      diagnostics.push({ message: `model card not found: ${card}`, severity: 'error', path: [key] });
      continue;
    }
    try {
      const c = await loadCard(card, key);
      if (key === 'segmenter' && c.input.height && c.input.width) side = Math.sqrt(c.input.height * c.input.width);
      // maskValues name the segmenter's classes: check each entry at its key
      if (key === 'segmenter' && cfg.maskValues) {
        for (const [k, v] of Object.entries(cfg.maskValues)) {
          try {
            resolveMaskValues({ [k]: v }, c.classes ?? [], c.ignoreLabel);
          } catch (e) {
            diagnostics.push({ message: isCertsegError(e) ? e.message : String(e), severity: 'error', path: ['maskValues', k] });
          }
        }
      }
      if (key === 'denoiser' && c.denoiser?.kind === 'ddpm-eps' && c.denoiser.schedule && c.denoiser.T) {
        const abar = alphasCumprod(c.denoiser.schedule, c.denoiser.T);
        insights.timestep = cfg.denoiseConvention === 'miccai' ? miccaiTimestep(abar, cfg.sigma) : carliniTimestep(abar, cfg.sigma);
      }
    } catch (e) {
      const where: (string | number)[] = isCertsegError(e) && e.code === 'config' && /sigma|σ|schedule/.test(e.message) ? ['sigma'] : [key];
      diagnostics.push({ message: isCertsegError(e) ? e.message : String(e), severity: 'error', path: where });
    }
  }
  insights.assumedPixels = Math.round(side * side);
  const minCount = minCertifiableCount(cfg.n, cfg.tau, cfg.alpha, insights.assumedPixels, cfg.correction);
  insights.minCount = minCount;
  if (minCount === null) {
    diagnostics.push({
      message: `n = ${cfg.n} is too small: at τ = ${cfg.tau}, α = ${cfg.alpha} no pixel of a ${Math.round(side)}×${Math.round(side)} image can ever be certified, even with all ${cfg.n} votes`,
      severity: 'error',
      path: ['n'],
    });
  } else if (minCount > 0.97 * cfg.n) {
    diagnostics.push({
      message: `a pixel needs ${minCount} of ${cfg.n} votes to be certified (${Math.round(side)}×${Math.round(side)} image): expect many abstentions; a larger n helps`,
      severity: 'info',
      path: ['n'],
    });
  }
  return { diagnostics, insights };
}
