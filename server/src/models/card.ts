/**
 * Model cards: a JSON sidecar (`<name>.card.json`) next to each model file telling the engine how to
 * feed it and read it. Validated with server/schemas/model-card.schema.json (ajv).
 * Any segmentation model exported from PyTorch or TensorFlow plus a card must just work.
 */

export type ModelFormat = 'onnx' | 'tfjs-graph' | 'tfjs-layers';
export type Layout = 'NCHW' | 'NHWC';

export interface ClassSpec {
  name: string;
  /** '#rrggbb' */
  color: string;
}

export interface TensorSpec {
  /** Tensor name in the model; default: the model's first input/output. */
  name?: string;
  layout: Layout;
  /** Fixed spatial size, or null for any size (fully convolutional). */
  height: number | null;
  width: number | null;
  /** Fixed batch size (e.g. 1), or null for any. */
  batch: number | null;
  channels: number;
}

export interface InputSpec extends TensorSpec {
  /** The model's pixel range before mean/std: [0,1], [0,255] or [-1,1]. x_model = (lo + x01·(hi−lo) − mean)/std */
  range: [number, number];
  mean?: number[];
  std?: number[];
  /**
   * How an image is brought to a fixed input size. 'area' (default): area-averaging when shrinking
   * (antialiased), bilinear when enlarging. 'bilinear': bilinear with half-pixel centres both ways
   * (like F.interpolate without antialias). Outputs always come back with 'area'.
   */
  resize?: 'bilinear' | 'area';
  /**
   * How an image whose aspect ratio differs from a fixed input size gets there (engines/workingShape.ts):
   * 'letterbox' (default): scaled to fit, aspect kept, black around it, the image's part cropped back out;
   * 'stretch': scaled to the size, aspect changed (warned beyond 1.25×). Models trained on stretched images say so.
   */
  fit?: 'stretch' | 'letterbox';
  /**
   * Peak memory per working pixel per image in a batch, in bytes (activations, copies): the memory plan's
   * estimate (pipeline/memoryPlan.ts). `certseg card check` measures it. Default 2048.
   */
  bytesPerPixel?: number;
}

export interface SegmenterOutputSpec extends TensorSpec {
  /**
   * logits / probabilities: one channel per class, argmax.
   * sigmoid: one channel, P(class 1), threshold 0.5 (logit 0 if `sigmoidIsLogit`).
   * labels: the graph already returns int class ids (argmax fused into the model).
   */
  kind: 'logits' | 'probabilities' | 'sigmoid' | 'labels';
  sigmoidIsLogit?: boolean;
}

export type BetaSchedule =
  | { type: 'linear'; betaStart: number; betaEnd: number }
  | { type: 'cosine'; s?: number }
  | { type: 'alphasCumprod'; values: number[] };

export interface DenoiserSpec {
  /** ddpm-eps: ε-prediction diffusion model fed (x_t, t). direct: image→image denoiser for a known σ. */
  kind: 'ddpm-eps' | 'direct';
  /** ddpm-eps only */
  schedule?: BetaSchedule;
  T?: number;
  /** Output has 2·C channels (ε then variance); the first C are ε. */
  learnedVariance?: boolean;
  /** How the timestep is fed: input tensor name, dtype, shape [batch] or [] and an optional scale (t·scale). */
  timestep?: { input: string; dtype: 'int64' | 'int32' | 'float32'; scale?: number };
  /** Resolution the network was trained at (informative; fully convolutional models run at any size). */
  trainedResolution?: number;
  /** direct only: the σ it was trained for. */
  sigma?: number;
}

export interface ModelCard {
  cardVersion: 1;
  name: string;
  description?: string;
  role: 'segmenter' | 'denoiser';
  /** Model file, relative to the card. .onnx → onnx; model.json → tfjs (graph or layers, from its format field). */
  file: string;
  /** Alternative files of the same network for other engines, e.g. { "tfjs": "tfjs/model.json" }. */
  alternates?: Partial<Record<'onnx' | 'tfjs', string>>;
  format?: ModelFormat;
  input: InputSpec;
  /** Segmenters: SegmenterOutputSpec. Denoisers: TensorSpec (same range as input). */
  output: SegmenterOutputSpec | TensorSpec;
  /** Segmenters only. */
  classes?: ClassSpec[];
  /** Label in ground-truth masks that is ignored by the metrics (e.g. 255). */
  ignoreLabel?: number;
  denoiser?: DenoiserSpec;
  license?: string;
  source?: string;
}

/** A validated card with absolute paths. */
export interface ResolvedCard extends ModelCard {
  cardPath: string;
  /** absolute paths, by engine, of the files that exist */
  files: Partial<Record<'onnx' | 'tfjs', string>>;
  /** sha256 of the primary model file (provenance) */
  sha256: string;
}
