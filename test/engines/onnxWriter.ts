/**
 * Test models whose outputs are known in closed form, written with the writer of server/src/engines/onnxProto.ts.
 */

import { DT, model, node, tensor, valueInfo, type Dim } from '../../server/src/engines/onnxProto';

export { DT, model, node, tensor, valueInfo, type Attr, type Dim } from '../../server/src/engines/onnxProto';

/** ε̂ = c·x_t + d·t (broadcast over pixels), optionally followed by x_t as 3 "variance" channels. */
export function epsModel(opts: {
  c: number;
  d: number;
  tType?: number;
  tScalar?: boolean;
  learnedVariance?: boolean;
  size?: [Dim, Dim];
  layout?: 'NCHW' | 'NHWC';
}): Uint8Array {
  const [H, W] = opts.size ?? ['H', 'W'];
  const nhwc = opts.layout === 'NHWC';
  const xDims: Dim[] = nhwc ? ['N', H, W, 3] : ['N', 3, H, W];
  const nodes = [
    node('Cast', ['t'], ['tf'], [{ name: 'to', i: DT.FLOAT }]),
    node('Reshape', ['tf', 'shape'], ['tr']),
    node('Mul', ['x', 'c'], ['cx']),
    node('Mul', ['tr', 'd'], ['dt']),
    node('Add', ['cx', 'dt'], [opts.learnedVariance ? 'eps' : 'out']),
  ];
  if (opts.learnedVariance) nodes.push(node('Concat', ['eps', 'x'], ['out'], [{ name: 'axis', i: nhwc ? 3 : 1 }]));
  const outDims: Dim[] = opts.learnedVariance ? (nhwc ? ['N', H, W, 6] : ['N', 6, H, W]) : xDims;
  return model({
    nodes,
    initializers: [
      tensor('shape', [4], BigInt64Array.from([-1n, 1n, 1n, 1n])),
      tensor('c', [], Float32Array.of(opts.c)),
      tensor('d', [], Float32Array.of(opts.d)),
    ],
    inputs: [valueInfo('x', DT.FLOAT, xDims), valueInfo('t', opts.tType ?? DT.INT64, opts.tScalar ? [] : ['N'])],
    outputs: [valueInfo('out', DT.FLOAT, outDims)],
  });
}

/** y = k·x: a "direct" denoiser in whatever range the card says. */
export function scaleModel(k: number): Uint8Array {
  return model({
    nodes: [node('Mul', ['x', 'k'], ['y'])],
    initializers: [tensor('k', [], Float32Array.of(k))],
    inputs: [valueInfo('x', DT.FLOAT, ['N', 3, 'H', 'W'])],
    outputs: [valueInfo('y', DT.FLOAT, ['N', 3, 'H', 'W'])],
  });
}

/** 3×3 'same' convolution, NCHW, weights OIHW [classes,3,3,3]: a real conv segmenter with any spatial size. */
export function convModel(weightOIHW: Float32Array, bias: Float32Array, classes: number): Uint8Array {
  return model({
    nodes: [
      node(
        'Conv',
        ['x', 'w', 'b'],
        ['logits'],
        [
          { name: 'pads', ints: [1, 1, 1, 1] },
          { name: 'kernel_shape', ints: [3, 3] },
        ],
      ),
    ],
    initializers: [tensor('w', [classes, 3, 3, 3], weightOIHW), tensor('b', [classes], bias)],
    inputs: [valueInfo('x', DT.FLOAT, ['N', 3, 'H', 'W'])],
    outputs: [valueInfo('logits', DT.FLOAT, ['N', classes, 'H', 'W'])],
  });
}
