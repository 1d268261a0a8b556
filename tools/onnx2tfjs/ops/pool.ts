/** Pooling (MaxPool, AveragePool, GlobalAveragePool) as NHWC TF pools, and Pad. */
import { attrB, attrFloat, attrInt, attrIntList, attrS, attrStr, attrType, attrInts } from '../attrs';
import { ConversionError, dyn, type ConversionContext, type Val } from '../context';
import type { OnnxNode } from '../onnx';
import { NCHW_TO_NHWC } from '../tensors';

/** MaxPool and AveragePool (2-D, no dilation; padding only where TF's VALID/SAME match exactly) */
function pool2d(ctx: ConversionContext, n: OnnxNode): Val {
  const op = n.opType;
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
  else
    throw new ConversionError(
      `${op} ${n.name}: pads ${JSON.stringify(pads)} with kernel ${JSON.stringify(k)}, strides ${JSON.stringify(s)}, ceil_mode ${Number(ceil)} is not supported`,
    );
  if (op === 'AveragePool' && !noPad && attrInt(n, 'count_include_pad', 0) === 1) {
    throw new ConversionError(`AveragePool ${n.name}: count_include_pad with padding is not supported`);
  }
  const y = ctx.emit(op === 'MaxPool' ? 'MaxPool' : 'AvgPool', [ctx.asNhwc(ctx.get(n.inputs[0]))], {
    ksize: attrInts([1, k[0], k[1], 1]),
    strides: attrInts([1, s[0], s[1], 1]),
    padding: attrS(padding),
    data_format: attrS('NHWC'),
    T: attrType('float32'),
  });
  return dyn(y, 'float32', 4, true);
}

function globalAveragePool(ctx: ConversionContext, n: OnnxNode): Val {
  const y = ctx.emit('Mean', [ctx.asNhwc(ctx.get(n.inputs[0])), ctx.intConst([1, 2])], { keep_dims: attrB(true) });
  return dyn(y, 'float32', 4, true);
}

/** constant or reflect padding, in the value's own layout; all-zero pads are dropped */
function pad(ctx: ConversionContext, n: OnnxNode): Val {
  const v = ctx.get(n.inputs[0]);
  const mode = attrStr(n, 'mode', 'constant');
  const pads = n.inputs[1] ? Array.from(ctx.constOf(n.inputs[1], 'pads', n).data) : (attrIntList(n, 'pads') ?? []);
  const value = n.inputs[2] ? Number(ctx.constOf(n.inputs[2], 'constant_value', n).data[0] ?? 0) : attrFloat(n, 'value', 0);
  if (n.inputs[3]) throw new ConversionError(`Pad ${n.name}: the axes input is not supported`);
  if (pads.every((p) => p === 0)) return v; // PyTorch exports no-op pads before ceil_mode pools
  if (pads.some((p) => p < 0)) throw new ConversionError(`Pad ${n.name}: negative pads are not supported`);
  const r = v.rank;
  const pairs = Array.from({ length: r }, (_, i) => [pads[i], pads[i + r]]);
  const phys = v.nhwc ? NCHW_TO_NHWC.map((a) => pairs[a]) : pairs;
  const padsRef = ctx.constNode({ dims: [r, 2], data: phys.flat() }, 'int32');
  let y: string;
  if (mode === 'constant') y = ctx.emit('PadV2', [v.tf ?? ctx.ref(v), padsRef, ctx.floatConst(value)]);
  else if (mode === 'reflect') y = ctx.emit('MirrorPad', [v.tf ?? ctx.ref(v), padsRef], { mode: attrS('REFLECT') });
  else throw new ConversionError(`Pad ${n.name}: mode ${mode} is not supported`);
  return dyn(y, v.dtype, r, v.nhwc);
}

export const POOL_OPS = { MaxPool: pool2d, AveragePool: pool2d, GlobalAveragePool: globalAveragePool, Pad: pad };
