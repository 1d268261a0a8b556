/**
 * Writing results: atomic file writes, RGBA PNGs (via sharp) and NumPy .npy arrays.
 *
 * Every writer goes through writeFileAtomic: the bytes land in a temporary file in the same folder,
 * are fsync'ed, and the temporary file is renamed over the target. A crash therefore leaves either the
 * old file or the complete new one, never a half-written result.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { CertsegError } from '../core/errors';
import { decodeNpy, encodeNpy, type NpyArray, type NpyContents } from './npy';

/**
 * Write `data` to `file` atomically (temp file in the same folder + fsync + rename). `mode` is the new
 * file's permission bits (before the umask), e.g. 0o755 for a script.
 */
export async function writeFileAtomic(file: string, data: Buffer | Uint8Array | string, mode = 0o666): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, 'wx', mode);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, file);
  } catch (e) {
    if (handle) await handle.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    throw new CertsegError(`cannot write ${file}: ${code ?? (e as Error).message}`, 'input');
  }
}

/** Encode an RGBA image (4·width·height bytes, row-major) as PNG and write it atomically. */
export async function writePngRGBA(file: string, rgba: Uint8Array, width: number, height: number): Promise<void> {
  const png = await encodePngRGBA(rgba, width, height);
  await writeFileAtomic(file, png);
}

/** Encode an RGBA image as PNG bytes (for callers that embed or send the image rather than write it). */
export async function encodePngRGBA(rgba: Uint8Array, width: number, height: number): Promise<Buffer> {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new CertsegError(`cannot encode PNG: bad size ${width}×${height}`, 'input');
  }
  if (rgba.length !== width * height * 4) {
    throw new CertsegError(`cannot encode PNG: ${rgba.length} bytes is not 4×${width}×${height}`, 'input');
  }
  const buf = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  return sharp(buf, { raw: { width, height, channels: 4 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}

// NumPy .npy: the format itself is in npy.ts (pure, shared with the extension, which reads results back)
export { decodeNpy, encodeNpy, type NpyArray, type NpyContents, type NpyDtype } from './npy';

/** Write a NumPy .npy v1.0 file atomically. */
export async function writeNpy(file: string, data: NpyArray, shape: number[]): Promise<void> {
  await writeFileAtomic(file, encodeNpy(data, shape));
}

/** Read a .npy file written by writeNpy or NumPy (uint8, <u2, <f4, <i4; C order). */
export async function readNpy(file: string): Promise<NpyContents> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CertsegError(`cannot read ${path.basename(file)}: ${code === 'ENOENT' ? 'no such file' : (code ?? 'read failed')}`, 'input');
  }
  return decodeNpy(buf, path.basename(file));
}
