/**
 * What the certification core asks of the models: a segmenter that maps images to per-pixel class ids,
 * and an optional denoiser. The engines' Segmenter and Denoiser (engines/engine.ts) extend these, so
 * core/ depends on no engine.
 */

export interface SegmentModel {
  readonly numClasses: number;
  /** b images, NCHW float32 in [0,1], each 3×h×w → per-pixel class ids, b×h×w */
  segment(images: Float32Array, b: number, h: number, w: number): Promise<Uint8Array>;
}

export interface DenoiseModel {
  /** b noisy images x + ε (NCHW float32, [0,1] space) → the denoised images, same shape */
  denoise(noisy: Float32Array, b: number, h: number, w: number, sigma: number): Promise<Float32Array>;
}
