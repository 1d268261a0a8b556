/**
 * ONNX → TensorFlow.js graph model (model.json + one weights shard), for the op subset that
 * PyTorch exports of convolutional nets use (see SUPPORTED). The TF.js model keeps the ONNX model's
 * external interface: same input/output names, NCHW inputs and outputs, int64 inputs fed as int32.
 *
 * Layout: TF.js convolutions, pools and resizes are NHWC only, so 4-D activations are kept in NHWC
 * internally ("nhwc" values) and converted back with a Transpose only where an op needs the NCHW
 * view (Reshape, Slice, graph outputs, ...). Every value's *logical* shape stays the ONNX one.
 * Small integer subgraphs on constants are folded at conversion time; everything shape-dependent
 * (Shape → Gather → Concat → Resize sizes) is emitted as TF ops, so the model stays fully dynamic
 * in batch, height and width.
 *
 * This file is the driver: it checks every op has a handler (ops/index.ts), runs the handlers in
 * graph order over one ConversionContext (context.ts), then names the outputs, drops unreachable
 * nodes and packs the weights.
 */
import { attrType, TF_DT } from './attrs';
import { ConversionContext, ConversionError, constVal, dtypeOf } from './context';
import type { OnnxModel } from './onnx';
import { handlerFor, OPS } from './ops';

export { ConversionError } from './context';
export type { DType } from './context';

export interface ConvertResult {
  modelJson: Record<string, unknown>;
  weights: Uint8Array;
  /** ONNX op types used, with counts */
  ops: Record<string, number>;
  /** TF op types emitted, with counts */
  tfOps: Record<string, number>;
}

/** the ONNX op types (default domain) the converter handles */
export const SUPPORTED: readonly string[] = Object.keys(OPS);

export function convert(model: OnnxModel, opts: { producer?: string; metadata?: Record<string, unknown> } = {}): ConvertResult {
  const ops: Record<string, number> = {};
  for (const n of model.nodes) ops[n.opType] = (ops[n.opType] ?? 0) + 1;
  const unsupported = model.nodes.filter((n) => !handlerFor(n.opType) || (n.domain && n.domain !== 'ai.onnx'));
  if (unsupported.length) {
    const names = [...new Set(unsupported.map((n) => (n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.` : '') + n.opType))];
    throw new ConversionError(
      `unsupported ONNX op${names.length > 1 ? 's' : ''}: ${names.join(', ')} (e.g. node ${unsupported[0].name || unsupported[0].outputs[0]})`,
    );
  }

  const ctx = new ConversionContext(model);
  // graph inputs
  for (const i of model.inputs) {
    const dtype = dtypeOf(i.elemType);
    const shape = (i.shape ?? []).map((d) => (typeof d === 'number' && d > 0 ? d : -1));
    ctx.emit('Placeholder', [], { dtype: attrType(dtype), shape: { shape: { dim: shape.map((d) => ({ size: String(d) })) } } }, i.name);
    ctx.set(i.name, { tf: i.name, dtype, rank: shape.length, nhwc: false, len: shape.length === 1 && shape[0] > 0 ? shape[0] : undefined });
  }
  for (const [name, t] of model.initializers) ctx.set(name, constVal(t));

  for (const n of model.nodes) {
    if (ctx.fusedInto.has(n)) continue;
    const handler = handlerFor(n.opType);
    if (!handler) throw new ConversionError(`unsupported ONNX op: ${n.opType} (node ${n.name})`);
    ctx.set(n.outputs[0], handler(ctx, n));
  }

  // graph outputs: logical layout, named like the ONNX outputs
  const signature: { inputs: Record<string, unknown>; outputs: Record<string, unknown> } = { inputs: {}, outputs: {} };
  const shapeJson = (shape: (number | string | null)[] | null) => ({
    dim: (shape ?? []).map((d) => ({ size: String(typeof d === 'number' && d > 0 ? d : -1) })),
  });
  for (const i of model.inputs)
    signature.inputs[i.name] = { name: `${i.name}:0`, dtype: TF_DT[dtypeOf(i.elemType)], tensorShape: shapeJson(i.shape) };
  for (const o of model.outputs) {
    const v = ctx.get(o.name);
    ctx.emit('Identity', [ctx.asPlain(v)], { T: attrType(v.dtype) }, o.name);
    signature.outputs[o.name] = { name: `${o.name}:0`, dtype: TF_DT[v.dtype], tensorShape: shapeJson(o.shape) };
  }

  // drop nodes nothing reaches (e.g. constants only used for folding)
  const { nodes, weights } = ctx;
  const byName = new Map(nodes.map((nd) => [nd.name, nd]));
  const live = new Set<string>();
  const stack = model.outputs.map((o) => o.name);
  for (const i of model.inputs) live.add(i.name);
  while (stack.length) {
    const nm = stack.pop()!;
    if (live.has(nm) && !model.inputs.some((i) => i.name === nm)) continue;
    live.add(nm);
    for (const inp of byName.get(nm)?.input ?? []) stack.push(inp.split(':')[0]);
  }
  const keptNodes = nodes.filter((nd) => live.has(nd.name));
  const keptWeights = weights.filter((w) => live.has(w.name));

  // weights shard: float32 / int32 little-endian, in manifest order
  const total = keptWeights.reduce((s, w) => s + w.data.byteLength, 0);
  const bin = new Uint8Array(total);
  let off = 0;
  for (const w of keptWeights) {
    bin.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), off);
    off += w.data.byteLength;
  }
  const tfOps: Record<string, number> = {};
  for (const nd of keptNodes) tfOps[nd.op] = (tfOps[nd.op] ?? 0) + 1;

  const modelJson = {
    format: 'graph-model',
    generatedBy: `onnx2tfjs (certseg) from ONNX opset ${model.opset}${model.producer ? ` (${model.producer})` : ''}`,
    convertedBy: opts.producer ?? 'certseg tools/onnx2tfjs',
    signature,
    ...(opts.metadata ? { userDefinedMetadata: opts.metadata } : {}),
    modelTopology: { node: keptNodes, library: {}, versions: { producer: 1 } },
    weightsManifest: [{ paths: ['weights.bin'], weights: keptWeights.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype })) }],
  };
  return { modelJson, weights: bin, ops, tfOps };
}
