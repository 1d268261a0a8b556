/**
 * The config file format (`*.certseg.json`), used by the CLI (--config), the editor (completion, validation,
 * diagnostics) and the client (overrides). Schema: server/schemas/config.schema.json; unknown keys are errors.
 * Paths are relative to the config file.
 */
import type { EnginePreference } from './results';

/** What the ground-truth masks' values mean: mask value (grey level or #rrggbb) → class name, class id or "ignore". */
export type MaskValuesConfig = Record<string, number | string>;

export type Correction = 'holm' | 'bonferroni';
/** carlini: x_t = sqrt(ᾱ)(2(x+ε)−1), t* from 2σ, clip (default). miccai: the MICCAI 2023 code's convention. */
export type DenoiseConvention = 'carlini' | 'miccai';

export interface CertsegConfig {
  $schema?: string;
  /** Path of the segmenter's model card. Default: the shipped default segmenter. */
  segmenter?: string;
  /** Path of the denoiser's model card, or null for plain randomized smoothing. Default: shipped denoiser. */
  denoiser?: string | null;
  engine?: EnginePreference;
  sigma?: number;
  n0?: number;
  n?: number;
  tau?: number;
  alpha?: number;
  correction?: Correction;
  denoiseConvention?: DenoiseConvention;
  batchSize?: number;
  /** Peak memory (MiB) the run plans for (pipeline/memoryPlan.ts); null/absent: 2048 on CPU, the GPU's memory on a GPU. */
  memoryBudgetMiB?: number | null;
  seed?: number;
  /** Also compute the per-pixel Clopper-Pearson radius map (Cohen's CERTIFY per pixel, Bonferroni α/K). */
  radiusMap?: boolean;
  /** Crop selection window M (robust inference by crop selection), or null for the whole frame. */
  cropSelection?: number | null;
  /** Where the Monte-Carlo loop runs (default auto: on the tfjs device when both models run on tfjs on a GPU). */
  sampling?: SamplingPreference;
  /** What the ground-truth masks' values mean (value → class name, id or "ignore"): image/maskValues.ts. */
  maskValues?: MaskValuesConfig;
}

/** auto: the device loop (engines/deviceSampler.ts) when both models run on tfjs on a GPU, else the host loop; device: force it. */
export type SamplingPreference = 'auto' | 'device' | 'host';

/**
 * Config fields a caller may override on top of the config file (or the shipped defaults).
 * Model paths given here must be absolute. Unknown keys are rejected.
 */
export type ConfigOverrides = Partial<Omit<CertsegConfig, '$schema'>>;
