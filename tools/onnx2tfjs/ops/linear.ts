/** Gemm and MatMul: TF MatMul (+ AddV2) for 2-D operands, BatchMatMulV2 otherwise. */
import { attrB, attrFloat, attrInt, attrType } from '../attrs';
import { ConversionError, dyn, mkConst, type ConversionContext, type Val } from '../context';
import type { OnnxNode } from '../onnx';
import { transposeConst } from '../tensors';

/** Y = alpha·A'·B' + beta·C; a constant B is transposed and scaled at conversion time */
function gemm(ctx: ConversionContext, n: OnnxNode): Val {
  const a = ctx.get(n.inputs[0]);
  let bv = ctx.get(n.inputs[1]);
  const alpha = attrFloat(n, 'alpha', 1),
    beta = attrFloat(n, 'beta', 1);
  const transA = attrInt(n, 'transA', 0) === 1;
  let transB = attrInt(n, 'transB', 0) === 1;
  if (bv.konst) {
    let c = bv.konst;
    if (transB) {
      c = transposeConst(c, [1, 0]);
      transB = false;
    }
    if (alpha !== 1) c = { dims: c.dims, data: Float32Array.from(c.data, (q) => q * alpha) };
    bv = mkConst(c, 'float32');
  } else if (alpha !== 1) throw new ConversionError(`Gemm ${n.name}: alpha ≠ 1 with a non-constant B is not supported`);
  let y = ctx.emit('MatMul', [ctx.asPlain(a), ctx.ref(bv, 'weight')], {
    transpose_a: attrB(transA),
    transpose_b: attrB(transB),
    T: attrType('float32'),
  });
  const cv = n.opType === 'Gemm' ? ctx.optional(n, 2) : undefined;
  if (cv) {
    const cr =
      cv.konst && beta !== 1
        ? ctx.constNode({ dims: cv.konst.dims, data: Float32Array.from(cv.konst.data, (q) => q * beta) }, 'float32', 'bias')
        : ctx.ref(cv, 'bias');
    if (!cv.konst && beta !== 1) throw new ConversionError(`Gemm ${n.name}: beta ≠ 1 with a non-constant C is not supported`);
    y = ctx.emit('AddV2', [y, cr]);
  }
  return dyn(y, 'float32', 2);
}

/** 2-D MatMul is Gemm without C; higher ranks broadcast through BatchMatMulV2 */
function matMul(ctx: ConversionContext, n: OnnxNode): Val {
  const a = ctx.get(n.inputs[0]),
    b = ctx.get(n.inputs[1]);
  if (a.rank === 2 && b.rank === 2) return gemm(ctx, n);
  const y = ctx.emit('BatchMatMulV2', [ctx.asPlain(a), ctx.asPlain(b)], { adj_x: attrB(false), adj_y: attrB(false) });
  return dyn(y, 'float32', Math.max(a.rank, b.rank));
}

export const LINEAR_OPS = { Gemm: gemm, MatMul: matMul };
