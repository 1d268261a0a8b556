/**
 * A minimal ONNX (protobuf wire format) writer, and the field-level surgery engines/compose.ts needs to put
 * a model's graph inside a larger one: split a message into raw fields, rename the values of a graph, and
 * re-emit. Field numbers follow onnx/onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto,
 * TensorProto, ValueInfoProto). No protobuf dependency: repeated fields simply concatenate on the wire.
 */

export type Bytes = number[];

export const DT = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;
export type Dim = number | string;

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
/** a length-delimited field; large payloads (initializers) go through Buffer.concat in `concat` instead */
export const bytes = (field: number, b: Bytes | Uint8Array): Bytes => [...key(field, 2), ...varint(b.length), ...b];
const str = (field: number, s: string): Bytes => bytes(field, [...Buffer.from(s, 'utf8')]);
const f32 = (field: number, x: number): Bytes => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(x);
  return [...key(field, 5), ...b];
};

export function valueInfo(name: string, elemType: number, dims: Dim[] | null): Bytes {
  const shape = dims
    ? bytes(
        2,
        dims.flatMap((d) => bytes(1, typeof d === 'number' ? vint(1, d) : str(2, d))),
      )
    : [];
  const tensorType = [...vint(1, elemType), ...shape];
  return [...str(1, name), ...bytes(2, bytes(1, tensorType))];
}

export function tensor(name: string, dims: number[], data: Float32Array | Float64Array | BigInt64Array): Bytes {
  const type = data instanceof Float32Array ? DT.FLOAT : data instanceof Float64Array ? DT.DOUBLE : DT.INT64;
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

// --- reading and rewriting existing messages, field by field ---

/** One field as it lies on the wire: its number, wire type, payload (length-delimited: the content) and raw bytes. */
export interface RawField {
  field: number;
  wire: number;
  /** wire 2: the content; wire 0: the varint's value */
  value: Uint8Array | bigint;
  raw: Uint8Array;
}

function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('ONNX: truncated varint');
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [result, pos];
    shift += 7n;
  }
}

export function fields(buf: Uint8Array): RawField[] {
  const out: RawField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [k, p] = readVarint(buf, pos);
    pos = p;
    const field = Number(k >> 3n);
    const wire = Number(k & 7n);
    let value: Uint8Array | bigint;
    if (wire === 0) [value, pos] = readVarint(buf, pos);
    else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      value = buf.subarray(pos, pos + n);
      pos += n;
    } else if (wire === 2) {
      const [len, q] = readVarint(buf, pos);
      value = buf.subarray(q, q + Number(len));
      pos = q + Number(len);
    } else throw new Error(`ONNX: unsupported protobuf wire type ${wire}`);
    if (pos > buf.length) throw new Error('ONNX: truncated field');
    out.push({ field, wire, value, raw: buf.subarray(start, pos) });
  }
  return out;
}

const utf8 = new TextDecoder();
export const text = (f: RawField): string => utf8.decode(f.value as Uint8Array);

/** A length-delimited field around already-encoded content (kept as chunks: initializers can be megabytes). */
export function wrap(field: number, content: Uint8Array[]): Uint8Array[] {
  const len = content.reduce((s, c) => s + c.length, 0);
  return [Uint8Array.from([...key(field, 2), ...varint(len)]), ...content];
}

/** The model's IR version, default-domain opset, graph, and its opset_import fields as they are (ModelProto 1, 8, 7). */
export function modelHeader(modelBytes: Uint8Array): { irVersion: number; opset: number; graph: Uint8Array; opsetImports: Uint8Array[] } {
  let irVersion = 0,
    opset = 0;
  let graph: Uint8Array | null = null;
  const opsetImports: Uint8Array[] = [];
  for (const f of fields(modelBytes)) {
    if (f.field === 1 && f.wire === 0) irVersion = Number(f.value);
    else if (f.field === 7 && f.wire === 2) graph = f.value as Uint8Array;
    else if (f.field === 25) throw new NotComposable('model-local functions');
    else if (f.field === 8 && f.wire === 2) {
      opsetImports.push(f.raw);
      let domain = '',
        version = 0;
      for (const o of fields(f.value as Uint8Array)) {
        if (o.field === 1) domain = text(o);
        else if (o.field === 2) version = Number(o.value);
      }
      if (domain === '' || domain === 'ai.onnx') opset = version;
    }
  }
  if (!graph) throw new Error('ONNX: no graph');
  return { irVersion, opset, graph, opsetImports };
}

