/**
 * The card's transforms composed around an ONNX model into ONE ONNX graph (issue 16), so that ONNX Runtime runs
 * them in C++ and only uint8 labels come back: canonical [0,1] NCHW in → range/mean/std (or luma) → model →
 * argmax / sigmoid threshold → uint8. With a DDPM denoiser, the whole chain is one graph: x_t = sqrt(ᾱ)(2x−1)
 * (MICCAI: sqrt(ᾱ)x) → ε-model → x̂0 = (x_t − sqrt(1−ᾱ)ε̂)/sqrt(ᾱ), clip, [0,1] → segmenter → labels.
 *
 * The adapters (adapt.ts) stay the reference: the arithmetic here repeats theirs step for step, in double
 * where JavaScript computes in double and rounded to float32 where they store into a Float32Array, so the
 * model sees the same float32 inputs (test/engines/compose.test.ts: identical labels on real images).
 *
 * Resizing into the working shape and back (and letterboxing) are nodes too, with core/resize.ts's weights; such
 * a graph is for one image size (datasets share one), a plain one for any size.
 *
 * Not composed (the adapters run, silently): NHWC, a fixed batch, 'labels' outputs, multi-channel sigmoid,
 * direct (non-DDPM) denoisers, graphs with subgraphs or external data, an opset below 13.
 * On by default; CERTSEG_ORT_COMPOSE=0 turns it off (engines/processing.ts), read at each call.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { CertsegError } from '../core/errors';
import { LUMA, timestepFeed } from './adapt';
import type { Denoiser, Segmenter, SegmenterComposer } from './engine';
import { composeEnabled } from './processing';
import { createSession, DEFAULT_ORT_OPTIONS, type OrtSessionChoice } from './onnx';
import {
  composedModel,
  DT,
  modelHeader,
  node,
  NotComposable,
  part,
  renameGraph,
  tensor,
  valueInfo,
  type Attr,
  type Bytes,
} from './onnxProto';
import type { DenoiserPlan, SegmenterPlan } from './plans';
import { workingShape, type WorkingShape } from './workingShape';
import { resizeWeights1D, type ResizeMode } from '../core/resize';

const C = 3;

/** Nodes and initializers with fresh names under certseg/ (model values are prefixed s/ and d/: no clashes). */
class Builder {
  nodes: Bytes[] = [];
  inits: Bytes[] = [];
  private k = 0;
  constructor(private readonly scope: string) {}
  op(op: string, inputs: string[], attrs: Attr[] = [], out?: string): string {
    const o = out ?? `certseg/${this.scope}/${op}_${this.k++}`;
    this.nodes.push(node(op, inputs, [o], attrs));
    return o;
  }
  f64(values: number[], dims: number[] = []): string {
    const n = `certseg/${this.scope}/c${this.k++}`;
    this.inits.push(tensor(n, dims, Float64Array.from(values)));
    return n;
  }
  f32(v: number): string {
    const n = `certseg/${this.scope}/c${this.k++}`;
    this.inits.push(tensor(n, [], Float32Array.of(v)));
    return n;
  }
  i64(values: number[], dims: number[] = [values.length]): string {
    const n = `certseg/${this.scope}/c${this.k++}`;
    this.inits.push(tensor(n, dims, BigInt64Array.from(values, BigInt)));
    return n;
  }
  cast(x: string, to: number): string {
    return this.op('Cast', [x], [{ name: 'to', i: to }]);
  }
}

/** Why a segmenter plan cannot be composed, or null. */
function segmenterObstacle(plan: SegmenterPlan): string | null {
  if (plan.nhwc) return 'NHWC input';
  if (plan.inSpec.batch != null) return 'fixed batch';
  if (plan.outSpec.layout !== 'NCHW' && plan.outSpec.channels !== 1) return 'NHWC output';
  if (plan.outSpec.kind === 'labels') return "'labels' output";
  if (plan.outSpec.kind === 'sigmoid' && plan.outSpec.channels !== 1) return 'multi-channel sigmoid';
  return null;
}

