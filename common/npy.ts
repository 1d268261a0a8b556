/**
 * NumPy .npy strict decoding (format 1.0-3.0), pure (no I/O, no Node Buffer): the worker reads stored arrays
 * with it (server/src/image/npy.ts, which also writes them) and the extension reads results back with it
 * (stored results are untrusted input: dtype, shape and length are checked before any array is made).
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */

export type NpyArray = Uint8Array | Uint16Array | Float32Array | Int32Array;
export type NpyDtype = '|u1' | '<u2' | '<f4' | '<i4';

/** \x93NUMPY */
export const NPY_MAGIC = Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

export interface NpyContents {
  data: NpyArray;
  shape: number[];
  dtype: NpyDtype;
}

/** A malformed or unsupported .npy file; the message reads `cannot read NAME: why`. */
export class NpyFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NpyFormatError';
  }
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** Parse .npy bytes; `name` is used in error messages. Throws {@link NpyFormatError}. */
export function decodeNpy(buf: Uint8Array, name = '.npy data'): NpyContents {
  const bad = (why: string) => new NpyFormatError(`cannot read ${name}: ${why}`);
  if (buf.length < 10 || !NPY_MAGIC.every((b, i) => buf[i] === b)) throw bad('not a NumPy .npy file (bad magic)');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const major = buf[6];
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw bad('truncated header');
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw bad(`unsupported .npy version ${major}.${buf[7]}`);
  }
  if (start + headerLen > buf.length) throw bad('truncated header');
  const headerBytes = buf.subarray(start, start + headerLen);
  const header = major === 3 ? new TextDecoder('utf-8').decode(headerBytes) : latin1(headerBytes);
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
  if (buf.length - dataStart < count * size)
    throw bad(`truncated data (${buf.length - dataStart} bytes for ${count} values of ${size} bytes)`);
  // copy into a fresh, aligned buffer
  const bytes = new Uint8Array(count * size);
  bytes.set(buf.subarray(dataStart, dataStart + count * size));
  const ab = bytes.buffer;
  const data: NpyArray =
    norm === '|u1' ? bytes : norm === '<u2' ? new Uint16Array(ab) : norm === '<f4' ? new Float32Array(ab) : new Int32Array(ab);
  return { data, shape, dtype: norm as NpyDtype };
}