/** Thrown for graphs the renaming cannot rewrite safely (subgraphs, sparse or external initializers). */
export class NotComposable extends Error {}

const rename = (prefix: string, s: string) => (s === '' ? '' : prefix + s); // '' = an absent optional input

/** A message with its string field(s) `names` prefixed; any other field is copied as it is. */
function renamed(msg: Uint8Array, names: number[], prefix: string, check?: (f: RawField) => void): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const f of fields(msg)) {
    check?.(f);
    if (f.wire === 2 && names.includes(f.field)) out.push(Uint8Array.from(str(f.field, rename(prefix, text(f)))));
    else out.push(f.raw);
  }
  return out;
}

function checkNodeField(f: RawField): void {
  if (f.field !== 5 || f.wire !== 2) return;
  // AttributeProto g (6) / graphs (11): a subgraph's outer-scope names would need renaming too
  for (const a of fields(f.value as Uint8Array)) if (a.field === 6 || a.field === 11) throw new NotComposable('subgraph attribute');
}
function checkTensorField(f: RawField): void {
  if (f.field === 13 || f.field === 14) throw new NotComposable('external initializer data');
}

export interface RenamedGraph {
  /** GraphProto fields (nodes, initializers, value_info) with every value name prefixed; inputs and outputs dropped */
  body: Uint8Array[];
  /** the graph's inputs (not initializers) and outputs as renamed ValueInfoProto fields, by original name */
  inputs: Map<string, Uint8Array[]>;
  outputs: Map<string, Uint8Array[]>;
}

/**
 * Every value (node inputs/outputs, initializers, value_info) and node name of `graph` prefixed, so two models
 * can share one graph. Inputs and outputs come back apart: the composition decides which stay.
 */
export function renameGraph(graph: Uint8Array, prefix: string): RenamedGraph {
  const body: Uint8Array[] = [];
  const inputs = new Map<string, Uint8Array[]>();
  const outputs = new Map<string, Uint8Array[]>();
  const initNames = new Set<string>();
  const listedInputs: [string, Uint8Array[]][] = [];
  for (const f of fields(graph)) {
    if (f.wire !== 2) continue;
    const v = f.value as Uint8Array;
    switch (f.field) {
      case 1: // node: input, output, name
        body.push(...wrap(1, renamed(v, [1, 2, 3], prefix, checkNodeField)));
        break;
      case 5: {
        // initializer: name is field 8
        const t = renamed(v, [8], prefix, checkTensorField);
        for (const g of fields(v)) if (g.field === 8) initNames.add(text(g));
        body.push(...wrap(5, t));
        break;
      }
      case 15:
        throw new NotComposable('sparse initializer');
      case 13: // value_info
        body.push(...wrap(13, renamed(v, [1], prefix)));
        break;
      case 11:
      case 12: {
        let name = '';
        for (const g of fields(v)) if (g.field === 1) name = text(g);
        const vi = wrap(f.field, renamed(v, [1], prefix));
        if (f.field === 11) listedInputs.push([name, vi]);
        else outputs.set(name, vi);
        break;
      }
      default:
        break; // name (2), doc_string (10), quantization annotations: not needed in the composed graph
    }
  }
  // older exporters list initializers among the inputs: those are not inputs of the composed graph
  for (const [name, vi] of listedInputs) if (!initNames.has(name)) inputs.set(name, vi);
  return { body, inputs, outputs };
}

/** A ModelProto from graph parts, with the source model's IR version and opset imports. */
export function composedModel(irVersion: number, opsetImports: Uint8Array[], graphParts: Uint8Array[]): Uint8Array {
  const head = Uint8Array.from([...vint(1, irVersion), ...str(2, 'certseg-compose')]);
  return Buffer.concat([head, ...wrap(7, [...graphParts, Uint8Array.from(str(2, 'certseg'))]), ...opsetImports]);
}

/** Encoded bytes as one graph field chunk (nodes, initializers, inputs, outputs built with the writer above). */
export const part = (field: number, b: Bytes): Uint8Array => Uint8Array.from(bytes(field, b));
