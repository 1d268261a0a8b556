/** Reductions over axes: ReduceMean, Softmax. An NHWC input stays NHWC where the axes allow it. */
import { attrB, attrInt, attrIntList } from '../attrs';
import { ConversionError, dyn, type ConversionContext, type Val } from '../context';
import type { OnnxNode } from '../onnx';
import { PHYS_AXIS } from '../tensors';

function reduceMean(ctx: ConversionContext, n: OnnxNode): Val {
  const v = ctx.get(n.inputs[0]);
  const axes =
    (n.inputs[1] ? Array.from(ctx.constOf(n.inputs[1], 'axes', n).data) : attrIntList(n, 'axes')) ??
    Array.from({ length: v.rank }, (_, i) => i);
  const keep = attrInt(n, 'keepdims', 1) === 1;
  const norm = axes.map((a) => (a < 0 ? a + v.rank : a));
  const rank = keep ? v.rank : v.rank - norm.length;
  if (v.nhwc && keep) {
    return dyn(ctx.emit('Mean', [v.tf!, ctx.intConst(norm.map((a) => PHYS_AXIS[a]))], { keep_dims: attrB(true) }), 'float32', 4, true);
  }
  return dyn(ctx.emit('Mean', [ctx.asPlain(v), ctx.intConst(norm)], { keep_dims: attrB(keep) }), 'float32', rank);
}

/** over the last axis, or the channels of an NHWC tensor (its physical last axis) */
function softmax(ctx: ConversionContext, n: OnnxNode): Val {
  const v = ctx.get(n.inputs[0]);
  const axis = attrInt(n, 'axis', -1);
  const ax = axis < 0 ? axis + v.rank : axis;
  if (v.nhwc && ax === 1) return dyn(ctx.emit('Softmax', [v.tf!]), 'float32', 4, true);
  if (ax !== v.rank - 1) throw new ConversionError(`Softmax ${n.name}: only the last axis (or channels of a 4-D tensor) is supported`);
  return dyn(ctx.emit('Softmax', [ctx.asPlain(v)]), 'float32', v.rank);
}

export const REDUCE_OPS = { ReduceMean: reduceMean, Softmax: softmax };
