/** Elementwise operators: unary activations and math, Clip, broadcasting binary ops, Cast, Identity. */
import { attrF, attrFloat, attrInt, attrType } from '../attrs';
import { ConversionError, dtypeOf, dyn, mkConst, type ConversionContext, type OpHandler, type Val } from '../context';
import { ONNX_DT, type OnnxNode } from '../onnx';
import { broadcastConst, NCHW_TO_NHWC, transposeConst } from '../tensors';

/** Identity, Dropout (inference): the input value itself */
const passThrough: OpHandler = (ctx, n) => ctx.get(n.inputs[0]);

/** ONNX unary op → the TF op of the same semantics; the value keeps its layout */
function unary(tfOp: string): OpHandler {
  return (ctx, n) => {
    const v = ctx.get(n.inputs[0]);
    if (v.konst) throw new ConversionError(`${n.opType} ${n.name}: constant input is not supported`);
    return { ...v, tf: ctx.emit(tfOp, [v.tf!]), konst: undefined };
  };
}

function leakyRelu(ctx: ConversionContext, n: OnnxNode): Val {
  const v = ctx.get(n.inputs[0]);
  if (v.konst) throw new ConversionError(`${n.opType} ${n.name}: constant input is not supported`);
  const y = ctx.emit('LeakyRelu', [v.tf!], { alpha: attrF(attrFloat(n, 'alpha', 0.01)) });
  return { ...v, tf: y, konst: undefined };
}

function clip(ctx: ConversionContext, n: OnnxNode): Val {
  const v = ctx.get(n.inputs[0]);
  const lo = n.inputs[1] ? ctx.constOf(n.inputs[1], 'min', n).data[0] : attrFloat(n, 'min', -3.4e38);
  const hi = n.inputs[2] ? ctx.constOf(n.inputs[2], 'max', n).data[0] : attrFloat(n, 'max', 3.4e38);
  const y =
    lo === 0 && hi === 6 ? ctx.emit('Relu6', [v.tf!]) : ctx.emit('ClipByValue', [ctx.ref(v), ctx.floatConst(lo), ctx.floatConst(hi)]);
  return { ...v, tf: y, konst: undefined };
}

/**
 * ONNX broadcasting binary op → tfOp, folded with fn when both inputs are constants. A 4-D result
 * stays NHWC when a dynamic input is NHWC already (constants are transposed to match).
 */
function binary(tfOp: string, fn: (a: number, b: number) => number): OpHandler {
  return (ctx, n) => {
    const a = ctx.get(n.inputs[0]),
      b = ctx.get(n.inputs[1]);
    const dtype = a.dtype === 'float32' || b.dtype === 'float32' ? 'float32' : a.dtype;
    if (a.konst && b.konst) {
      const c = broadcastConst(
        a.konst,
        b.konst,
        n.opType === 'Div' && dtype !== 'float32' ? (p, q) => Math.trunc(p / q) : fn,
        dtype === 'float32',
      );
      return mkConst(c, dtype);
    }
    const rank = Math.max(a.rank, b.rank);
    const dynVals = [a, b].filter((v) => !v.konst);
    const useNhwc = rank === 4 && dynVals.some((v) => v.nhwc) && dynVals.every((v) => v.nhwc || v.rank === 4);
    const operand = (v: Val): string => {
      if (!useNhwc) return ctx.asPlain(v);
      if (v.konst) {
        const c4 = { dims: [...new Array(4 - v.konst.dims.length).fill(1), ...v.konst.dims], data: v.konst.data };
        return ctx.constNode(transposeConst(c4, NCHW_TO_NHWC), v.dtype);
      }
      return ctx.asNhwc(v);
    };
    const y = ctx.emit(tfOp, [operand(a), operand(b)]);
    return dyn(y, dtype, rank, useNhwc, a.len ?? b.len);
  };
}

function cast(ctx: ConversionContext, n: OnnxNode): Val {
  const v = ctx.get(n.inputs[0]);
  const to = dtypeOf(attrInt(n, 'to', ONNX_DT.FLOAT));
  if (v.konst) {
    const data =
      to === 'float32'
        ? Float32Array.from(v.konst.data)
        : Array.from(v.konst.data, (q) => (to === 'bool' ? Number(q !== 0) : Math.trunc(q)));
    return mkConst({ dims: v.konst.dims, data }, to);
  }
  if (to === v.dtype) return v;
  return { ...v, tf: ctx.emit('Cast', [v.tf!], { SrcT: attrType(v.dtype), DstT: attrType(to) }), dtype: to, konst: undefined };
}

export const ELEMENTWISE_OPS: Record<string, OpHandler> = {
  Identity: passThrough,
  Dropout: passThrough,
  Relu: unary('Relu'),
  Sigmoid: unary('Sigmoid'),
  Tanh: unary('Tanh'),
  Exp: unary('Exp'),
  Log: unary('Log'),
  Sqrt: unary('Sqrt'),
  Neg: unary('Neg'),
  Abs: unary('Abs'),
  Sin: unary('Sin'),
  Cos: unary('Cos'),
  Erf: unary('Erf'),
  Floor: unary('Floor'),
  Ceil: unary('Ceil'),
  Reciprocal: unary('Reciprocal'),
  LeakyRelu: leakyRelu,
  Clip: clip,
  Add: binary('AddV2', (a, b) => a + b),
  Sub: binary('Sub', (a, b) => a - b),
  Mul: binary('Mul', (a, b) => a * b),
  Div: binary('RealDiv', (a, b) => a / b),
  Pow: binary('Pow', (a, b) => a ** b),
  Max: binary('Maximum', Math.max),
  Min: binary('Minimum', Math.min),
  Cast: cast,
};
