/**
 * The certification config: one JSON format (`*.certseg.json`), used by the CLI (--config) and by the
 * editor (completion, validation, diagnostics). Schema: server/schemas/config.schema.json; unknown keys
 * are errors. Paths are relative to the config file.
 */
import type { Correction, DenoiseConvention, MaskValuesConfig, SamplingPreference } from '../../../protocol/config';
import type { EnginePreference } from '../../../protocol/results';

export type { CertsegConfig, Correction, DenoiseConvention, SamplingPreference } from '../../../protocol/config';

/** A config with every default filled in and paths made absolute. */
export interface ResolvedConfig {
  configPath: string | null;
  segmenter: string;
  denoiser: string | null;
  engine: EnginePreference;
  sigma: number;
  n0: number;
  n: number;
  tau: number;
  alpha: number;
  correction: Correction;
  denoiseConvention: DenoiseConvention;
  batchSize: number;
  memoryBudgetMiB: number | null;
  seed: number;
  radiusMap: boolean;
  cropSelection: number | null;
  /** absent means 'auto' */
  sampling?: SamplingPreference;
  /** absent: masks hold class ids (or 0/255 on a binary card) */
  maskValues?: MaskValuesConfig;
}
