/**
 * The operator table: ONNX op type → its handler. An op missing here is unsupported; the converter
 * names it before converting anything. To support a new op, add a handler to its family's file.
 */
import type { OpHandler } from '../context';
import { CONV_OPS } from './conv';
import { ELEMENTWISE_OPS } from './elementwise';
import { LINEAR_OPS } from './linear';
import { NORM_OPS } from './norm';
import { POOL_OPS } from './pool';
import { REDUCE_OPS } from './reduce';
import { RESIZE_OPS } from './resize';
import { SHAPE_OPS } from './shape';
import { SLICE_OPS } from './slice';

export const OPS: Readonly<Record<string, OpHandler>> = {
  ...CONV_OPS,
  ...POOL_OPS,
  ...RESIZE_OPS,
  ...NORM_OPS,
  ...ELEMENTWISE_OPS,
  ...LINEAR_OPS,
  ...SHAPE_OPS,
  ...SLICE_OPS,
  ...REDUCE_OPS,
};

/** the handler for an ONNX op type (own keys only: 'constructor' is not an op) */
export const handlerFor = (opType: string): OpHandler | undefined => (Object.hasOwn(OPS, opType) ? OPS[opType] : undefined);
