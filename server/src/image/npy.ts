/**
 * NumPy .npy encoding and strict decoding (format 1.0 written; 1.0-3.0 read), with no I/O: the worker
 * writes results with it and the extension reads them back with it (stored results are untrusted input:
 * dtype, shape and length are checked before any array is made).
 */
import { CertsegError } from '../core/errors';

// NumPy .npy (format version 1.0; reading also accepts 2.0 and 3.0)
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html

export type NpyArray = Uint8Array | Uint16Array | Float32Array | Int32Array;
export type NpyDtype = '|u1' | '<u2' | '<f4' | '<i4';

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

function dtypeOf(data: NpyArray): NpyDtype {
  if (data instanceof Uint8Array) return '|u1';
  if (data instanceof Uint16Array) return '<u2';
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Int32Array) return '<i4';
  throw new CertsegError('cannot write .npy: unsupported array type', 'input');
}

/** The complete .npy v1.0 file bytes for `data` with `shape` (C order). Little-endian host assumed (as Node on x86/arm). */
export function encodeNpy(data: NpyArray, shape: number[]): Buffer {
  const descr = dtypeOf(data);
  const count = shape.reduce((a, b) => a * b, 1);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0) || count !== data.length) {
    throw new CertsegError(`cannot write .npy: shape [${shape.join(', ')}] does not hold ${data.length} values`, 'input');
  }
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // magic(6) + version(2) + header length(2) + header, padded with spaces and ending in \n, total % 64 == 0
  const preamble = 10;
  const total = Math.ceil((preamble + header.length + 1) / 64) * 64;
  if (total - preamble > 0xffff) throw new CertsegError('cannot write .npy: shape too long', 'input');
  header = header + ' '.repeat(total - preamble - header.length - 1) + '\n';
  const out = Buffer.alloc(total + data.byteLength);
  NPY_MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, preamble, 'latin1');
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, total);
  return out;
}

export interface NpyContents {
  data: NpyArray;
  shape: number[];
  dtype: NpyDtype;
}

/** Parse .npy bytes; `name` is used in error messages. */
export function decodeNpy(buf: Buffer, name = '.npy data'): NpyContents {
  const bad = (why: string) => new CertsegError(`cannot read ${name}: ${why}`, 'input');
  if (buf.length < 10 || !buf.subarray(0, 6).equals(NPY_MAGIC)) throw bad('not a NumPy .npy file (bad magic)');
  const major = buf[6];
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw bad('truncated header');
    headerLen = buf.readUInt32LE(8);
    start = 12;
  } else {
    throw bad(`unsupported .npy version ${major}.${buf[7]}`);
  }
  if (start + headerLen > buf.length) throw bad('truncated header');
  const header = buf.subarray(start, start + headerLen).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeStr = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeStr === undefined) throw bad('malformed header');
  if (fortran === 'True') throw bad('Fortran-order arrays are not supported (save with np.ascontiguousarray)');
  const shape = shapeStr
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number(s));
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`bad shape (${shapeStr})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  const norm = descr === '<u1' || descr === 'u1' ? '|u1' : descr;
  const sizes: Record<string, number> = { '|u1': 1, '<u2': 2, '<f4': 4, '<i4': 4 };
  const size = sizes[norm];
  if (size === undefined) throw bad(`unsupported dtype '${descr}' (expected uint8, little-endian uint16, float32 or int32)`);
  if (buf.length - dataStart < count * size) throw bad(`truncated data (${buf.length - dataStart} bytes for ${count} values of ${size} bytes)`);
  // copy into a fresh, aligned buffer
  const bytes = new Uint8Array(count * size);
  bytes.set(buf.subarray(dataStart, dataStart + count * size));
  const ab = bytes.buffer;
  const data: NpyArray =
    norm === '|u1' ? bytes : norm === '<u2' ? new Uint16Array(ab) : norm === '<f4' ? new Float32Array(ab) : new Int32Array(ab);
  return { data, shape, dtype: norm as NpyDtype };
}