function denoiserObstacle(plan: DenoiserPlan): string | null {
  if (!plan.ddpm) return 'direct denoiser';
  if (plan.nhwc) return 'NHWC input';
  if (plan.inSpec.batch != null) return 'fixed batch';
  if (plan.outSpec.layout !== 'NCHW') return 'NHWC output';
  if (plan.outSpec.channels < C) return 'fewer than 3 output channels';
  return null;
}

/** The working shape is the image itself: no resize, no letterbox (the graph then serves any image size). */
const isIdentity = (ws: WorkingShape, h: number, w: number): boolean =>
  ws.height === h && ws.width === w && ws.inner.top === 0 && ws.inner.left === 0 && ws.inner.height === h && ws.inner.width === w;

/** Where a composed graph sees the image: the image's size and a working shape (null: the image itself, any size). */
export type Geometry = { h: number; w: number; ws: WorkingShape } | null;

const geometry = (ws: WorkingShape, h: number, w: number): Geometry => (isIdentity(ws, h, w) ? null : { h, w, ws });
const geometryKey = (g: Geometry): string =>
  g ? `${g.h}x${g.w}>${g.ws.height}x${g.ws.width}@${g.ws.inner.top},${g.ws.inner.left},${g.ws.inner.height}x${g.ws.inner.width}` : 'any';

/**
 * resizeNCHW (core/resize.ts) as graph nodes, with the same weights and the same rounding: the horizontal pass
 * sums its taps in double in tap order and stores float32; the vertical pass adds one tap at a time to a float32
 * row (double sum, float32 store). A product of two float32 values is exact in double, so only this order matters.
 * An axis whose size does not change is skipped (its JavaScript pass is an exact copy).
 */
function resizeNodes(g: Builder, x: string, h: number, w: number, outH: number, outW: number, mode: ResizeMode): string {
  if (w !== outW) {
    const r = resizeWeights1D(w, outW, mode);
    const xd = g.cast(x, DT.DOUBLE);
    let sum: string | null = null;
    for (let k = 0; k < r.taps; k++) {
      const idx = Array.from({ length: outW }, (_, j) => r.index[j * r.taps + k]);
      const wt = Array.from({ length: outW }, (_, j) => r.weight[j * r.taps + k]);
      const term = g.op('Mul', [g.op('Gather', [xd, g.i64(idx)], [{ name: 'axis', i: 3 }]), g.f64(wt, [outW])]);
      sum = sum ? g.op('Add', [sum, term]) : term;
    }
    x = g.cast(sum!, DT.FLOAT);
  }
  if (h !== outH) {
    const r = resizeWeights1D(h, outH, mode);
    const xd = g.cast(x, DT.DOUBLE);
    let out: string | null = null;
    for (let k = 0; k < r.taps; k++) {
      const idx = Array.from({ length: outH }, (_, j) => r.index[j * r.taps + k]);
      const wt = Array.from({ length: outH }, (_, j) => r.weight[j * r.taps + k]);
      const term = g.op('Mul', [g.op('Gather', [xd, g.i64(idx)], [{ name: 'axis', i: 2 }]), g.f64(wt, [outH, 1])]);
      out = g.cast(out ? g.op('Add', [g.cast(out, DT.DOUBLE), term]) : term, DT.FLOAT);
    }
    x = out!;
  }
  return x;
}

/** toWorking (workingShape.ts): resize into the working shape, letterbox padding 0 around it. */
function toWorkingNodes(g: Builder, x: string, geo: Geometry, mode: ResizeMode | undefined): string {
  if (!geo) return x;
  const { top, left, height: ih, width: iw } = geo.ws.inner;
  const r = resizeNodes(g, x, geo.h, geo.w, ih, iw, mode ?? 'area');
  if (ih === geo.ws.height && iw === geo.ws.width) return r;
  const pads = [0, 0, top, left, 0, 0, geo.ws.height - ih - top, geo.ws.width - iw - left];
  return g.op('Pad', [r, g.i64(pads), g.f32(0)]);
}

/** fromWorking (workingShape.ts): the image's part of the working planes, resized back to the image's size ('area', as there). */
function fromWorkingNodes(g: Builder, x: string, geo: Geometry): string {
  if (!geo) return x;
  const { top, left, height: ih, width: iw } = geo.ws.inner;
  const whole = ih === geo.ws.height && iw === geo.ws.width;
  const c = whole ? x : g.op('Slice', [x, g.i64([top, left]), g.i64([top + ih, left + iw]), g.i64([2, 3])]);
  return resizeNodes(g, c, ih, iw, geo.h, geo.w, 'area');
}

