/**
 * The one interface both inference engines (ONNX Runtime, TensorFlow.js) implement.
 *
 * Canonical tensors between modules: float32, NCHW, RGB, values in [0,1] (the space where the
 * certification noise is added). Each adapter converts to what its model card asks for
 * (layout, normalisation, fixed batch, fixed input size) and back, so the certification core
 * never sees a model's quirks.
 */
import type { DenoiseModel, SegmentModel } from '../core/models';
import type { ResolvedCard } from '../models/card';
import type { EngineInfo } from '../../../protocol/results';
import type { DenoiserPlan, SegmenterPlan } from './plans';
import type { ModelRunner } from './runner';
import type { WorkingShape } from './workingShape';

export type { EngineInfo, EngineName, EnginePreference } from './info';

export interface Segmenter extends SegmentModel {
  readonly card: ResolvedCard;
  readonly info: EngineInfo;
  readonly numClasses: number;
  /**
   * images: b images, NCHW float32 in [0,1], each 3×h×w (the image's own resolution).
   * Returns per-pixel class ids (argmax, or threshold 0.5 for a single sigmoid channel),
   * b×h×w, at the image's resolution (nearest-neighbour resize back if the model's input is fixed).
   * `shape`: where the model sees the image (engines/workingShape.ts); default: the card's size or the image's.
   */
  segment(images: Float32Array, b: number, h: number, w: number, shape?: WorkingShape): Promise<Uint8Array>;
  /** Set by the card adapter: the runner and card-derived plan, for the device-side sampler (deviceSampler.ts). */
  readonly adapter?: { runner: ModelRunner; plan: SegmenterPlan };
  /** The working shape bound for one image by the memory plan (pipeline/memoryPlan.ts bindShape); absent: the default. */
  readonly shape?: WorkingShape;
  /** ONNX Runtime: the composed graphs (engines/compose.ts; CERTSEG_ORT_COMPOSE=0 turns them off) */
  readonly composer?: SegmenterComposer;
  dispose(): Promise<void>;
}

/**
 * The card's transforms and the model(s) as one ONNX graph (engines/compose.ts). Each method returns the labels,
 * or null where that call cannot be composed (the caller then runs the adapters).
 */
export interface SegmenterComposer {
  segment(images: Float32Array, b: number, h: number, w: number, shape?: WorkingShape): Promise<Uint8Array | null>;
  /** denoise with `den`, then segment, in one graph */
  chain(
    den: Denoiser,
    noisy: Float32Array,
    b: number,
    h: number,
    w: number,
    sigma: number,
    segShape?: WorkingShape,
  ): Promise<Uint8Array | null>;
}

export interface Denoiser extends DenoiseModel {
  readonly card: ResolvedCard;
  readonly info: EngineInfo;
  /**
   * noisy: b images x + ε (NCHW float32, [0,1] space, NOT clipped), with ε ~ N(0, σ²) per pixel.
   * Returns the denoised images in [0,1] space, same shape. One network call per image.
   */
  denoise(noisy: Float32Array, b: number, h: number, w: number, sigma: number, shape?: WorkingShape): Promise<Float32Array>;
  /** The timestep t* (0-based) that denoise() uses for this σ, image size and working shape; null for direct denoisers. */
  timestepFor(sigma: number, h: number, w: number, shape?: WorkingShape): number | null;
  /** Set by the card adapter (see Segmenter.adapter). */
  readonly adapter?: { runner: ModelRunner; plan: DenoiserPlan };
  /** See Segmenter.shape. */
  readonly shape?: WorkingShape;
  dispose(): Promise<void>;
}
