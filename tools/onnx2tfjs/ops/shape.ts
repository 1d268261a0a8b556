/**
 * Shape operators: Constant, Shape, Reshape, Flatten, Unsqueeze, Squeeze, Transpose. Constant inputs
 * fold at conversion time; on dynamic values they work in the logical (ONNX) layout.
 */
import { attr, attrB, attrFloat, attrI, attrInt, attrIntList, attrInts, attrType } from '../attrs';
import { ConversionError, constVal, dyn, mkConst, type ConversionContext, type Val } from '../context';
import type { OnnxNode } from '../onnx';
import { NHWC_TO_NCHW, size, transposeConst } from '../tensors';

function constant(_ctx: ConversionContext, n: OnnxNode): Val {
  const a = attr(n, 'value');
  if (a?.kind === 'tensor') return constVal(a.t);
  if (attr(n, 'value_float')?.kind === 'float')
    return mkConst({ dims: [], data: Float32Array.of(attrFloat(n, 'value_float', 0)) }, 'float32');
  if (attr(n, 'value_int')?.kind === 'int') return mkConst({ dims: [], data: [attrInt(n, 'value_int', 0)] }, 'int32');
  const xs = attrIntList(n, 'value_ints');
  if (xs) return mkConst({ dims: [xs.length], data: xs }, 'int32');
  throw new ConversionError(`Constant ${n.name}: unsupported value attribute`);
}

/** the logical (NCHW) shape, as int32 */
function shape(ctx: ConversionContext, n: OnnxNode): Val {
  const v = ctx.get(n.inputs[0]);
  if (attr(n, 'start') || attr(n, 'end')) throw new ConversionError(`Shape ${n.name}: start/end attributes are not supported`);
  if (v.konst) return mkConst({ dims: [v.rank], data: [...v.konst.dims] }, 'int32');
  let y = ctx.emit('Shape', [v.tf!], { out_type: attrType('int32') });
  if (v.nhwc) y = ctx.emit('GatherV2', [y, ctx.intConst(NHWC_TO_NCHW), ctx.intConst(0)], { batch_dims: attrI(0) });
  return dyn(y, 'int32', 1, false, v.rank);
}

function reshape(ctx: ConversionContext, n: OnnxNode): Val {
  const v = ctx.get(n.inputs[0]);
  let shapeRef: string;
  let rank: number;
  let len: number | undefined;
  const s = ctx.get(n.inputs[1]);
  if (attrInt(n, 'allowzero', 0) === 1) throw new ConversionError(`Reshape ${n.name}: allowzero is not supported`);
  if (s.konst) {
    const target = Array.from(s.konst.data);
    rank = target.length;
    if (v.konst) {
      const total = size(v.konst.dims);
      const dims = target.map((d, i) => (d === 0 ? v.konst!.dims[i] : d));
      const known = dims.filter((d) => d !== -1).reduce((p, q) => p * q, 1);
      return mkConst({ dims: dims.map((d) => (d === -1 ? total / known : d)), data: v.konst.data }, v.dtype);
    }
    const zeros = target.map((d, i) => (d === 0 ? i : -1)).filter((i) => i >= 0);
    if (!zeros.length) shapeRef = ctx.intConst(target);
    else {
      // ONNX 0 = copy that input dim: build the shape from the input's runtime shape
      const sh = ctx.emit('Shape', [ctx.asPlain(v)], { out_type: attrType('int32') });
      const parts = target.map((d, i) =>
        d === 0 ? ctx.emit('StridedSlice', [sh, ctx.intConst([i]), ctx.intConst([i + 1]), ctx.intConst([1])]) : ctx.intConst([d]),
      );
      shapeRef = ctx.emit('ConcatV2', [...parts, ctx.intConst(0)], { N: attrI(parts.length) });
    }
    if (rank === 1) len = target[0] > 0 ? target[0] : undefined;
  } else {
    if (s.len === undefined) throw new ConversionError(`Reshape ${n.name}: the target shape's length is not known statically`);
    rank = s.len;
    shapeRef = ctx.ref(s);
  }
  return dyn(ctx.emit('Reshape', [ctx.asPlain(v), shapeRef]), v.dtype, rank, false, len);
}

