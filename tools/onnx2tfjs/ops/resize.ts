/**
 * Resize / Upsample as TF ResizeBilinear / ResizeNearestNeighbor (NHWC), for the coordinate modes TF
 * reproduces exactly. The output size comes from constant or runtime `sizes`, or constant scales × the
 * runtime input size, so the graph stays dynamic in height and width.
 */
import { attrB, attrStr, attrType } from '../attrs';
import { ConversionError, dyn, type ConversionContext, type Val } from '../context';
import type { OnnxNode } from '../onnx';
import { size } from '../tensors';

/** TF op and its align_corners / half_pixel_centers flags for the node's mode attributes */
function resizeMode(n: OnnxNode): { tfOp: string; align: boolean; half: boolean } {
  const op = n.opType;
  const mode = attrStr(n, 'mode', 'nearest');
  const ctm = attrStr(n, 'coordinate_transformation_mode', op === 'Upsample' ? 'asymmetric' : 'half_pixel');
  const nearestMode = attrStr(n, 'nearest_mode', 'round_prefer_floor');
  let align = false,
    half = false;
  if (mode === 'linear') {
    if (ctm === 'half_pixel' || ctm === 'pytorch_half_pixel') half = true;
    else if (ctm === 'align_corners') align = true;
    else if (ctm !== 'asymmetric')
      throw new ConversionError(`Resize ${n.name}: linear with coordinate_transformation_mode ${ctm} is not supported`);
    return { tfOp: 'ResizeBilinear', align, half };
  }
  if (mode === 'nearest') {
    if (ctm === 'asymmetric' && (nearestMode === 'floor' || op === 'Upsample')) {
      /* TF legacy nearest */
    } else if (ctm === 'half_pixel' && nearestMode === 'round_prefer_ceil')
      half = true; // TF half_pixel_centers: floor((i + 0.5)·scale)
    else if (ctm === 'align_corners' && nearestMode === 'round_prefer_ceil') align = true;
    else throw new ConversionError(`Resize ${n.name}: nearest with ${ctm}/${nearestMode} is not supported`);
    return { tfOp: 'ResizeNearestNeighbor', align, half };
  }
  throw new ConversionError(`Resize ${n.name}: mode ${mode} is not supported`);
}

/** Resize (inputs X, roi, scales, sizes) and Upsample (inputs X, scales) */
function resize(ctx: ConversionContext, n: OnnxNode): Val {
  const op = n.opType;
  const v = ctx.get(n.inputs[0]);
  const { tfOp, align, half } = resizeMode(n);
  const sizes = op === 'Resize' ? ctx.optional(n, 3) : undefined;
  const scales = op === 'Resize' ? ctx.optional(n, 2) : ctx.optional(n, 1);
  let sizeRef: string;
  if (sizes && (sizes.konst ? size(sizes.konst.dims) > 0 : true)) {
    if (sizes.konst) sizeRef = ctx.intConst(Array.from(sizes.konst.data).slice(2, 4));
    else
      sizeRef = ctx.emit('StridedSlice', [ctx.ref(sizes), ctx.intConst([2]), ctx.intConst([4]), ctx.intConst([1])], {
        T: attrType('int32'),
      });
  } else if (scales?.konst && size(scales.konst.dims) === 4) {
    const sc = Array.from(scales.konst.data).slice(2, 4);
    const inp = ctx.asNhwc(v);
    const hw = ctx.emit('StridedSlice', [
      ctx.emit('Shape', [inp], { out_type: attrType('int32') }),
      ctx.intConst([1]),
      ctx.intConst([3]),
      ctx.intConst([1]),
    ]);
    if (sc.every((s) => Number.isInteger(s))) sizeRef = ctx.emit('Mul', [hw, ctx.intConst(sc)]);
    else {
      const f = ctx.emit('Mul', [
        ctx.emit('Cast', [hw], { DstT: attrType('float32') }),
        ctx.constNode({ dims: [2], data: Float32Array.from(sc) }, 'float32'),
      ]);
      sizeRef = ctx.emit('Cast', [ctx.emit('Floor', [f])], { DstT: attrType('int32') });
    }
  } else throw new ConversionError(`Resize ${n.name}: needs sizes or constant scales`);
  const y = ctx.emit(tfOp, [ctx.asNhwc(v), sizeRef], {
    align_corners: attrB(align),
    half_pixel_centers: attrB(half),
    T: attrType('float32'),
  });
  return dyn(y, 'float32', 4, true);
}

export const RESIZE_OPS = { Resize: resize, Upsample: resize };
