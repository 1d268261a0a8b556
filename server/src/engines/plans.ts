/**
 * What the card adapters (adapt.ts) derive from a model card and its model: shared by the host adapters
 * and the device-side sampler (engines/deviceSampler.ts). Types only, below engine.ts and adapt.ts.
 */
import type { InputSpec, SegmenterOutputSpec, TensorSpec } from '../models/card';
import type { Feed, TensorMeta } from './runner';
import type { WorkingShape } from './workingShape';

import type { DenoiseConvention } from '../../../protocol/config';

export type { DenoiseConvention } from '../../../protocol/config';

/**
 * What the segmenter adapter derives from its card and model: shared by the host adapter (adapt.ts) and the
 * device-side sampler (engines/deviceSampler.ts), which applies the same transforms as tensor ops.
 */
export interface SegmenterPlan {
  shown: string;
  inName: string;
  outName: string;
  inSpec: InputSpec;
  outSpec: SegmenterOutputSpec;
  numClasses: number;
  /** y = a_c·x + b_c maps canonical [0,1] to the card's input range and normalisation */
  a: number[];
  b: number[];
  nhwc: boolean;
  /** 3 (RGB) or 1 (grey: the luma of the RGB image, LUMA) */
  inChannels: number;
  /** the model declares its input as [N,H,W] (1 channel, no channel axis) */
  inRank3: boolean;
}

/** What the denoiser adapter derives from its card and model (shared with the device sampler, like SegmenterPlan). */
export interface DenoiserPlan {
  shown: string;
  inName: string;
  outName: string;
  /** timestep input, if the model has one */
  ts: { meta: TensorMeta; dtype: Feed['dtype']; scale: number } | null;
  inSpec: InputSpec;
  outSpec: TensorSpec;
  ddpm: boolean;
  abar: Float64Array | null;
  convention: DenoiseConvention;
  /** direct denoisers: y = a_c·x + b_c into the model's range (ddpm: identity, x_t is already in model space) */
  a: number[];
  b: number[];
  nhwc: boolean;
  timestepFor(sigma: number, h: number, w: number, shape?: WorkingShape): number | null;
}