/** Reshape to [prod(dims before axis), -1], from the runtime shape */
function flatten(ctx: ConversionContext, n: OnnxNode): Val {
  const v = ctx.get(n.inputs[0]);
  const axis = attrInt(n, 'axis', 1);
  const a = axis < 0 ? axis + v.rank : axis;
  const sh = ctx.emit('Shape', [ctx.asPlain(v)], { out_type: attrType('int32') });
  const lead =
    a === 0
      ? ctx.intConst([1])
      : ctx.emit('Prod', [ctx.emit('StridedSlice', [sh, ctx.intConst([0]), ctx.intConst([a]), ctx.intConst([1])]), ctx.intConst(0)], {
          keep_dims: attrB(true),
        });
  const shapeRef = ctx.emit('ConcatV2', [lead, ctx.intConst([-1]), ctx.intConst(0)], { N: attrI(2) });
  return dyn(ctx.emit('Reshape', [ctx.asPlain(v), shapeRef]), v.dtype, 2, false, undefined);
}

/** axes from the input (opset 13) or the attribute (older opsets) */
const axesOf = (ctx: ConversionContext, n: OnnxNode) =>
  n.inputs[1] ? Array.from(ctx.constOf(n.inputs[1], 'axes', n).data) : attrIntList(n, 'axes');

function unsqueeze(ctx: ConversionContext, n: OnnxNode): Val {
  const v = ctx.get(n.inputs[0]);
  const axes = axesOf(ctx, n);
  if (!axes) throw new ConversionError(`Unsqueeze ${n.name}: no axes`);
  const rank = v.rank + axes.length;
  const norm = axes.map((a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q);
  if (v.konst) {
    const dims = [...v.konst.dims];
    for (const a of norm) dims.splice(a, 0, 1);
    return mkConst({ dims, data: v.konst.data }, v.dtype);
  }
  let y = ctx.asPlain(v);
  for (const a of norm) y = ctx.emit('ExpandDims', [y, ctx.intConst(a)]);
  return dyn(y, v.dtype, rank, false, rank === 1 ? 1 : undefined);
}

function squeeze(ctx: ConversionContext, n: OnnxNode): Val {
  const v = ctx.get(n.inputs[0]);
  const axes = axesOf(ctx, n);
  if (!axes) throw new ConversionError(`Squeeze ${n.name}: axes must be given`);
  const norm = axes.map((a) => (a < 0 ? a + v.rank : a));
  if (v.konst) return mkConst({ dims: v.konst.dims.filter((_, i) => !norm.includes(i)), data: v.konst.data }, v.dtype);
  const y = ctx.emit('Squeeze', [ctx.asPlain(v)], { squeeze_dims: attrInts(norm) });
  return dyn(y, v.dtype, v.rank - norm.length);
}

function transpose(ctx: ConversionContext, n: OnnxNode): Val {
  const v = ctx.get(n.inputs[0]);
  const perm = attrIntList(n, 'perm') ?? Array.from({ length: v.rank }, (_, i) => v.rank - 1 - i);
  if (v.konst) return mkConst(transposeConst(v.konst, perm), v.dtype);
  // composing with the internal NHWC layout: plain = nhwc∘[0,3,1,2]
  const y = v.nhwc
    ? ctx.emit('Transpose', [v.tf!, ctx.intConst(perm.map((p) => NHWC_TO_NCHW[p]))])
    : ctx.emit('Transpose', [v.tf!, ctx.intConst(perm)]);
  return dyn(y, v.dtype, v.rank);
}

export const SHAPE_OPS = {
  Constant: constant,
  Shape: shape,
  Reshape: reshape,
  Flatten: flatten,
  Unsqueeze: unsqueeze,
  Squeeze: squeeze,
  Transpose: transpose,
};