/**
 * writeSlot (adapt.ts) as graph nodes: y = a_c·x + b_c, or a_0·luma(x) + b_0, computed in double and rounded
 * once to float32 as JavaScript does. Returns the value that feeds the model's input.
 */
function segmenterPre(g: Builder, plan: SegmenterPlan, x: string): string {
  const xd = g.cast(x, DT.DOUBLE);
  if (plan.inChannels === 1) {
    const ch = [0, 1, 2].map((c) => g.op('Mul', [g.op('Gather', [xd, g.i64([c], [])], [{ name: 'axis', i: 1 }]), g.f64([LUMA[c]])]));
    const l = g.op('Add', [g.op('Add', [ch[0], ch[1]]), ch[2]]); // left to right, as in writeSlot
    const y = g.cast(g.op('Add', [g.op('Mul', [l, g.f64([plan.a[0]])]), g.f64([plan.b[0]])]), DT.FLOAT);
    return plan.inRank3 ? y : g.op('Unsqueeze', [y, g.i64([1])]);
  }
  const y = g.op('Add', [g.op('Mul', [xd, g.f64(plan.a, [1, C, 1, 1])]), g.f64(plan.b, [1, C, 1, 1])]);
  return g.cast(y, DT.FLOAT);
}

/** decode (adapt.ts) as graph nodes: argmax over channels (ties: the first, as ORT's ArgMax) or the sigmoid threshold. */
function segmenterPost(g: Builder, plan: SegmenterPlan, raw: string, geo: Geometry): void {
  const out = plan.outSpec;
  // a 1-channel output may be [N,H,W]: as [N,1,H,W] for the resize (a no-op reshape for NCHW scores)
  const raw4 = geo ? g.op('Reshape', [raw, g.i64([0, -1, geo.ws.height, geo.ws.width])]) : raw;
  const scores = fromWorkingNodes(g, raw4, geo); // scores (not labels) resized back, then decided, as decode() does
  const decided =
    out.kind === 'sigmoid'
      ? g.op('Greater', [scores, g.f32(out.sigmoidIsLogit ? 0 : 0.5)])
      : g.op(
          'ArgMax',
          [scores],
          [
            { name: 'axis', i: 1 },
            { name: 'keepdims', i: 0 },
          ],
        );
  g.op('Cast', [decided], [{ name: 'to', i: DT.UINT8 }], 'certseg_labels');
  // NaN/Inf anywhere makes x − x NaN: one scalar instead of reading the scores back (assertFinite)
  g.op('ReduceSum', [g.op('Sub', [raw, raw])], [{ name: 'keepdims', i: 0 }], 'certseg_bad_s');
  g.op('Shape', [raw], [], 'certseg_shape_s');
}

const segOutputs = (): Bytes[] => [
  valueInfo('certseg_labels', DT.UINT8, null),
  valueInfo('certseg_bad_s', DT.FLOAT, []),
  valueInfo('certseg_shape_s', DT.INT64, ['rank']),
];

function loadModel(file: string, prefix: string) {
  const head = modelHeader(readFileSync(file));
  if (head.opset < 13) throw new NotComposable(`opset ${head.opset} < 13`);
  return { ...head, g: renameGraph(head.graph, prefix) };
}

/** The segmenter's graph with its pre/post-processing: input certseg_x (canonical), outputs labels, bad, shape. */
export function composeSegmenterGraph(file: string, plan: SegmenterPlan, geo: Geometry): Uint8Array {
  const m = loadModel(file, 's/');
  const pre = new Builder('pre');
  pre.op('Identity', [segmenterPre(pre, plan, toWorkingNodes(pre, 'certseg_x', geo, plan.inSpec.resize))], [], `s/${plan.inName}`);
  const post = new Builder('post');
  segmenterPost(post, plan, `s/${plan.outName}`, geo);
  return composedModel(m.irVersion, m.opsetImports, [
    ...pre.nodes.map((n) => part(1, n)), // nodes in topological order: pre-processing, model, post-processing
    ...m.g.body,
    ...post.nodes.map((n) => part(1, n)),
    ...[...pre.inits, ...post.inits].map((t) => part(5, t)),
    part(11, valueInfo('certseg_x', DT.FLOAT, ['N', C, 'H', 'W'])),
    ...segOutputs().map((v) => part(12, v)),
  ]);
}

