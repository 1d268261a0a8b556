/**
 * A minimal ONNX (protobuf) writer for test models whose outputs are known in closed form.
 * Field numbers follow onnx/onnx.proto; only what the tests need.
 */

type Bytes = number[];

function varint(n: number | bigint): Bytes {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: Bytes = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return out;
}
const key = (field: number, wire: number) => varint((field << 3) | wire);
const vint = (field: number, n: number | bigint): Bytes => [...key(field, 0), ...varint(n)];
const bytes = (field: number, b: Bytes | Uint8Array): Bytes => [...key(field, 2), ...varint(b.length), ...b];
const str = (field: number, s: string): Bytes => bytes(field, [...Buffer.from(s, 'utf8')]);
const f32 = (field: number, x: number): Bytes => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(x);
  return [...key(field, 5), ...b];
};

export const DT = { FLOAT: 1, INT32: 6, INT64: 7 } as const;
export type Dim = number | string;

export function valueInfo(name: string, elemType: number, dims: Dim[]): Bytes {
  const shape = dims.flatMap((d) => bytes(1, typeof d === 'number' ? vint(1, d) : str(2, d)));
  const tensorType = [...vint(1, elemType), ...bytes(2, shape)];
  return [...str(1, name), ...bytes(2, bytes(1, tensorType))];
}

export function tensor(name: string, dims: number[], data: Float32Array | BigInt64Array): Bytes {
  const type = data instanceof Float32Array ? DT.FLOAT : DT.INT64;
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return [...dims.flatMap((d) => vint(1, d)), ...vint(2, type), ...str(8, name), ...bytes(9, raw)];
}

export type Attr = { name: string } & ({ i: number } | { f: number } | { ints: number[] });

function attribute(a: Attr): Bytes {
  if ('i' in a) return [...str(1, a.name), ...vint(3, a.i), ...vint(20, 2)];
  if ('f' in a) return [...str(1, a.name), ...f32(2, a.f), ...vint(20, 1)];
  return [...str(1, a.name), ...a.ints.flatMap((x) => vint(8, x)), ...vint(20, 7)];
}

export function node(op: string, inputs: string[], outputs: string[], attrs: Attr[] = []): Bytes {
  return [
    ...inputs.flatMap((s) => str(1, s)),
    ...outputs.flatMap((s) => str(2, s)),
    ...str(3, `${op}_${outputs[0]}`),
    ...str(4, op),
    ...attrs.flatMap((a) => bytes(5, attribute(a))),
  ];
}

export function model(g: { nodes: Bytes[]; initializers?: Bytes[]; inputs: Bytes[]; outputs: Bytes[] }, opset = 13): Uint8Array {
  const graph = [
    ...g.nodes.flatMap((n) => bytes(1, n)),
    ...str(2, 'test'),
    ...(g.initializers ?? []).flatMap((t) => bytes(5, t)),
    ...g.inputs.flatMap((v) => bytes(11, v)),
    ...g.outputs.flatMap((v) => bytes(12, v)),
  ];
  return Uint8Array.from([...vint(1, 7), ...str(2, 'certseg-test'), ...bytes(7, graph), ...bytes(8, [...str(1, ''), ...vint(2, opset)])]);
}

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
