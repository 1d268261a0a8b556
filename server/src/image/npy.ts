/**
 * NumPy .npy encoding (format 1.0), with no I/O: the worker writes results with it. Decoding is
 * common/npy.ts (the extension reads results back with the same decoder); here its errors become
 * CertsegErrors ('input').
 */
import { CertsegError } from '../core/errors';
import {
  NPY_MAGIC,
  NpyFormatError,
  decodeNpy as decodeNpyBytes,
  type NpyArray,
  type NpyContents,
  type NpyDtype,
} from '../../../common/npy';

export type { NpyArray, NpyContents, NpyDtype } from '../../../common/npy';

// NumPy .npy (format version 1.0): https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html

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
  out.set(NPY_MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, preamble, 'latin1');
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, total);
  return out;
}

/** Parse .npy bytes (common/npy.ts); `name` is used in error messages. Throws CertsegError 'input'. */
export function decodeNpy(buf: Uint8Array, name = '.npy data'): NpyContents {
  try {
    return decodeNpyBytes(buf, name);
  } catch (e) {
    if (e instanceof NpyFormatError) throw new CertsegError(e.message, 'input');
    throw e;
  }
}