/**
 * Denoiser and segmenter in one graph: inputs certseg_x (noisy, canonical), certseg_sa = sqrt(ᾱ_t),
 * certseg_sn = sqrt(1−ᾱ_t) (double scalars: one graph for every t*), and the denoiser's own timestep input (d/…).
 */
export function composeChainGraph(
  denFile: string,
  den: DenoiserPlan,
  denGeo: Geometry,
  segFile: string,
  seg: SegmenterPlan,
  segGeo: Geometry,
): Uint8Array {
  const d = loadModel(denFile, 'd/');
  const s = loadModel(segFile, 's/');
  if (d.opset !== s.opset) throw new NotComposable(`denoiser opset ${d.opset}, segmenter opset ${s.opset}`);
  const pre = new Builder('pre');
  // denoise() in adapt.ts: x_t = sa·(2x − 1) (Carlini) or sa·x (MICCAI), double, stored as float32
  const xd = pre.cast(toWorkingNodes(pre, 'certseg_x', denGeo, den.inSpec.resize), DT.DOUBLE);
  const z = den.convention === 'miccai' ? xd : pre.op('Sub', [pre.op('Mul', [xd, pre.f64([2])]), pre.f64([1])]);
  const xt = pre.cast(pre.op('Mul', [z, 'certseg_sa']), DT.FLOAT);
  pre.op('Identity', [xt], [], `d/${den.inName}`);
  const mid = new Builder('mid');
  const eps = `d/${den.outName}`;
  const eps3 = den.outSpec.channels === C ? eps : mid.op('Slice', [eps, mid.i64([0]), mid.i64([C]), mid.i64([1])]); // learned variance: ε only
  // predictX0: (x_t − sn·ε̂)/sa in double, stored as float32; then clip to [−1,1] and (v + 1)/2 (MICCAI: 0.5·v)
  const x0 = mid.cast(
    mid.op('Div', [mid.op('Sub', [mid.cast(xt, DT.DOUBLE), mid.op('Mul', [mid.cast(eps3, DT.DOUBLE), 'certseg_sn'])]), 'certseg_sa']),
    DT.FLOAT,
  );
  const x0d = mid.cast(x0, DT.DOUBLE);
  const x01 =
    den.convention === 'miccai'
      ? mid.op('Mul', [x0d, mid.f64([0.5])])
      : mid.op('Div', [mid.op('Add', [mid.op('Min', [mid.op('Max', [x0d, mid.f64([-1])]), mid.f64([1])]), mid.f64([1])]), mid.f64([2])]);
  const back = fromWorkingNodes(mid, mid.cast(x01, DT.FLOAT), denGeo); // the denoised image at the image's size
  mid.op('Identity', [segmenterPre(mid, seg, toWorkingNodes(mid, back, segGeo, seg.inSpec.resize))], [], `s/${seg.inName}`);
  mid.op('ReduceSum', [mid.op('Sub', [eps, eps])], [{ name: 'keepdims', i: 0 }], 'certseg_bad_d');
  mid.op('Shape', [eps], [], 'certseg_shape_d');
  const post = new Builder('post');
  segmenterPost(post, seg, `s/${seg.outName}`, segGeo);
  const tsInputs = den.ts ? [...(d.g.inputs.get(den.ts.meta.name) ?? [])] : [];
  if (den.ts && tsInputs.length === 0) throw new NotComposable('timestep input not found');
  return composedModel(s.irVersion, s.opsetImports, [
    ...pre.nodes.map((n) => part(1, n)),
    ...d.g.body,
    ...mid.nodes.map((n) => part(1, n)),
    ...s.g.body,
    ...post.nodes.map((n) => part(1, n)),
    ...[...pre.inits, ...mid.inits, ...post.inits].map((t) => part(5, t)),
    part(11, valueInfo('certseg_x', DT.FLOAT, ['N', C, 'H', 'W'])),
    part(11, valueInfo('certseg_sa', DT.DOUBLE, [])),
    part(11, valueInfo('certseg_sn', DT.DOUBLE, [])),
    ...tsInputs,
    ...[...segOutputs(), valueInfo('certseg_bad_d', DT.FLOAT, []), valueInfo('certseg_shape_d', DT.INT64, ['rank'])].map((v) =>
      part(12, v),
    ),
  ]);
}

