/**
 * A minimal ONNX reader: decodes the protobuf wire format directly (no dependency), only the fields
 * the converter needs. Field numbers follow onnx/onnx.proto (ModelProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto, ValueInfoProto).
 */
import { bytesOf, int64, pushFloats, pushInts, Reader, str } from './protobuf';

export const ONNX_DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  /** float tensors as Float32Array, integer tensors as number[] (int64 values must fit in a double) */
  data: Float32Array | number[];
}

export type OnnxAttr =
  | { kind: 'int'; i: number }
  | { kind: 'float'; f: number }
  | { kind: 'string'; s: string }
  | { kind: 'ints'; ints: number[] }
  | { kind: 'floats'; floats: number[] }
  | { kind: 'tensor'; t: OnnxTensor }
  | { kind: 'other'; type: number };

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, OnnxAttr>;
}

export interface OnnxValueInfo {
  name: string;
  elemType: number;
  /** number for fixed dims, string for symbolic ones, null for unknown */
  shape: (number | string | null)[] | null;
}

export interface OnnxModel {
  opset: number;
  producer: string;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

function parseTensor(buf: Uint8Array): OnnxTensor {
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  let raw: Uint8Array | null = null;
  const floats: number[] = [];
  const ints: number[] = [];
  const doubles: number[] = [];
  for (const f of new Reader(buf).fields()) {
    switch (f.field) {
      case 1:
        pushInts(dims, f);
        break;
      case 2:
        dataType = Number(f.value);
        break;
      case 4:
        if (f.wire === 5) pushFloats(floats, f);
        else pushFloats(floats, f);
        break;
      case 5:
        pushInts(ints, f);
        break; // int32_data (also uint8/int8/bool)
      case 7:
        pushInts(ints, f);
        break; // int64_data
      case 8:
        name = str(f);
        break;
      case 9:
        raw = bytesOf(f);
        break;
      case 10: {
        const b = bytesOf(f);
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        for (let o = 0; o + 8 <= b.byteLength; o += 8) doubles.push(dv.getFloat64(o, true));
        break;
      }
      case 13:
        throw new Error(`tensor ${name || '?'}: external data is not supported`);
      default:
        break;
    }
  }
  const count = dims.reduce((a, b) => a * b, 1);
  let data: Float32Array | number[];
  if (dataType === ONNX_DT.FLOAT) {
    if (raw) data = new Float32Array(raw.slice().buffer, 0, count);
    else data = Float32Array.from(floats);
  } else if (dataType === ONNX_DT.DOUBLE) {
    if (raw) data = Float32Array.from(new Float64Array(raw.slice().buffer, 0, count));
    else data = Float32Array.from(doubles);
  } else if (dataType === ONNX_DT.INT64) {
    data = raw ? Array.from(new BigInt64Array(raw.slice().buffer, 0, count), (v) => Number(v)) : ints;
  } else if (dataType === ONNX_DT.INT32) {
    data = raw ? Array.from(new Int32Array(raw.slice().buffer, 0, count)) : ints;
  } else if (dataType === ONNX_DT.UINT8 || dataType === ONNX_DT.BOOL) {
    data = raw ? Array.from(raw.subarray(0, count)) : ints;
  } else if (dataType === ONNX_DT.INT8) {
    data = raw ? Array.from(new Int8Array(raw.slice().buffer, 0, count)) : ints;
  } else {
    throw new Error(`tensor ${name || '?'}: ONNX data type ${dataType} is not supported`);
  }
  if (data.length !== count) throw new Error(`tensor ${name || '?'}: ${data.length} values for shape [${dims.join(',')}]`);
  return { name, dims, dataType, data };
}

function parseAttr(buf: Uint8Array): [string, OnnxAttr] {
  let name = '';
  let type = 0;
  let i: number | undefined;
  let fl: number | undefined;
  let s: string | undefined;
  let t: OnnxTensor | undefined;
  const ints: number[] = [];
  const floats: number[] = [];
  for (const f of new Reader(buf).fields()) {
    switch (f.field) {
      case 1:
        name = str(f);
        break;
      case 2:
        fl = new DataView(bytesOf(f).buffer, bytesOf(f).byteOffset, 4).getFloat32(0, true);
        break;
      case 3:
        i = int64(f.value as bigint);
        break;
      case 4:
        s = str(f);
        break;
      case 5:
        t = parseTensor(bytesOf(f));
        break;
      case 7:
        pushFloats(floats, f);
        break;
      case 8:
        pushInts(ints, f);
        break;
      case 20:
        type = Number(f.value);
        break;
      default:
        break;
    }
  }
  // AttributeProto.AttributeType: FLOAT 1, INT 2, STRING 3, TENSOR 4, GRAPH 5, FLOATS 6, INTS 7
  switch (type) {
    case 1:
      return [name, { kind: 'float', f: fl ?? 0 }];
    case 2:
      return [name, { kind: 'int', i: i ?? 0 }];
    case 3:
      return [name, { kind: 'string', s: s ?? '' }];
    case 4:
      return [name, { kind: 'tensor', t: t! }];
    case 6:
      return [name, { kind: 'floats', floats }];
    case 7:
      return [name, { kind: 'ints', ints }];
    default:
      return [name, { kind: 'other', type }];
  }
}

function parseNode(buf: Uint8Array): OnnxNode {
  const n: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attrs: new Map() };
  for (const f of new Reader(buf).fields()) {
    switch (f.field) {
      case 1:
        n.inputs.push(str(f));
        break;
      case 2:
        n.outputs.push(str(f));
        break;
      case 3:
        n.name = str(f);
        break;
      case 4:
        n.opType = str(f);
        break;
      case 5: {
        const [k, v] = parseAttr(bytesOf(f));
        n.attrs.set(k, v);
        break;
      }
      case 7:
        n.domain = str(f);
        break;
      default:
        break;
    }
  }
  return n;
}

