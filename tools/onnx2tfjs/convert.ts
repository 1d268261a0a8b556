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
 */
import { ONNX_DT, type OnnxAttr, type OnnxModel, type OnnxNode, type OnnxTensor } from './onnx';

export type DType = 'float32' | 'int32' | 'bool';
const TF_DT: Record<DType, string> = { float32: 'DT_FLOAT', int32: 'DT_INT32', bool: 'DT_BOOL' };

interface Const { dims: number[]; data: number[] | Float32Array }

/** A converted ONNX value. Logical shape = ONNX shape; `nhwc` means a 4-D tensor stored as NHWC. */
interface Val {
  tf?: string;
  konst?: Const;
  dtype: DType;
  rank: number;
  nhwc: boolean;
  /** static length of a 1-D tensor (shape vectors), when known */
  len?: number;
}

interface TfNode { name: string; op: string; input: string[]; attr?: Record<string, unknown> }
interface Weight { name: string; shape: number[]; dtype: DType; data: Float32Array | Int32Array }

export interface ConvertResult {
  modelJson: Record<string, unknown>;
  weights: Uint8Array;
  /** ONNX op types used, with counts */
  ops: Record<string, number>;
  /** TF op types emitted, with counts */
  tfOps: Record<string, number>;
}

export const SUPPORTED = [
  'Conv', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Resize', 'Upsample', 'BatchNormalization', 'InstanceNormalization',
  'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Sin', 'Cos', 'Erf', 'Floor', 'Ceil', 'Reciprocal', 'Identity', 'Dropout',
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Clip', 'Softmax',
  'Pad', 'Gemm', 'MatMul', 'Concat', 'Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Slice', 'Cast', 'Reshape', 'Flatten', 'Transpose', 'ReduceMean', 'Constant',
] as const;

export class ConversionError extends Error {}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const attrS = (s: string) => ({ s: b64(s) });
const attrI = (i: number) => ({ i: String(i) });
const attrInts = (xs: number[]) => ({ list: { i: xs.map(String) } });
const attrB = (b: boolean) => ({ b });
const attrType = (d: DType) => ({ type: TF_DT[d] });
const attrF = (f: number) => ({ f });

const NCHW_TO_NHWC = [0, 2, 3, 1];
const NHWC_TO_NCHW = [0, 3, 1, 2];
/** logical (NCHW) axis → physical (NHWC) axis */
const PHYS_AXIS = [0, 3, 1, 2];

function dtypeOf(onnxType: number): DType {
  if (onnxType === ONNX_DT.FLOAT || onnxType === ONNX_DT.DOUBLE) return 'float32';
  if (onnxType === ONNX_DT.BOOL) return 'bool';
  if ([ONNX_DT.INT64, ONNX_DT.INT32, ONNX_DT.INT8, ONNX_DT.UINT8].includes(onnxType as 7)) return 'int32';
  throw new ConversionError(`ONNX data type ${onnxType} is not supported`);
}

const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

/** Transpose a constant's data (row-major) by perm. */
function transposeConst(c: Const, perm: number[]): Const {
  const dims = perm.map((p) => c.dims[p]);
  const n = size(c.dims);
  const inStrides = c.dims.map((_, i) => size(c.dims.slice(i + 1)));
  const out = c.data instanceof Float32Array ? new Float32Array(n) : new Array<number>(n);
  const idx = new Array(dims.length).fill(0);
  for (let o = 0; o < n; o++) {
    let src = 0;
    for (let k = 0; k < dims.length; k++) src += idx[k] * inStrides[perm[k]];
    out[o] = c.data[src];
    for (let k = dims.length - 1; k >= 0; k--) {
      if (++idx[k] < dims[k]) break;
      idx[k] = 0;
    }
  }
  return { dims, data: out };
}

/** Numpy-style broadcast of two constants with fn. */
function broadcastConst(a: Const, b: Const, fn: (x: number, y: number) => number, float: boolean): Const {
  const r = Math.max(a.dims.length, b.dims.length);
  const ad = [...new Array(r - a.dims.length).fill(1), ...a.dims];
  const bd = [...new Array(r - b.dims.length).fill(1), ...b.dims];
  const dims = ad.map((d, i) => Math.max(d, bd[i]));
  const n = size(dims);
  const out = float ? new Float32Array(n) : new Array<number>(n);
  const idx = new Array(r).fill(0);
  const as = ad.map((_, i) => size(ad.slice(i + 1)));
  const bs = bd.map((_, i) => size(bd.slice(i + 1)));
  for (let o = 0; o < n; o++) {
    let ai = 0, bi = 0;
    for (let k = 0; k < r; k++) { ai += (ad[k] === 1 ? 0 : idx[k]) * as[k]; bi += (bd[k] === 1 ? 0 : idx[k]) * bs[k]; }
    out[o] = fn(a.data[ai], b.data[bi]);
    for (let k = r - 1; k >= 0; k--) { if (++idx[k] < dims[k]) break; idx[k] = 0; }
  }
  return { dims, data: out };
}

function attr(n: OnnxNode, name: string): OnnxAttr | undefined { return n.attrs.get(name); }
function attrInt(n: OnnxNode, name: string, def: number): number { const a = attr(n, name); return a?.kind === 'int' ? a.i : def; }
function attrFloat(n: OnnxNode, name: string, def: number): number { const a = attr(n, name); return a?.kind === 'float' ? a.f : def; }
function attrStr(n: OnnxNode, name: string, def: string): string { const a = attr(n, name); return a?.kind === 'string' ? a.s : def; }
function attrIntList(n: OnnxNode, name: string): number[] | undefined { const a = attr(n, name); return a?.kind === 'ints' ? a.ints : undefined; }