type Lazy = Promise<ort.InferenceSession | null>;

/** Composed sessions kept per segmenter: one per image size in practice (datasets share a size). */
const MAX_SESSIONS = 4;

function choiceOf(seg: Segmenter | Denoiser): OrtSessionChoice {
  const s = seg.info.session;
  if (!s) return { ...DEFAULT_ORT_OPTIONS };
  return {
    intraOpNumThreads: s.intraOpNumThreads,
    graphOptimizationLevel: s.graphOptimizationLevel,
    enableCpuMemArena: s.enableCpuMemArena,
    executionMode: s.executionMode,
    allowSpinning: s.allowSpinning ?? DEFAULT_ORT_OPTIONS.allowSpinning,
  };
}

/** A composed graph → a session on the model's own provider and options (null: not composable; the adapters run). */
async function sessionFor(build: () => Uint8Array, owner: Segmenter | Denoiser): Lazy {
  let bytes: Uint8Array;
  try {
    bytes = build();
  } catch (e) {
    if (e instanceof NotComposable) return null;
    throw e;
  }
  try {
    return (await createSession(bytes, owner.card.cardPath, choiceOf(owner), true)).session;
  } catch {
    return null; // an op ORT cannot run this way (e.g. a missing double kernel): the adapters are always right
  }
}

/** A run that fails (a kernel missing for these shapes, say) sends the call to the adapters, which give the result or their own error. */
async function runOrNull(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
): Promise<ort.InferenceSession.ReturnType | null> {
  try {
    return await session.run(feeds);
  } catch {
    return null;
  }
}

function checkShape(shape: ort.Tensor, want: number[]): boolean {
  const d = Array.from(shape.data as BigInt64Array, Number);
  // rank 4 [N, C, H, W]; a 1-channel output may come as [N, H, W]
  const rank3 = want[1] === 1 && d.length === 3 && d[0] === want[0] && d[1] === want[2] && d[2] === want[3];
  return rank3 || (d.length === 4 && d.every((v, i) => v === want[i]));
}

/**
 * Owns the composed sessions of one loaded segmenter (and the chains with denoisers), made at first use and
 * kept for the process; dispose() releases them. Any surprise (a shape the card did not announce, an op ORT
 * rejects) sends that model back to the adapters for good, which then give the result or their own error.
 */
export class Composer implements SegmenterComposer {
  /** sessions by model(s) and geometry; a few at most (each holds the weights), the oldest released first */
  private sessions = new Map<string, Lazy>();
  private broken = new Set<string>();
  private readonly obstacle: string | null;
  constructor(private readonly base: Segmenter) {
    const plan = base.adapter?.plan;
    this.obstacle = base.info.engine !== 'onnx' || !plan || !base.card.files.onnx ? 'not ONNX Runtime' : segmenterObstacle(plan);
  }

  private async session(key: string, build: () => Uint8Array): Promise<ort.InferenceSession | null> {
    let s = this.sessions.get(key);
    if (!s) {
      if (this.sessions.size >= MAX_SESSIONS) {
        const [oldKey, old] = this.sessions.entries().next().value!;
        this.sessions.delete(oldKey);
        await (await old)?.release();
      }
      s = sessionFor(build, this.base);
      this.sessions.set(key, s);
    }
    return s;
  }

