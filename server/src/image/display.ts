/**
 * What the preview shows of a DICOM or NIfTI file (certseg/displayImage): the real intensities of one plane
 * and the windows worth offering. A browser cannot decode these formats, so the worker reads them with the
 * same ITK readers certification uses (medical.ts) and the webview applies a window for display only.
 */
import { open } from 'node:fs/promises';
import * as path from 'node:path';
import { CertsegError } from '../core/errors';
import { encodeArray, type DisplayImageResult, type SliceSpecWire } from '../../../protocol/messages';
import { medicalKind, percentileWindow, readMedical } from './medical';

async function head(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(132);
    const { bytesRead } = await fh.read(buf, 0, 132, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  const msg = String((e as Error)?.message ?? e)
    .split('\n')[0]
    .trim();
  return msg.length > 160 ? msg.slice(0, 157) + '...' : msg || 'decode failed';
}

/** One plane of a DICOM/NIfTI file for display; a volume without `slice` shows its middle z slice. */
export async function displayImage(file: string, slice: SliceSpecWire | null): Promise<DisplayImageResult> {
  const name = path.basename(file);
  let kind: 'dicom' | 'nifti' | null;
  try {
    kind = medicalKind(file, await head(file));
  } catch (e) {
    throw new CertsegError(`cannot read image ${name}: ${reason(e)}`, 'input');
  }
  if (!kind) throw new CertsegError(`cannot read image ${name}: not a DICOM or NIfTI file`, 'input');
  let px;
  try {
    px = await readMedical(file, kind, slice ?? 'middle');
  } catch (e) {
    throw new CertsegError(`cannot read image ${name}: ${reason(e)}`, 'input');
  }
  let min = Infinity;
  let max = -Infinity;
  for (const v of px.values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // percentile window of the plane, whatever the file says: a second preset, and the fallback certification uses
  const pct = px.window.source === 'percentile' ? { center: px.window.center, width: px.window.width } : percentileWindow(px.values);
  return {
    format: kind,
    width: px.width,
    height: px.height,
    channels: px.channels,
    values: encodeArray(Float32Array.from(px.values)) as DisplayImageResult['values'],
    window: { center: px.window.center, width: px.window.width, source: px.window.source },
    percentile: pct,
    range: { min, max },
    photometric: px.window.photometric,
    invert: px.window.photometric === 'MONOCHROME1',
    size: px.size,
    slice: px.window.slice,
  };
}
