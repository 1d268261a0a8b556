/**
 * Indexing operators: Gather (constant indices), Slice (constant bounds), Concat. Small integer
 * vectors (shapes) fold when constant and keep their static length when not.
 */
import { attrI, attrInt, attrType } from '../attrs';
import { ConversionError, dyn, mkConst, type ConversionContext, type Val } from '../context';
import type { OnnxNode } from '../onnx';
import { INT_BIG, PHYS_AXIS } from '../tensors';

function gather(ctx: ConversionContext, n: OnnxNode): Val {
  const v = ctx.get(n.inputs[0]);
  const idx = ctx.get(n.inputs[1]);
  let axis = attrInt(n, 'axis', 0);
  if (axis < 0) axis += v.rank;
  if (!idx.konst) throw new ConversionError(`Gather ${n.name}: indices must be constant`);
  const dimLen = axis === 0 && v.rank === 1 ? v.len : undefined;
  const norm = Array.from(idx.konst.data, (i) => {
    if (i >= 0) return i;
    if (dimLen === undefined) throw new ConversionError(`Gather ${n.name}: negative index on a dimension of unknown size`);
    return i + dimLen;
  });
  if (v.konst && v.rank === 1) return mkConst({ dims: idx.konst.dims, data: norm.map((i) => v.konst!.data[i]) }, v.dtype);
  const y = ctx.emit('GatherV2', [ctx.asPlain(v), ctx.intConst(idx.konst.dims.length ? norm : norm[0]), ctx.intConst(axis)], {
    batch_dims: attrI(0),
  });
  const rank = v.rank - 1 + idx.konst.dims.length;
  return dyn(y, v.dtype, rank, false, rank === 1 && idx.konst.dims.length === 1 ? idx.konst.dims[0] : undefined);
}

/** a Slice bound on a length-L axis, clamped to [0, L] (negative counts from the end) */
const clampTo = (L: number) => (i: number) => Math.max(0, Math.min(L, i < 0 ? i + L : i));

function slice(ctx: ConversionContext, n: OnnxNode): Val {
  const v = ctx.get(n.inputs[0]);
  const starts = Array.from(ctx.constOf(n.inputs[1], 'starts', n).data);
  const ends = Array.from(ctx.constOf(n.inputs[2], 'ends', n).data);
  const axes = n.inputs[3] ? Array.from(ctx.constOf(n.inputs[3], 'axes', n).data) : starts.map((_, i) => i);
  const steps = n.inputs[4] ? Array.from(ctx.constOf(n.inputs[4], 'steps', n).data) : starts.map(() => 1);
  if (v.konst && v.rank === 1) {
    const clamp = clampTo(v.konst.dims[0]);
    if (steps[0] !== 1) throw new ConversionError(`Slice ${n.name}: folding with step ≠ 1 is not supported`);
    const data = Array.from(v.konst.data).slice(clamp(starts[0]), clamp(ends[0]));
    return mkConst({ dims: [data.length], data: v.dtype === 'float32' ? Float32Array.from(data) : data }, v.dtype);
  }
  const begin = new Array(v.rank).fill(0),
    end = new Array(v.rank).fill(0),
    stride = new Array(v.rank).fill(1);
  let beginMask = 0,
    endMask = 0;
  for (let d = 0; d < v.rank; d++) {
    beginMask |= 1 << d;
    endMask |= 1 << d;
  }
  axes.forEach((a0, i) => {
    const a = a0 < 0 ? a0 + v.rank : a0;
    begin[a] = starts[i];
    end[a] = ends[i];
    stride[a] = steps[i];
    beginMask &= ~(1 << a);
    endMask &= ~(1 << a);
    if (Math.abs(ends[i]) >= INT_BIG) {
      end[a] = 0;
      endMask |= 1 << a;
    }
    if (Math.abs(starts[i]) >= INT_BIG) {
      begin[a] = 0;
      beginMask |= 1 << a;
    }
  });
  const y = ctx.emit('StridedSlice', [ctx.asPlain(v), ctx.intConst(begin), ctx.intConst(end), ctx.intConst(stride)], {
    begin_mask: attrI(beginMask),
    end_mask: attrI(endMask),
    ellipsis_mask: attrI(0),
    new_axis_mask: attrI(0),
    shrink_axis_mask: attrI(0),
    T: attrType(v.dtype),
  });
  let len: number | undefined;
  if (v.rank === 1 && v.len !== undefined && steps[0] === 1) {
    const clamp = clampTo(v.len);
    len = Math.max(0, clamp(ends[0]) - clamp(starts[0]));
  }
  return dyn(y, v.dtype, v.rank, false, len);
}

/** constant 1-D inputs fold; 4-D inputs concatenate in NHWC when one of them is NHWC already */
function concat(ctx: ConversionContext, n: OnnxNode): Val {
  const ins = n.inputs.map((i) => ctx.get(i));
  const rank = ins[0].rank;
  let axis = attrInt(n, 'axis', 0);
  if (axis < 0) axis += rank;
  if (ins.every((v) => v.konst)) {
    if (rank !== 1) throw new ConversionError(`Concat ${n.name}: folding constants of rank ${rank} is not supported`);
    const data = ins.flatMap((v) => Array.from(v.konst!.data));
    return mkConst({ dims: [data.length], data: ins[0].dtype === 'float32' ? Float32Array.from(data) : data }, ins[0].dtype);
  }
  const useNhwc = rank === 4 && ins.some((v) => v.nhwc);
  const refs = ins.map((v) => (useNhwc ? ctx.asNhwc(v) : ctx.asPlain(v)));
  const y = ctx.emit('ConcatV2', [...refs, ctx.intConst(useNhwc ? PHYS_AXIS[axis] : axis)], {
    N: attrI(refs.length),
    T: attrType(ins[0].dtype),
  });
  const len = rank === 1 && ins.every((v) => v.len !== undefined) ? ins.reduce((s, v) => s + v.len!, 0) : undefined;
  return dyn(y, ins[0].dtype, rank, useNhwc, len);
}

export const SLICE_OPS = { Gather: gather, Slice: slice, Concat: concat };
