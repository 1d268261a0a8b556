/** Normalisation: BatchNormalization folded to a scale/shift, InstanceNormalization (PyTorch's GroupNorm export). */
import { attrB, attrFloat } from '../attrs';
import { ConversionError, dyn, type ConversionContext, type Val } from '../context';
import type { OnnxNode } from '../onnx';

function batchNormalization(ctx: ConversionContext, n: OnnxNode): Val {
  const [g, b, m, vr] = [1, 2, 3, 4].map((i) => ctx.constOf(n.inputs[i], 'scale/bias/mean/var', n));
  const eps = attrFloat(n, 'epsilon', 1e-5);
  const C = g.dims[0];
  const sc = new Float32Array(C),
    sh = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    sc[c] = g.data[c] / Math.sqrt(vr.data[c] + eps);
    sh[c] = b.data[c] - m.data[c] * sc[c];
  }
  const v = ctx.get(n.inputs[0]);
  if (v.rank !== 4) throw new ConversionError(`BatchNormalization ${n.name}: only 4-D inputs are supported`);
  const y1 = ctx.emit('Mul', [ctx.asNhwc(v), ctx.constNode({ dims: [C], data: sc }, 'float32')]);
  return dyn(ctx.emit('AddV2', [y1, ctx.constNode({ dims: [C], data: sh }, 'float32')]), 'float32', 4, true);
}

/** normalises over the spatial axes (NHWC or logical layout, as the input is); identity scale/bias are skipped */
function instanceNormalization(ctx: ConversionContext, n: OnnxNode): Val {
  const v = ctx.get(n.inputs[0]);
  const sc = ctx.constOf(n.inputs[1], 'scale', n),
    bi = ctx.constOf(n.inputs[2], 'bias', n);
  const eps = attrFloat(n, 'epsilon', 1e-5);
  const C = sc.dims[0];
  let inp: string, axes: number[], pshape: number[], nhwc: boolean;
  if (v.nhwc) {
    inp = v.tf!;
    axes = [1, 2];
    pshape = [C];
    nhwc = true;
  } else {
    inp = ctx.ref(v);
    axes = Array.from({ length: v.rank - 2 }, (_, i) => i + 2);
    pshape = [C, ...axes.map(() => 1)];
    nhwc = false;
  }
  const mean = ctx.emit('Mean', [inp, ctx.intConst(axes)], { keep_dims: attrB(true) });
  const variance = ctx.emit('Mean', [ctx.emit('SquaredDifference', [inp, mean]), ctx.intConst(axes)], { keep_dims: attrB(true) });
  const inv = ctx.emit('Rsqrt', [ctx.emit('AddV2', [variance, ctx.floatConst(eps)])]);
  let y = ctx.emit('Mul', [ctx.emit('Sub', [inp, mean]), inv]);
  if (Array.from(sc.data).some((s) => s !== 1))
    y = ctx.emit('Mul', [y, ctx.constNode({ dims: pshape, data: Float32Array.from(sc.data) }, 'float32')]);
  if (Array.from(bi.data).some((s) => s !== 0))
    y = ctx.emit('AddV2', [y, ctx.constNode({ dims: pshape, data: Float32Array.from(bi.data) }, 'float32')]);
  return dyn(y, 'float32', v.rank, nhwc);
}

export const NORM_OPS = { BatchNormalization: batchNormalization, InstanceNormalization: instanceNormalization };
