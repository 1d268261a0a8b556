/**
 * The thin layer each engine (onnx.ts, tfjs.ts) provides: a loaded network that maps named tensors
 * to named tensors. Everything model-card related (layout, range, batch, size, output kinds) lives
 * in adapt.ts on top of it, so both engines share one tested adapter.
 */
import type { Tensor } from '@tensorflow/tfjs';
import type { EngineInfo } from '../../../protocol/results';

export type FeedDType = 'float32' | 'int32' | 'int64';

export interface Feed {
  dtype: FeedDType;
  data: Float32Array | Int32Array | BigInt64Array;
  dims: number[];
}

/** A declared model input/output; null dims are dynamic (symbolic or -1). */
export interface TensorMeta {
  name: string;
  dims: (number | null)[] | null;
  dtype: string;
}

export interface RunOutput {
  /** converted to numbers: float outputs as Float32Array, integer outputs as Int32Array */
  data: Float32Array | Int32Array;
  dims: number[];
}

export interface ModelRunner {
  readonly info: EngineInfo;
  readonly inputs: TensorMeta[];
  readonly outputs: TensorMeta[];
  run(feeds: Record<string, Feed>, output: string): Promise<RunOutput>;
  /**
   * TF.js only: synchronous run on tensors that stay on the backend's device (usable inside tf.tidy).
   * Throws for graphs that need executeAsync (control flow); the caller then falls back to run().
   */
  runTensors?(feeds: Record<string, Tensor>, output: string): Tensor;
  dispose(): Promise<void>;
}

/** TF graph names carry an output index (`x:0`); ONNX names from tf2onnx may or may not. */
export function sameTensorName(a: string, b: string): boolean {
  const strip = (s: string) => s.replace(/:0$/, '');
  return strip(a) === strip(b);
}