function parseValueInfo(buf: Uint8Array): OnnxValueInfo {
  const vi: OnnxValueInfo = { name: '', elemType: 0, shape: null };
  for (const f of new Reader(buf).fields()) {
    if (f.field === 1) vi.name = str(f);
    else if (f.field === 2) {
      for (const tf of new Reader(bytesOf(f)).fields()) {
        if (tf.field !== 1) continue; // tensor_type
        for (const tt of new Reader(bytesOf(tf)).fields()) {
          if (tt.field === 1) vi.elemType = Number(tt.value);
          else if (tt.field === 2) {
            vi.shape = [];
            for (const d of new Reader(bytesOf(tt)).fields()) {
              if (d.field !== 1) continue;
              let dim: number | string | null = null;
              for (const df of new Reader(bytesOf(d)).fields()) {
                if (df.field === 1) dim = int64(df.value as bigint);
                else if (df.field === 2) dim = str(df);
              }
              vi.shape.push(dim);
            }
          }
        }
      }
    }
  }
  return vi;
}

export function readOnnx(input: Uint8Array): OnnxModel {
  // a plain Uint8Array: Node's Buffer.slice() shares memory instead of copying
  const buf = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const m: OnnxModel = { opset: 0, producer: '', nodes: [], initializers: new Map(), inputs: [], outputs: [] };
  let graph: Uint8Array | null = null;
  for (const f of new Reader(buf).fields()) {
    if (f.field === 2) m.producer = str(f);
    else if (f.field === 7) graph = bytesOf(f);
    else if (f.field === 8) {
      let domain = '';
      let version = 0;
      for (const o of new Reader(bytesOf(f)).fields()) {
        if (o.field === 1) domain = str(o);
        else if (o.field === 2) version = int64(o.value as bigint);
      }
      if (domain === '' || domain === 'ai.onnx') m.opset = version;
    }
  }
  if (!graph) throw new Error('not an ONNX model (no graph)');
  const inputs: OnnxValueInfo[] = [];
  for (const f of new Reader(graph).fields()) {
    switch (f.field) {
      case 1:
        m.nodes.push(parseNode(bytesOf(f)));
        break;
      case 5: {
        const t = parseTensor(bytesOf(f));
        m.initializers.set(t.name, t);
        break;
      }
      case 11:
        inputs.push(parseValueInfo(bytesOf(f)));
        break;
      case 12:
        m.outputs.push(parseValueInfo(bytesOf(f)));
        break;
      default:
        break;
    }
  }
  // older exporters list initializers among the inputs too
  m.inputs = inputs.filter((i) => !m.initializers.has(i.name));
  return m;
}