  /** Labels from the composed segmenter graph, or null where this call cannot be composed (the caller runs the adapter). */
  async segment(images: Float32Array, b: number, h: number, w: number, shape?: WorkingShape): Promise<Uint8Array | null> {
    if (!composeEnabled() || this.obstacle || images.length !== b * C * h * w) return null;
    const plan = this.base.adapter!.plan;
    const ws = shape ?? workingShape(plan.inSpec, h, w);
    const geo = geometry(ws, h, w);
    const key = `seg|${geometryKey(geo)}`;
    if (this.broken.has(key)) return null;
    const session = await this.session(key, () => composeSegmenterGraph(this.base.card.files.onnx!, plan, geo));
    if (!session) return this.fail(key);
    const res = await runOrNull(session, { certseg_x: new ort.Tensor('float32', images, [b, C, h, w]) });
    if (!res) return this.fail(key);
    if (!checkShape(res.certseg_shape_s, [b, plan.outSpec.channels, ws.height, ws.width])) return this.fail(key);
    if (Number(res.certseg_bad_s.data[0]) !== 0) throw new CertsegError(`${plan.shown}: segmenter produced NaN or Inf values`, 'model');
    return res.certseg_labels.data as Uint8Array;
  }

  /** Labels of denoise-then-segment in one graph, or null where it cannot be composed. */
  async chain(
    den: Denoiser,
    noisy: Float32Array,
    b: number,
    h: number,
    w: number,
    sigma: number,
    segShape?: WorkingShape,
  ): Promise<Uint8Array | null> {
    if (
      !composeEnabled() ||
      this.obstacle ||
      den.info.engine !== 'onnx' ||
      !den.adapter ||
      !den.card.files.onnx ||
      noisy.length !== b * C * h * w
    )
      return null;
    const dp = den.adapter.plan;
    const sp = this.base.adapter!.plan;
    if (denoiserObstacle(dp)) return null;
    const wsD = den.shape ?? workingShape(dp.inSpec, h, w);
    const wsS = segShape ?? workingShape(sp.inSpec, h, w);
    const [geoD, geoS] = [geometry(wsD, h, w), geometry(wsS, h, w)];
    const key = `chain|${den.card.sha256}|${den.card.cardPath}|${dp.convention}|${geometryKey(geoD)}|${geometryKey(geoS)}`;
    if (this.broken.has(key)) return null;
    const session = await this.session(key, () => composeChainGraph(den.card.files.onnx!, dp, geoD, this.base.card.files.onnx!, sp, geoS));
    if (!session) return this.fail(key);
    const t = dp.timestepFor(sigma, h, w, wsD)!;
    const abarT = dp.abar![t];
    const feeds: Record<string, ort.Tensor> = {
      certseg_x: new ort.Tensor('float32', noisy, [b, C, h, w]),
      // the same doubles as denoise()/predictX0 compute
      certseg_sa: new ort.Tensor('float64', Float64Array.of(Math.sqrt(abarT)), []),
      certseg_sn: new ort.Tensor('float64', Float64Array.of(Math.sqrt(1 - abarT)), []),
    };
    if (dp.ts) {
      const f = timestepFeed(dp.ts.meta, dp.ts.dtype, t * dp.ts.scale, b);
      feeds[`d/${dp.ts.meta.name}`] = new ort.Tensor(f.dtype, f.data, f.dims);
    }
    const res = await runOrNull(session, feeds);
    if (!res) return this.fail(key);
    if (!checkShape(res.certseg_shape_d, [b, dp.outSpec.channels, wsD.height, wsD.width])) return this.fail(key);
    if (!checkShape(res.certseg_shape_s, [b, sp.outSpec.channels, wsS.height, wsS.width])) return this.fail(key);
    if (Number(res.certseg_bad_d.data[0]) !== 0) throw new CertsegError(`${dp.shown}: denoiser produced NaN or Inf values`, 'model');
    if (Number(res.certseg_bad_s.data[0]) !== 0) throw new CertsegError(`${sp.shown}: segmenter produced NaN or Inf values`, 'model');
    return res.certseg_labels.data as Uint8Array;
  }

  private fail(key: string): null {
    this.broken.add(key);
    return null;
  }

  async dispose(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const p of all) await (await p)?.release();
  }
}

/** The segmenter with its calls going through the composed graph where they can (the adapter otherwise). */
export function composeSegmenter(seg: Segmenter): Segmenter {
  const composer = new Composer(seg);
  return {
    ...seg,
    composer,
    async segment(images, b, h, w, shape) {
      const labels = await composer.segment(images, b, h, w, shape);
      return labels ?? seg.segment(images, b, h, w, shape);
    },
    async dispose() {
      await composer.dispose();
      await seg.dispose();
    },
  };
}
