/**
 * The state of one conversion, shared by the operator handlers (ops/*): the converted ONNX values by
 * name, the TF.js nodes and weights emitted so far, and the helpers that emit constants and move
 * values between the logical (ONNX, NCHW) layout and the internal NHWC one.
 */
import { attrType, TF_DT, type DType } from './attrs';
import { ONNX_DT, type OnnxModel, type OnnxNode, type OnnxTensor } from './onnx';
import { NCHW_TO_NHWC, NHWC_TO_NCHW, size, transposeConst, type Const } from './tensors';

export type { DType } from './attrs';
export type { Const } from './tensors';

export class ConversionError extends Error {}

/** A converted ONNX value. Logical shape = ONNX shape; `nhwc` means a 4-D tensor stored as NHWC. */
export interface Val {
  tf?: string;
  konst?: Const;
  dtype: DType;
  rank: number;
  nhwc: boolean;
  /** static length of a 1-D tensor (shape vectors), when known */
  len?: number;
}

export interface TfNode {
  name: string;
  op: string;
  input: string[];
  attr?: Record<string, unknown>;
}
export interface Weight {
  name: string;
  shape: number[];
  dtype: DType;
  data: Float32Array | Int32Array;
}

/** Converts one ONNX node; returns the value of its (first) output. */
export type OpHandler = (ctx: ConversionContext, n: OnnxNode) => Val;

export function dtypeOf(onnxType: number): DType {
  if (onnxType === ONNX_DT.FLOAT || onnxType === ONNX_DT.DOUBLE) return 'float32';
  if (onnxType === ONNX_DT.BOOL) return 'bool';
  if ([ONNX_DT.INT64, ONNX_DT.INT32, ONNX_DT.INT8, ONNX_DT.UINT8].includes(onnxType as 7)) return 'int32';
  throw new ConversionError(`ONNX data type ${onnxType} is not supported`);
}

/** A folded constant value. */
export const mkConst = (c: Const, dtype: DType): Val => ({
  konst: c,
  dtype,
  rank: c.dims.length,
  nhwc: false,
  len: c.dims.length === 1 ? c.dims[0] : undefined,
});
export const constVal = (t: OnnxTensor): Val => mkConst({ dims: t.dims, data: t.data }, dtypeOf(t.dataType));
/** A value computed by the TF graph. */
export const dyn = (tf: string, dtype: DType, rank: number, nhwc = false, len?: number): Val => ({ tf, dtype, rank, nhwc, len });

export class ConversionContext {
  readonly nodes: TfNode[] = [];
  readonly weights: Weight[] = [];
  readonly vals = new Map<string, Val>();
  /** ONNX nodes already converted as part of an earlier one (a Relu fused into its Conv) */
  readonly fusedInto = new Set<OnnxNode>();
  /** the ONNX nodes reading each value, for fusing Conv + Relu */
  readonly consumers = new Map<string, OnnxNode[]>();
  readonly graphOutputs: Set<string>;
  private readonly used = new Set<string>();
  private counter = 0;
  private readonly constCache = new Map<string, string>();
  private readonly nhwcCache = new Map<string, string>();
  private readonly plainCache = new Map<string, string>();

  constructor(model: OnnxModel) {
    for (const i of model.inputs) this.used.add(i.name);
    for (const o of model.outputs) this.used.add(o.name);
    for (const n of model.nodes) for (const i of n.inputs) if (i) this.consumers.set(i, [...(this.consumers.get(i) ?? []), n]);
    this.graphOutputs = new Set(model.outputs.map((o) => o.name));
  }

  /** a TF node name not used yet, from base */
  uniq(base: string): string {
    let s = base.replace(/[^A-Za-z0-9_.\-/]/g, '_').replace(/^[^A-Za-z0-9.]+/, '') || 'v';
    if (this.used.has(s)) {
      let k = 1;
      while (this.used.has(`${s}_${k}`)) k++;
      s = `${s}_${k}`;
    }
    this.used.add(s);
    return s;
  }

  /** Append a TF node; returns its name. */
  emit(op: string, input: string[], attrs?: Record<string, unknown>, name?: string): string {
    const nm = name ?? this.uniq(`n${this.counter++}_${op}`);
    this.nodes.push({ name: nm, op, input, ...(attrs ? { attr: attrs } : {}) });
    return nm;
  }

  /** A Const node backed by a weight (small constants are shared). */
  constNode(c: Const, dtype: DType, hint = 'const'): string {
    const small = size(c.dims) <= 16;
    const key = small ? `${dtype}|${c.dims.join(',')}|${Array.from(c.data).join(',')}` : '';
    if (small && this.constCache.has(key)) return this.constCache.get(key)!;
    const name = this.uniq(`c${this.counter++}_${hint}`);
    const data = dtype === 'float32' ? Float32Array.from(c.data) : Int32Array.from(c.data);
    this.weights.push({ name, shape: c.dims, dtype, data });
    this.nodes.push({
      name,
      op: 'Const',
      input: [],
      attr: {
        dtype: attrType(dtype),
        value: { tensor: { dtype: TF_DT[dtype], tensorShape: { dim: c.dims.map((d) => ({ size: String(d) })) } } },
      },
    });
    if (small) this.constCache.set(key, name);
    return name;
  }
  intConst(xs: number[] | number): string {
    return this.constNode(Array.isArray(xs) ? { dims: [xs.length], data: xs } : { dims: [], data: [xs] }, 'int32');
  }
  floatConst(x: number): string {
    return this.constNode({ dims: [], data: Float32Array.of(x) }, 'float32');
  }

  /** TF name of a value (materialising constants). */
  ref(v: Val, hint?: string): string {
    if (v.tf) return v.tf;
    v.tf = this.constNode(v.konst!, v.dtype, hint);
    return v.tf;
  }
  /** the value as a physical-NHWC TF tensor (v must be rank 4) */
  asNhwc(v: Val): string {
    if (v.rank !== 4) throw new ConversionError(`expected a 4-D tensor, got rank ${v.rank}`);
    if (v.nhwc) return v.tf!;
    if (v.konst) return this.constNode(transposeConst(v.konst, NCHW_TO_NHWC), v.dtype);
    const src = this.ref(v);
    if (!this.nhwcCache.has(src)) this.nhwcCache.set(src, this.emit('Transpose', [src, this.intConst(NCHW_TO_NHWC)]));
    return this.nhwcCache.get(src)!;
  }
  /** the value as a TF tensor with the logical (ONNX) layout */
  asPlain(v: Val): string {
    if (!v.nhwc) return this.ref(v);
    const src = v.tf!;
    if (!this.plainCache.has(src)) this.plainCache.set(src, this.emit('Transpose', [src, this.intConst(NHWC_TO_NCHW)]));
    return this.plainCache.get(src)!;
  }

  get(name: string): Val {
    const v = this.vals.get(name);
    if (!v) throw new ConversionError(`value ${name} is used before it is defined`);
    return v;
  }
  set(name: string, v: Val): void {
    this.vals.set(name, v);
  }
  /** the constant input `name` of n (`what` names it in the error) */
  constOf(name: string, what: string, n: OnnxNode): Const {
    const v = this.get(name);
    if (!v.konst) throw new ConversionError(`${n.opType} ${n.name}: ${what} must be a constant`);
    return v.konst;
  }
  /** optional input i of n */
  optional(n: OnnxNode, i: number): Val | undefined {
    return n.inputs[i] ? this.get(n.inputs[i]) : undefined;
  }
}
