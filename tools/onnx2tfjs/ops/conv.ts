/**
 * Conv (group 1 or depthwise, 2-D) as an NHWC TF convolution. Weights OIHW → HWIO; Conv + bias
 * (+ a Relu that is the only consumer) → `_FusedConv2D`.
 */
import { attrI, attrInt, attrInts, attrIntList, attrS, attrStr, attrType, b64 } from '../attrs';
import { ConversionError, dyn, type ConversionContext, type Val } from '../context';
import type { OnnxNode } from '../onnx';
import { transposeConst } from '../tensors';

/** pads [t, l, b, r] → TF padding attrs for a NHWC op */
function paddingAttrs(pads: number[], k: number[], strides: number[], dil: number[]) {
  if (pads.every((p) => p === 0)) return { padding: attrS('VALID') };
  const [t, l, b, r] = pads;
  const same = strides.every((s) => s === 1) && [t, l].every((p, i) => p === b && b === (dil[i] * (k[i] - 1)) / 2) && l === r;
  if (same) return { padding: attrS('SAME') };
  return { padding: attrS('EXPLICIT'), explicit_paddings: attrInts([0, 0, t, b, l, r, 0, 0]) };
}

/** ONNX pads [t, l, b, r] from the pads/auto_pad attributes */
function convPads(n: OnnxNode, kh: number, kw: number, strides: number[], dil: number[]): number[] {
  const autoPad = attrStr(n, 'auto_pad', 'NOTSET');
  let pads = attrIntList(n, 'pads') ?? [0, 0, 0, 0];
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') {
    if (!strides.every((s) => s === 1)) throw new ConversionError(`Conv ${n.name}: auto_pad ${autoPad} with stride > 1 is not supported`);
    const tot = [dil[0] * (kh - 1), dil[1] * (kw - 1)];
    pads =
      autoPad === 'SAME_UPPER'
        ? [Math.floor(tot[0] / 2), Math.floor(tot[1] / 2), Math.ceil(tot[0] / 2), Math.ceil(tot[1] / 2)]
        : [Math.ceil(tot[0] / 2), Math.ceil(tot[1] / 2), Math.floor(tot[0] / 2), Math.floor(tot[1] / 2)];
  } else if (autoPad === 'VALID') pads = [0, 0, 0, 0];
  return pads;
}

function conv(ctx: ConversionContext, n: OnnxNode): Val {
  const out = n.outputs[0];
  const v = ctx.get(n.inputs[0]);
  const w = ctx.constOf(n.inputs[1], 'the weight', n);
  const bias = ctx.optional(n, 2);
  if (w.dims.length !== 4) throw new ConversionError(`Conv ${n.name}: only 2-D convolutions are supported (weight rank ${w.dims.length})`);
  const [O, Ig, kh, kw] = w.dims;
  const group = attrInt(n, 'group', 1);
  const strides = attrIntList(n, 'strides') ?? [1, 1];
  const dil = attrIntList(n, 'dilations') ?? [1, 1];
  const pads = convPads(n, kh, kw, strides, dil);
  const inp = ctx.asNhwc(v);
  const common = {
    strides: attrInts([1, strides[0], strides[1], 1]),
    dilations: attrInts([1, dil[0], dil[1], 1]),
    data_format: attrS('NHWC'),
    ...paddingAttrs(pads, [kh, kw], strides, dil),
  };
  let y: string;
  if (group === 1) {
    const filter = ctx.constNode(transposeConst(w, [2, 3, 1, 0]), 'float32', 'filter'); // OIHW → HWIO
    // fuse a following Relu when the conv output feeds only it
    const cons = ctx.consumers.get(out) ?? [];
    const relu = cons.length === 1 && cons[0].opType === 'Relu' && !ctx.graphOutputs.has(out) ? cons[0] : undefined;
    if (bias) {
      const fused = ['BiasAdd', ...(relu ? ['Relu'] : [])];
      y = ctx.emit('_FusedConv2D', [inp, filter, ctx.ref(bias, 'bias')], {
        ...common,
        num_args: attrI(1),
        fused_ops: { list: { s: fused.map(b64) } },
        T: attrType('float32'),
      });
      if (relu) {
        ctx.fusedInto.add(relu);
        ctx.set(relu.outputs[0], dyn(y, 'float32', 4, true));
      }
    } else {
      y = ctx.emit('Conv2D', [inp, filter], common);
    }
  } else if (Ig === 1 && O === group) {
    // depthwise: [C, 1, kh, kw] → [kh, kw, C, 1]
    const filter = ctx.constNode(transposeConst(w, [2, 3, 0, 1]), 'float32', 'filter');
    y = ctx.emit('DepthwiseConv2dNative', [inp, filter], common);
    if (bias) y = ctx.emit('BiasAdd', [y, ctx.ref(bias, 'bias')]);
  } else {
    throw new ConversionError(`Conv ${n.name}: grouped convolution (group ${group}, not depthwise) is not supported`);
  }
  return dyn(y, 'float32', 4, true);
}

export const CONV_OPS = { Conv: conv };