const INT_BIG = 2 ** 31 - 1;

export function convert(model: OnnxModel, opts: { producer?: string; metadata?: Record<string, unknown> } = {}): ConvertResult {
  const ops: Record<string, number> = {};
  for (const n of model.nodes) ops[n.opType] = (ops[n.opType] ?? 0) + 1;
  const unsupported = model.nodes.filter((n) => !(SUPPORTED as readonly string[]).includes(n.opType) || (n.domain && n.domain !== 'ai.onnx'));
  if (unsupported.length) {
    const names = [...new Set(unsupported.map((n) => (n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.` : '') + n.opType))];
    throw new ConversionError(`unsupported ONNX op${names.length > 1 ? 's' : ''}: ${names.join(', ')} (e.g. node ${unsupported[0].name || unsupported[0].outputs[0]})`);
  }

  const nodes: TfNode[] = [];
  const weights: Weight[] = [];
  const used = new Set<string>();
  const vals = new Map<string, Val>();
  let counter = 0;
  const uniq = (base: string) => {
    let s = base.replace(/[^A-Za-z0-9_.\-/]/g, '_').replace(/^[^A-Za-z0-9.]+/, '') || 'v';
    if (used.has(s)) { let k = 1; while (used.has(`${s}_${k}`)) k++; s = `${s}_${k}`; }
    used.add(s);
    return s;
  };
  for (const i of model.inputs) used.add(i.name);
  for (const o of model.outputs) used.add(o.name);

  const emit = (op: string, input: string[], attrs?: Record<string, unknown>, name?: string): string => {
    const nm = name ?? uniq(`n${counter++}_${op}`);
    nodes.push({ name: nm, op, input, ...(attrs ? { attr: attrs } : {}) });
    return nm;
  };

  const constCache = new Map<string, string>();
  const constNode = (c: Const, dtype: DType, hint = 'const'): string => {
    const small = size(c.dims) <= 16;
    const key = small ? `${dtype}|${c.dims.join(',')}|${Array.from(c.data).join(',')}` : '';
    if (small && constCache.has(key)) return constCache.get(key)!;
    const name = uniq(`c${counter++}_${hint}`);
    const data = dtype === 'float32' ? Float32Array.from(c.data) : Int32Array.from(c.data);
    weights.push({ name, shape: c.dims, dtype, data });
    nodes.push({
      name, op: 'Const', input: [],
      attr: { dtype: attrType(dtype), value: { tensor: { dtype: TF_DT[dtype], tensorShape: { dim: c.dims.map((d) => ({ size: String(d) })) } } } },
    });
    if (small) constCache.set(key, name);
    return name;
  };
  const intConst = (xs: number[] | number) => constNode(Array.isArray(xs) ? { dims: [xs.length], data: xs } : { dims: [], data: [xs] }, 'int32');
  const floatConst = (x: number) => constNode({ dims: [], data: Float32Array.of(x) }, 'float32');

  /** TF name of a value (materialising constants). */
  const ref = (v: Val, hint?: string): string => {
    if (v.tf) return v.tf;
    v.tf = constNode(v.konst!, v.dtype, hint);
    return v.tf;
  };
  const nhwcCache = new Map<string, string>();
  const plainCache = new Map<string, string>();
  /** the value as a physical-NHWC TF tensor (v must be rank 4) */
  const asNhwc = (v: Val): string => {
    if (v.rank !== 4) throw new ConversionError(`expected a 4-D tensor, got rank ${v.rank}`);
    if (v.nhwc) return v.tf!;
    if (v.konst) return constNode(transposeConst(v.konst, NCHW_TO_NHWC), v.dtype);
    const src = ref(v);
    if (!nhwcCache.has(src)) nhwcCache.set(src, emit('Transpose', [src, intConst(NCHW_TO_NHWC)]));
    return nhwcCache.get(src)!;
  };
  /** the value as a TF tensor with the logical (ONNX) layout */
  const asPlain = (v: Val): string => {
    if (!v.nhwc) return ref(v);
    const src = v.tf!;
    if (!plainCache.has(src)) plainCache.set(src, emit('Transpose', [src, intConst(NHWC_TO_NCHW)]));
    return plainCache.get(src)!;
  };

  const get = (name: string): Val => {
    const v = vals.get(name);
    if (!v) throw new ConversionError(`value ${name} is used before it is defined`);
    return v;
  };
  const constOf = (name: string, what: string, n: OnnxNode): Const => {
    const v = get(name);
    if (!v.konst) throw new ConversionError(`${n.opType} ${n.name}: ${what} must be a constant`);
    return v.konst;
  };
  const optional = (n: OnnxNode, i: number) => (n.inputs[i] ? get(n.inputs[i]) : undefined);

  // graph inputs
  for (const i of model.inputs) {
    const dtype = dtypeOf(i.elemType);
    const shape = (i.shape ?? []).map((d) => (typeof d === 'number' && d > 0 ? d : -1));
    emit('Placeholder', [], { dtype: attrType(dtype), shape: { shape: { dim: shape.map((d) => ({ size: String(d) })) } } }, i.name);
    vals.set(i.name, { tf: i.name, dtype, rank: shape.length, nhwc: false, len: shape.length === 1 && shape[0] > 0 ? shape[0] : undefined });
  }
  for (const [name, t] of model.initializers) vals.set(name, constVal(t));

  function constVal(t: OnnxTensor): Val {
    const dtype = dtypeOf(t.dataType);
    return { konst: { dims: t.dims, data: t.data }, dtype, rank: t.dims.length, nhwc: false, len: t.dims.length === 1 ? t.dims[0] : undefined };
  }
  const mkConst = (c: Const, dtype: DType): Val => ({ konst: c, dtype, rank: c.dims.length, nhwc: false, len: c.dims.length === 1 ? c.dims[0] : undefined });

  // consumers, for fusing Conv + Relu
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of model.nodes) for (const i of n.inputs) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const graphOutputs = new Set(model.outputs.map((o) => o.name));
  const fusedInto = new Set<OnnxNode>();

  const UNARY: Record<string, string> = {
    Relu: 'Relu', Sigmoid: 'Sigmoid', Tanh: 'Tanh', Exp: 'Exp', Log: 'Log', Sqrt: 'Sqrt', Neg: 'Neg', Abs: 'Abs',
    Sin: 'Sin', Cos: 'Cos', Erf: 'Erf', Floor: 'Floor', Ceil: 'Ceil', Reciprocal: 'Reciprocal',
  };
  const BINARY: Record<string, [string, (a: number, b: number) => number]> = {
    Add: ['AddV2', (a, b) => a + b], Sub: ['Sub', (a, b) => a - b], Mul: ['Mul', (a, b) => a * b],
    Div: ['RealDiv', (a, b) => a / b], Pow: ['Pow', (a, b) => a ** b], Max: ['Maximum', Math.max], Min: ['Minimum', Math.min],
  };

  const set = (name: string, v: Val) => vals.set(name, v);
  const dyn = (tf: string, dtype: DType, rank: number, nhwc = false, len?: number): Val => ({ tf, dtype, rank, nhwc, len });

  /** pads [t, l, b, r] → TF padding attrs for a NHWC op */
  const paddingAttrs = (pads: number[], k: number[], strides: number[], dil: number[]) => {
    if (pads.every((p) => p === 0)) return { padding: attrS('VALID') };
    const [t, l, b, r] = pads;
    const same = strides.every((s) => s === 1) && [t, l].every((p, i) => p === b && b === (dil[i] * (k[i] - 1)) / 2) && l === r;
    if (same) return { padding: attrS('SAME') };
    return { padding: attrS('EXPLICIT'), explicit_paddings: attrInts([0, 0, t, b, l, r, 0, 0]) };
  };

  for (const n of model.nodes) {
    if (fusedInto.has(n)) continue;
    const out = n.outputs[0];
    const op = n.opType;
    const x = () => get(n.inputs[0]);

    if (op === 'Constant') {
      const a = attr(n, 'value');
      if (a?.kind === 'tensor') set(out, constVal(a.t));
      else if (attr(n, 'value_float')?.kind === 'float') set(out, mkConst({ dims: [], data: Float32Array.of(attrFloat(n, 'value_float', 0)) }, 'float32'));
      else if (attr(n, 'value_int')?.kind === 'int') set(out, mkConst({ dims: [], data: [attrInt(n, 'value_int', 0)] }, 'int32'));
      else if (attrIntList(n, 'value_ints')) { const xs = attrIntList(n, 'value_ints')!; set(out, mkConst({ dims: [xs.length], data: xs }, 'int32')); }
      else throw new ConversionError(`Constant ${n.name}: unsupported value attribute`);
      continue;
    }

    if (op === 'Identity' || op === 'Dropout') { set(out, x()); continue; }

    if (op === 'Conv') {
      const v = x();
      const w = constOf(n.inputs[1], 'the weight', n);
      const bias = optional(n, 2);
      if (w.dims.length !== 4) throw new ConversionError(`Conv ${n.name}: only 2-D convolutions are supported (weight rank ${w.dims.length})`);
      const [O, Ig, kh, kw] = w.dims;
      const group = attrInt(n, 'group', 1);
      const strides = attrIntList(n, 'strides') ?? [1, 1];
      const dil = attrIntList(n, 'dilations') ?? [1, 1];
      const autoPad = attrStr(n, 'auto_pad', 'NOTSET');
      let pads = attrIntList(n, 'pads') ?? [0, 0, 0, 0];
      if (autoPad !== 'NOTSET' && autoPad !== 'VALID') {
        if (!strides.every((s) => s === 1)) throw new ConversionError(`Conv ${n.name}: auto_pad ${autoPad} with stride > 1 is not supported`);
        const tot = [dil[0] * (kh - 1), dil[1] * (kw - 1)];
        pads = autoPad === 'SAME_UPPER' ? [Math.floor(tot[0] / 2), Math.floor(tot[1] / 2), Math.ceil(tot[0] / 2), Math.ceil(tot[1] / 2)]
          : [Math.ceil(tot[0] / 2), Math.ceil(tot[1] / 2), Math.floor(tot[0] / 2), Math.floor(tot[1] / 2)];
      } else if (autoPad === 'VALID') pads = [0, 0, 0, 0];
      const inp = asNhwc(v);
      const common = {
        strides: attrInts([1, strides[0], strides[1], 1]), dilations: attrInts([1, dil[0], dil[1], 1]),
        data_format: attrS('NHWC'), ...paddingAttrs(pads, [kh, kw], strides, dil),
      };
      let y: string;
      if (group === 1) {
        const filter = constNode(transposeConst(w, [2, 3, 1, 0]), 'float32', 'filter'); // OIHW → HWIO
        // fuse a following Relu when the conv output feeds only it
        const cons = consumers.get(out) ?? [];
        const relu = cons.length === 1 && cons[0].opType === 'Relu' && !graphOutputs.has(out) ? cons[0] : undefined;
        if (bias) {
          const fused = ['BiasAdd', ...(relu ? ['Relu'] : [])];
          y = emit('_FusedConv2D', [inp, filter, ref(bias, 'bias')], { ...common, num_args: attrI(1), fused_ops: { list: { s: fused.map(b64) } }, T: attrType('float32') });
          if (relu) { fusedInto.add(relu); set(relu.outputs[0], dyn(y, 'float32', 4, true)); }
        } else {
          y = emit('Conv2D', [inp, filter], common);
        }
      } else if (Ig === 1 && O === group) {
        // depthwise: [C, 1, kh, kw] → [kh, kw, C, 1]
        const filter = constNode(transposeConst(w, [2, 3, 0, 1]), 'float32', 'filter');
        y = emit('DepthwiseConv2dNative', [inp, filter], common);
        if (bias) y = emit('BiasAdd', [y, ref(bias, 'bias')]);
      } else {
        throw new ConversionError(`Conv ${n.name}: grouped convolution (group ${group}, not depthwise) is not supported`);
      }
      set(out, dyn(y, 'float32', 4, true));
      continue;
    }

    if (op === 'MaxPool' || op === 'AveragePool') {
      const k = attrIntList(n, 'kernel_shape')!;
      const s = attrIntList(n, 'strides') ?? [1, 1];
      const pads = attrIntList(n, 'pads') ?? [0, 0, 0, 0];
      const ceil = attrInt(n, 'ceil_mode', 0) === 1;
      const dil = attrIntList(n, 'dilations') ?? [1, 1];
      const autoPad = attrStr(n, 'auto_pad', 'NOTSET');
      if (k.length !== 2 || dil.some((d) => d !== 1) || (autoPad !== 'NOTSET' && autoPad !== 'VALID')) {
        throw new ConversionError(`${op} ${n.name}: only 2-D pooling without dilation or auto_pad is supported`);
      }
      let padding: string;
      const noPad = pads.every((p) => p === 0);
      if (noPad && !ceil) padding = 'VALID';
      // ceil_mode with kernel == stride == 2: TF 'SAME' pads at most one row/column at the end, like PyTorch's ceil_mode
      // windows, and max/avg pools in TF ignore padded cells (PyTorch ceil_mode windows average only the covered cells)
      else if (noPad && ceil && k.every((kk, i) => kk === s[i] && kk <= 2)) padding = 'SAME';
      else if (op === 'MaxPool' && !ceil && s.every((x) => x === 1) && pads.every((p, i) => p === (k[i % 2] - 1) / 2)) padding = 'SAME';
      else throw new ConversionError(`${op} ${n.name}: pads ${JSON.stringify(pads)} with kernel ${JSON.stringify(k)}, strides ${JSON.stringify(s)}, ceil_mode ${Number(ceil)} is not supported`);
      if (op === 'AveragePool' && !noPad && attrInt(n, 'count_include_pad', 0) === 1) {
        throw new ConversionError(`AveragePool ${n.name}: count_include_pad with padding is not supported`);
      }
      const y = emit(op === 'MaxPool' ? 'MaxPool' : 'AvgPool', [asNhwc(x())], {
        ksize: attrInts([1, k[0], k[1], 1]), strides: attrInts([1, s[0], s[1], 1]), padding: attrS(padding), data_format: attrS('NHWC'), T: attrType('float32'),
      });
      set(out, dyn(y, 'float32', 4, true));
      continue;
    }

    if (op === 'Pad') {
      const v = x();
      const mode = attrStr(n, 'mode', 'constant');
      const pads = n.inputs[1] ? Array.from(constOf(n.inputs[1], 'pads', n).data) : attrIntList(n, 'pads') ?? [];
      const value = n.inputs[2] ? Number(constOf(n.inputs[2], 'constant_value', n).data[0] ?? 0) : attrFloat(n, 'value', 0);
      if (n.inputs[3]) throw new ConversionError(`Pad ${n.name}: the axes input is not supported`);
      if (pads.every((p) => p === 0)) { set(out, v); continue; } // PyTorch exports no-op pads before ceil_mode pools
      if (pads.some((p) => p < 0)) throw new ConversionError(`Pad ${n.name}: negative pads are not supported`);
      const r = v.rank;
      const pairs = Array.from({ length: r }, (_, i) => [pads[i], pads[i + r]]);
      const phys = v.nhwc ? NCHW_TO_NHWC.map((a) => pairs[a]) : pairs;
      const padsRef = constNode({ dims: [r, 2], data: phys.flat() }, 'int32');
      let y: string;
      if (mode === 'constant') y = emit('PadV2', [v.tf ?? ref(v), padsRef, floatConst(value)]);
      else if (mode === 'reflect') y = emit('MirrorPad', [v.tf ?? ref(v), padsRef], { mode: attrS('REFLECT') });
      else throw new ConversionError(`Pad ${n.name}: mode ${mode} is not supported`);
      set(out, dyn(y, v.dtype, r, v.nhwc));
      continue;
    }

    if (op === 'GlobalAveragePool') {
      const y = emit('Mean', [asNhwc(x()), intConst([1, 2])], { keep_dims: attrB(true) });
      set(out, dyn(y, 'float32', 4, true));
      continue;
    }

    if (op === 'Resize' || op === 'Upsample') {
      const v = x();
      const mode = attrStr(n, 'mode', 'nearest');
      const ctm = attrStr(n, 'coordinate_transformation_mode', op === 'Upsample' ? 'asymmetric' : 'half_pixel');
      const nearestMode = attrStr(n, 'nearest_mode', 'round_prefer_floor');
      let tfOp: string;
      let align = false, half = false;
      if (mode === 'linear') {
        tfOp = 'ResizeBilinear';
        if (ctm === 'half_pixel' || ctm === 'pytorch_half_pixel') half = true;
        else if (ctm === 'align_corners') align = true;
        else if (ctm !== 'asymmetric') throw new ConversionError(`Resize ${n.name}: linear with coordinate_transformation_mode ${ctm} is not supported`);
      } else if (mode === 'nearest') {
        tfOp = 'ResizeNearestNeighbor';
        if (ctm === 'asymmetric' && (nearestMode === 'floor' || op === 'Upsample')) { /* TF legacy nearest */ }
        else if (ctm === 'half_pixel' && nearestMode === 'round_prefer_ceil') half = true; // TF half_pixel_centers: floor((i + 0.5)·scale)
        else if (ctm === 'align_corners' && nearestMode === 'round_prefer_ceil') align = true;
        else throw new ConversionError(`Resize ${n.name}: nearest with ${ctm}/${nearestMode} is not supported`);
      } else throw new ConversionError(`Resize ${n.name}: mode ${mode} is not supported`);
      const sizes = op === 'Resize' ? optional(n, 3) : undefined;
      const scales = op === 'Resize' ? optional(n, 2) : optional(n, 1);
      let sizeRef: string;
      if (sizes && (sizes.konst ? size(sizes.konst.dims) > 0 : true)) {
        if (sizes.konst) sizeRef = intConst(Array.from(sizes.konst.data).slice(2, 4));
        else sizeRef = emit('StridedSlice', [ref(sizes), intConst([2]), intConst([4]), intConst([1])], { T: attrType('int32') });
      } else if (scales?.konst && size(scales.konst.dims) === 4) {
        const sc = Array.from(scales.konst.data).slice(2, 4);
        const inp = asNhwc(v);
        const hw = emit('StridedSlice', [emit('Shape', [inp], { out_type: attrType('int32') }), intConst([1]), intConst([3]), intConst([1])]);
        if (sc.every((s) => Number.isInteger(s))) sizeRef = emit('Mul', [hw, intConst(sc)]);
        else {
          const f = emit('Mul', [emit('Cast', [hw], { DstT: attrType('float32') }), constNode({ dims: [2], data: Float32Array.from(sc) }, 'float32')]);
          sizeRef = emit('Cast', [emit('Floor', [f])], { DstT: attrType('int32') });
        }
      } else throw new ConversionError(`Resize ${n.name}: needs sizes or constant scales`);
      const y = emit(tfOp, [asNhwc(v), sizeRef], { align_corners: attrB(align), half_pixel_centers: attrB(half), T: attrType('float32') });
      set(out, dyn(y, 'float32', 4, true));
      continue;
    }

    if (op === 'BatchNormalization') {
      const [g, b, m, vr] = [1, 2, 3, 4].map((i) => constOf(n.inputs[i], 'scale/bias/mean/var', n));
      const eps = attrFloat(n, 'epsilon', 1e-5);
      const C = g.dims[0];
      const sc = new Float32Array(C), sh = new Float32Array(C);
      for (let c = 0; c < C; c++) { sc[c] = g.data[c] / Math.sqrt(vr.data[c] + eps); sh[c] = b.data[c] - m.data[c] * sc[c]; }
      const v = x();
      if (v.rank !== 4) throw new ConversionError(`BatchNormalization ${n.name}: only 4-D inputs are supported`);
      const y1 = emit('Mul', [asNhwc(v), constNode({ dims: [C], data: sc }, 'float32')]);
      set(out, dyn(emit('AddV2', [y1, constNode({ dims: [C], data: sh }, 'float32')]), 'float32', 4, true));
      continue;
    }

    if (op === 'InstanceNormalization') {
      const v = x();
      const sc = constOf(n.inputs[1], 'scale', n), bi = constOf(n.inputs[2], 'bias', n);
      const eps = attrFloat(n, 'epsilon', 1e-5);
      const C = sc.dims[0];
      let inp: string, axes: number[], pshape: number[], nhwc: boolean;
      if (v.nhwc) { inp = v.tf!; axes = [1, 2]; pshape = [C]; nhwc = true; }
      else { inp = ref(v); axes = Array.from({ length: v.rank - 2 }, (_, i) => i + 2); pshape = [C, ...axes.map(() => 1)]; nhwc = false; }
      const mean = emit('Mean', [inp, intConst(axes)], { keep_dims: attrB(true) });
      const variance = emit('Mean', [emit('SquaredDifference', [inp, mean]), intConst(axes)], { keep_dims: attrB(true) });
      const inv = emit('Rsqrt', [emit('AddV2', [variance, floatConst(eps)])]);
      let y = emit('Mul', [emit('Sub', [inp, mean]), inv]);
      if (Array.from(sc.data).some((s) => s !== 1)) y = emit('Mul', [y, constNode({ dims: pshape, data: Float32Array.from(sc.data) }, 'float32')]);
      if (Array.from(bi.data).some((s) => s !== 0)) y = emit('AddV2', [y, constNode({ dims: pshape, data: Float32Array.from(bi.data) }, 'float32')]);
      set(out, dyn(y, 'float32', v.rank, nhwc));
      continue;
    }

    if (UNARY[op] || op === 'LeakyRelu') {
      const v = x();
      if (v.konst) throw new ConversionError(`${op} ${n.name}: constant input is not supported`);
      const y = op === 'LeakyRelu' ? emit('LeakyRelu', [v.tf!], { alpha: attrF(attrFloat(n, 'alpha', 0.01)) }) : emit(UNARY[op], [v.tf!]);
      set(out, { ...v, tf: y, konst: undefined });
      continue;
    }

    if (op === 'Clip') {
      const v = x();
      const lo = n.inputs[1] ? constOf(n.inputs[1], 'min', n).data[0] : attrFloat(n, 'min', -3.4e38);
      const hi = n.inputs[2] ? constOf(n.inputs[2], 'max', n).data[0] : attrFloat(n, 'max', 3.4e38);
      const y = lo === 0 && hi === 6 ? emit('Relu6', [v.tf!]) : emit('ClipByValue', [ref(v), floatConst(lo), floatConst(hi)]);
      set(out, { ...v, tf: y, konst: undefined });
      continue;
    }

    if (BINARY[op]) {
      const [tfOp, fn] = BINARY[op];
      const a = get(n.inputs[0]), b = get(n.inputs[1]);
      const dtype = a.dtype === 'float32' || b.dtype === 'float32' ? 'float32' : a.dtype;
      if (a.konst && b.konst) {
        const c = broadcastConst(a.konst, b.konst, op === 'Div' && dtype !== 'float32' ? (p, q) => Math.trunc(p / q) : fn, dtype === 'float32');
        set(out, mkConst(c, dtype));
        continue;
      }
      const rank = Math.max(a.rank, b.rank);
      const dynVals = [a, b].filter((v) => !v.konst);
      const useNhwc = rank === 4 && dynVals.some((v) => v.nhwc) && dynVals.every((v) => v.nhwc || v.rank === 4);
      const operand = (v: Val): string => {
        if (!useNhwc) return asPlain(v);
        if (v.konst) {
          const c4 = { dims: [...new Array(4 - v.konst.dims.length).fill(1), ...v.konst.dims], data: v.konst.data };
          return constNode(transposeConst(c4, NCHW_TO_NHWC), v.dtype);
        }
        return asNhwc(v);
      };
      const y = emit(tfOp, [operand(a), operand(b)]);
      set(out, dyn(y, dtype, rank, useNhwc, a.len ?? b.len));
      continue;
    }

    if (op === 'Softmax') {
      const v = x();
      const axis = attrInt(n, 'axis', -1);
      const ax = axis < 0 ? axis + v.rank : axis;
      if (v.nhwc && ax === 1) { set(out, dyn(emit('Softmax', [v.tf!]), 'float32', 4, true)); continue; }
      if (ax !== v.rank - 1) throw new ConversionError(`Softmax ${n.name}: only the last axis (or channels of a 4-D tensor) is supported`);
      set(out, dyn(emit('Softmax', [asPlain(v)]), 'float32', v.rank));
      continue;
    }

    if (op === 'Gemm' || op === 'MatMul') {
      const a = get(n.inputs[0]);
      let bv = get(n.inputs[1]);
      if (op === 'MatMul' && (a.rank !== 2 || bv.rank !== 2)) {
        const y = emit('BatchMatMulV2', [asPlain(a), asPlain(bv)], { adj_x: attrB(false), adj_y: attrB(false) });
        set(out, dyn(y, 'float32', Math.max(a.rank, bv.rank)));
        continue;
      }
      const alpha = attrFloat(n, 'alpha', 1), beta = attrFloat(n, 'beta', 1);
      const transA = attrInt(n, 'transA', 0) === 1;
      let transB = attrInt(n, 'transB', 0) === 1;
      if (bv.konst) {
        let c = bv.konst;
        if (transB) { c = transposeConst(c, [1, 0]); transB = false; }
        if (alpha !== 1) c = { dims: c.dims, data: Float32Array.from(c.data, (q) => q * alpha) };
        bv = mkConst(c, 'float32');
      } else if (alpha !== 1) throw new ConversionError(`Gemm ${n.name}: alpha ≠ 1 with a non-constant B is not supported`);
      let y = emit('MatMul', [asPlain(a), ref(bv, 'weight')], { transpose_a: attrB(transA), transpose_b: attrB(transB), T: attrType('float32') });
      const cv = op === 'Gemm' ? optional(n, 2) : undefined;
      if (cv) {
        const cr = cv.konst && beta !== 1 ? constNode({ dims: cv.konst.dims, data: Float32Array.from(cv.konst.data, (q) => q * beta) }, 'float32', 'bias') : ref(cv, 'bias');
        if (!cv.konst && beta !== 1) throw new ConversionError(`Gemm ${n.name}: beta ≠ 1 with a non-constant C is not supported`);
        y = emit('AddV2', [y, cr]);
      }
      set(out, dyn(y, 'float32', 2));
      continue;
    }

    if (op === 'Concat') {
      const ins = n.inputs.map(get);
      const rank = ins[0].rank;
      let axis = attrInt(n, 'axis', 0);
      if (axis < 0) axis += rank;
      if (ins.every((v) => v.konst)) {
        if (rank !== 1) throw new ConversionError(`Concat ${n.name}: folding constants of rank ${rank} is not supported`);
        const data = ins.flatMap((v) => Array.from(v.konst!.data));
        set(out, mkConst({ dims: [data.length], data: ins[0].dtype === 'float32' ? Float32Array.from(data) : data }, ins[0].dtype));
        continue;
      }
      const useNhwc = rank === 4 && ins.some((v) => v.nhwc);
      const refs = ins.map((v) => (useNhwc ? asNhwc(v) : asPlain(v)));
      const y = emit('ConcatV2', [...refs, intConst(useNhwc ? PHYS_AXIS[axis] : axis)], { N: attrI(refs.length), T: attrType(ins[0].dtype) });
      const len = rank === 1 && ins.every((v) => v.len !== undefined) ? ins.reduce((s, v) => s + v.len!, 0) : undefined;
      set(out, dyn(y, ins[0].dtype, rank, useNhwc, len));
      continue;
    }

    if (op === 'Shape') {
      const v = x();
      if (attr(n, 'start') || attr(n, 'end')) throw new ConversionError(`Shape ${n.name}: start/end attributes are not supported`);
      if (v.konst) { set(out, mkConst({ dims: [v.rank], data: [...v.konst.dims] }, 'int32')); continue; }
      let y = emit('Shape', [v.tf!], { out_type: attrType('int32') });
      if (v.nhwc) y = emit('GatherV2', [y, intConst(NHWC_TO_NCHW), intConst(0)], { batch_dims: attrI(0) });
      set(out, dyn(y, 'int32', 1, false, v.rank));
      continue;
    }

    if (op === 'Gather') {
      const v = x();
      const idx = get(n.inputs[1]);
      let axis = attrInt(n, 'axis', 0);
      if (axis < 0) axis += v.rank;
      if (!idx.konst) throw new ConversionError(`Gather ${n.name}: indices must be constant`);
      const dimLen = axis === 0 && v.rank === 1 ? v.len : undefined;
      const norm = Array.from(idx.konst.data, (i) => {
        if (i >= 0) return i;
        if (dimLen === undefined) throw new ConversionError(`Gather ${n.name}: negative index on a dimension of unknown size`);
        return i + dimLen;
      });
      if (v.konst && v.rank === 1) {
        set(out, mkConst({ dims: idx.konst.dims, data: norm.map((i) => v.konst!.data[i]) }, v.dtype));
        continue;
      }
      const y = emit('GatherV2', [asPlain(v), intConst(idx.konst.dims.length ? norm : norm[0]), intConst(axis)], { batch_dims: attrI(0) });
      const rank = v.rank - 1 + idx.konst.dims.length;
      set(out, dyn(y, v.dtype, rank, false, rank === 1 && idx.konst.dims.length === 1 ? idx.konst.dims[0] : undefined));
      continue;
    }

    if (op === 'Unsqueeze' || op === 'Squeeze') {
      const v = x();
      const axes = n.inputs[1] ? Array.from(constOf(n.inputs[1], 'axes', n).data) : attrIntList(n, 'axes');
      if (op === 'Unsqueeze') {
        if (!axes) throw new ConversionError(`Unsqueeze ${n.name}: no axes`);
        const rank = v.rank + axes.length;
        const norm = axes.map((a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q);
        if (v.konst) {
          const dims = [...v.konst.dims];
          for (const a of norm) dims.splice(a, 0, 1);
          set(out, mkConst({ dims, data: v.konst.data }, v.dtype));
          continue;
        }
        let y = asPlain(v);
        for (const a of norm) y = emit('ExpandDims', [y, intConst(a)]);
        set(out, dyn(y, v.dtype, rank, false, rank === 1 ? 1 : undefined));
      } else {
        if (!axes) throw new ConversionError(`Squeeze ${n.name}: axes must be given`);
        const norm = axes.map((a) => (a < 0 ? a + v.rank : a));
        if (v.konst) {
          set(out, mkConst({ dims: v.konst.dims.filter((_, i) => !norm.includes(i)), data: v.konst.data }, v.dtype));
          continue;
        }
        const y = emit('Squeeze', [asPlain(v)], { squeeze_dims: attrInts(norm) });
        set(out, dyn(y, v.dtype, v.rank - norm.length));
      }
      continue;
    }

    if (op === 'Slice') {
      const v = x();
      const starts = Array.from(constOf(n.inputs[1], 'starts', n).data);
      const ends = Array.from(constOf(n.inputs[2], 'ends', n).data);
      const axes = n.inputs[3] ? Array.from(constOf(n.inputs[3], 'axes', n).data) : starts.map((_, i) => i);
      const steps = n.inputs[4] ? Array.from(constOf(n.inputs[4], 'steps', n).data) : starts.map(() => 1);
      if (v.konst && v.rank === 1) {
        const L = v.konst.dims[0];
        const clamp = (i: number) => Math.max(0, Math.min(L, i < 0 ? i + L : i));
        if (steps[0] !== 1) throw new ConversionError(`Slice ${n.name}: folding with step ≠ 1 is not supported`);
        const data = Array.from(v.konst.data).slice(clamp(starts[0]), clamp(ends[0]));
        set(out, mkConst({ dims: [data.length], data: v.dtype === 'float32' ? Float32Array.from(data) : data }, v.dtype));
        continue;
      }
      const begin = new Array(v.rank).fill(0), end = new Array(v.rank).fill(0), stride = new Array(v.rank).fill(1);
      let beginMask = 0, endMask = 0;
      for (let d = 0; d < v.rank; d++) { beginMask |= 1 << d; endMask |= 1 << d; }
      axes.forEach((a0, i) => {
        const a = a0 < 0 ? a0 + v.rank : a0;
        begin[a] = starts[i]; end[a] = ends[i]; stride[a] = steps[i];
        beginMask &= ~(1 << a); endMask &= ~(1 << a);
        if (Math.abs(ends[i]) >= INT_BIG) { end[a] = 0; endMask |= 1 << a; }
        if (Math.abs(starts[i]) >= INT_BIG) { begin[a] = 0; beginMask |= 1 << a; }
      });
      const y = emit('StridedSlice', [asPlain(v), intConst(begin), intConst(end), intConst(stride)], {
        begin_mask: attrI(beginMask), end_mask: attrI(endMask), ellipsis_mask: attrI(0), new_axis_mask: attrI(0), shrink_axis_mask: attrI(0), T: attrType(v.dtype),
      });
      let len: number | undefined;
      if (v.rank === 1 && v.len !== undefined && steps[0] === 1) {
        const L = v.len;
        const clamp = (i: number) => Math.max(0, Math.min(L, i < 0 ? i + L : i));
        len = Math.max(0, clamp(ends[0]) - clamp(starts[0]));
      }
      set(out, dyn(y, v.dtype, v.rank, false, len));
      continue;
    }

    if (op === 'Cast') {
      const v = x();
      const to = dtypeOf(attrInt(n, 'to', ONNX_DT.FLOAT));
      if (v.konst) {
        const data = to === 'float32' ? Float32Array.from(v.konst.data) : Array.from(v.konst.data, (q) => (to === 'bool' ? Number(q !== 0) : Math.trunc(q)));
        set(out, mkConst({ dims: v.konst.dims, data }, to));
        continue;
      }
      if (to === v.dtype) { set(out, v); continue; }
      set(out, { ...v, tf: emit('Cast', [v.tf!], { SrcT: attrType(v.dtype), DstT: attrType(to) }), dtype: to, konst: undefined });
      continue;
    }

    if (op === 'Reshape' || op === 'Flatten') {
      const v = x();
      let shapeRef: string;
      let rank: number;
      let len: number | undefined;
      if (op === 'Flatten') {
        const axis = attrInt(n, 'axis', 1);
        const a = axis < 0 ? axis + v.rank : axis;
        const sh = emit('Shape', [asPlain(v)], { out_type: attrType('int32') });
        const lead = a === 0 ? intConst([1]) : emit('Prod', [emit('StridedSlice', [sh, intConst([0]), intConst([a]), intConst([1])]), intConst(0)], { keep_dims: attrB(true) });
        shapeRef = emit('ConcatV2', [lead, intConst([-1]), intConst(0)], { N: attrI(2) });
        rank = 2;
      } else {
        const s = get(n.inputs[1]);
        if (attrInt(n, 'allowzero', 0) === 1) throw new ConversionError(`Reshape ${n.name}: allowzero is not supported`);
        if (s.konst) {
          const target = Array.from(s.konst.data);
          rank = target.length;
          if (v.konst) {
            const total = size(v.konst.dims);
            const dims = target.map((d, i) => (d === 0 ? v.konst!.dims[i] : d));
            const known = dims.filter((d) => d !== -1).reduce((p, q) => p * q, 1);
            set(out, mkConst({ dims: dims.map((d) => (d === -1 ? total / known : d)), data: v.konst.data }, v.dtype));
            continue;
          }
          const zeros = target.map((d, i) => (d === 0 ? i : -1)).filter((i) => i >= 0);
          if (!zeros.length) shapeRef = intConst(target);
          else {
            // ONNX 0 = copy that input dim: build the shape from the input's runtime shape
            const sh = emit('Shape', [asPlain(v)], { out_type: attrType('int32') });
            const parts = target.map((d, i) => (d === 0 ? emit('StridedSlice', [sh, intConst([i]), intConst([i + 1]), intConst([1])]) : intConst([d])));
            shapeRef = emit('ConcatV2', [...parts, intConst(0)], { N: attrI(parts.length) });
          }
          if (rank === 1) len = target[0] > 0 ? target[0] : undefined;
        } else {
          if (s.len === undefined) throw new ConversionError(`Reshape ${n.name}: the target shape's length is not known statically`);
          rank = s.len;
          shapeRef = ref(s);
        }
      }
      set(out, dyn(emit('Reshape', [asPlain(v), shapeRef]), v.dtype, rank, false, len));
      continue;
    }

    if (op === 'Transpose') {
      const v = x();
      const perm = attrIntList(n, 'perm') ?? Array.from({ length: v.rank }, (_, i) => v.rank - 1 - i);
      if (v.konst) { set(out, mkConst(transposeConst(v.konst, perm), v.dtype)); continue; }
      // composing with the internal NHWC layout: plain = nhwc∘[0,3,1,2]
      const y = v.nhwc ? emit('Transpose', [v.tf!, intConst(perm.map((p) => NHWC_TO_NCHW[p]))]) : emit('Transpose', [v.tf!, intConst(perm)]);
      set(out, dyn(y, v.dtype, v.rank));
      continue;
    }

    if (op === 'ReduceMean') {
      const v = x();
      const axes = (n.inputs[1] ? Array.from(constOf(n.inputs[1], 'axes', n).data) : attrIntList(n, 'axes')) ?? Array.from({ length: v.rank }, (_, i) => i);
      const keep = attrInt(n, 'keepdims', 1) === 1;
      const norm = axes.map((a) => (a < 0 ? a + v.rank : a));
      const rank = keep ? v.rank : v.rank - norm.length;
      if (v.nhwc && keep) {
        set(out, dyn(emit('Mean', [v.tf!, intConst(norm.map((a) => PHYS_AXIS[a]))], { keep_dims: attrB(true) }), 'float32', 4, true));
      } else {
        set(out, dyn(emit('Mean', [asPlain(v), intConst(norm)], { keep_dims: attrB(keep) }), 'float32', rank));
      }
      continue;
    }

    throw new ConversionError(`unsupported ONNX op: ${op} (node ${n.name})`);
  }

  // graph outputs: logical layout, named like the ONNX outputs
  const signature: { inputs: Record<string, unknown>; outputs: Record<string, unknown> } = { inputs: {}, outputs: {} };
  const shapeJson = (shape: (number | string | null)[] | null) => ({ dim: (shape ?? []).map((d) => ({ size: String(typeof d === 'number' && d > 0 ? d : -1) })) });
  for (const i of model.inputs) signature.inputs[i.name] = { name: `${i.name}:0`, dtype: TF_DT[dtypeOf(i.elemType)], tensorShape: shapeJson(i.shape) };
  for (const o of model.outputs) {
    const v = get(o.name);
    emit('Identity', [asPlain(v)], { T: attrType(v.dtype) }, o.name);
    signature.outputs[o.name] = { name: `${o.name}:0`, dtype: TF_DT[v.dtype], tensorShape: shapeJson(o.shape) };
  }

  // drop nodes nothing reaches (e.g. constants only used for folding)
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
