/** Test helpers: temp dirs, tiny BMP writer (independent of the decoder under test), shared-data paths. */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export function tempDir(prefix = 'certseg-image-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Uncompressed BMP (BITMAPINFOHEADER, bottom-up). rgb: interleaved 3·w·h.
 * bits 24: BGR pixels; bits 8: grey palette (index i → (i,i,i)), pixel = R channel.
 */
export function encodeBmp(rgb: Uint8Array, width: number, height: number, bits: 24 | 8 = 24): Buffer {
  const bpp = bits / 8;
  const rowSize = Math.ceil((width * bpp) / 4) * 4;
  const paletteSize = bits === 8 ? 256 * 4 : 0;
  const offset = 14 + 40 + paletteSize;
  const buf = Buffer.alloc(offset + rowSize * height);
  buf.write('BM', 0, 'latin1');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(offset, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(width, 18);
  buf.writeInt32LE(height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(bits, 28);
  buf.writeUInt32LE(0, 30);
  buf.writeUInt32LE(rowSize * height, 34);
  buf.writeUInt32LE(bits === 8 ? 256 : 0, 46);
  if (bits === 8) for (let i = 0; i < 256; i++) buf.writeUInt32LE((i << 16) | (i << 8) | i, 54 + 4 * i);
  for (let y = 0; y < height; y++) {
    const row = offset + (height - 1 - y) * rowSize;
    for (let x = 0; x < width; x++) {
      const s = 3 * (y * width + x);
      if (bits === 24) {
        buf[row + 3 * x] = rgb[s + 2];
        buf[row + 3 * x + 1] = rgb[s + 1];
        buf[row + 3 * x + 2] = rgb[s];
      } else buf[row + x] = rgb[s];
    }
  }
  return buf;
}

export const SHARED = path.resolve(__dirname, '..', '..', '..', 'shared');
export const KVASIR = path.join(SHARED, 'datasets', 'kvasir-seg-256');
export const CVC = path.join(SHARED, 'datasets', 'cvc-clinicdb-256');
export const haveKvasir = existsSync(path.join(KVASIR, 'images'));
export const haveCvc = existsSync(path.join(CVC, 'images'));
export const SKIP_KVASIR = haveKvasir ? false : `../shared/datasets/kvasir-seg-256 not found at ${KVASIR}`;
export const SKIP_CVC = haveCvc ? false : `../shared/datasets/cvc-clinicdb-256 not found at ${CVC}`;
