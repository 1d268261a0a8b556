/**
 * Medical image formats: DICOM (every transfer syntax GDCM decodes: uncompressed, JPEG Lossless, JPEG 2000,
 * JPEG-LS, RLE; MONOCHROME1/2 and RGB; 8–16 bit) and NIfTI (.nii, .nii.gz; a 2-D image, or one slice of a
 * volume). Decoding is ITK's (@itk-wasm/image-io: GDCM and NIfTI readers compiled to WebAssembly), loaded
 * only when such a file is read.
 *
 * Intensities become the model's input in [0,1] through a window (the part of the real values the model
 * sees): the DICOM's Window Center/Width when present (after Rescale Slope/Intercept, which the reader
 * applies), else the 0.5–99.5 percentile window. The window maps [center − width/2, center + width/2]
 * linearly onto [0,1] and clips; MONOCHROME1 is inverted so that bright is dense, as in MONOCHROME2.
 * σ is defined on that [0,1] scale. The window used goes into the report.
 */
import * as path from 'node:path';
import { promises as fs } from 'node:fs';

export { MEDICAL_EXTENSIONS } from '../../../common/imageNaming';

import type { IntensityWindow, SliceAxis, SliceSpec } from '../../../protocol/results';

export type { IntensityWindow, SliceAxis, SliceSpec } from '../../../protocol/results';

export interface MedicalPixels {
  /** interleaved, channels per pixel, real-valued (after rescale) */
  values: Float64Array;
  width: number;
  height: number;
  channels: 1 | 3;
  window: IntensityWindow;
  /** the file's voxel grid [x, y, z] (z = 1 for a 2-D image) */
  size: [number, number, number];
}

/** .dcm, .nii, .nii.gz by name; extensionless files by the DICOM preamble ("DICM" at byte 128). */
export function medicalKind(file: string, head?: Buffer): 'dicom' | 'nifti' | null {
  const lower = file.toLowerCase();
  if (lower.endsWith('.nii') || lower.endsWith('.nii.gz')) return 'nifti';
  if (lower.endsWith('.dcm') || lower.endsWith('.dicom')) return 'dicom';
  if (head && head.length >= 132 && head.toString('latin1', 128, 132) === 'DICM') return 'dicom';
  return null;
}

/** Parse `--slice z:40` (axis x, y or z; index from 0). */
export function parseSlice(spec: string): SliceSpec {
  const m = /^([xyz]):(\d+)$/i.exec(spec.trim());
  if (!m) throw new Error(`--slice needs AXIS:INDEX with AXIS x, y or z (e.g. z:40), got "${spec}"`);
  return { axis: m[1].toLowerCase() as SliceAxis, index: Number(m[2]) };
}

type ItkImage = {
  size: number[];
  data: ArrayLike<number> | null;
  imageType: { components: number; pixelType: string };
  metadata: Map<string, unknown> | Record<string, unknown>;
};

function metaValue(meta: ItkImage['metadata'], tag: string): string | null {
  const v = meta instanceof Map ? meta.get(tag) : (meta as Record<string, unknown>)[tag];
  return v === undefined || v === null ? null : String(v).trim();
}

/** First number of a DICOM multi-valued decimal string ("40\\400" → 40). */
function firstNumber(s: string | null): number | null {
  if (s === null) return null;
  const x = Number(s.split('\\')[0]);
  return Number.isFinite(x) ? x : null;
}

async function itkRead(kind: 'dicom' | 'nifti', file: string): Promise<ItkImage> {
  const io = await import('@itk-wasm/image-io');
  let r;
  try {
    r = kind === 'dicom' ? await io.gdcmReadImageNode(file) : await io.niftiReadImageNode(file);
  } catch {
    // the WebAssembly readers throw bare exception pointers: say what it means instead
    throw new Error(
      kind === 'dicom'
        ? 'GDCM cannot decode it (an unsupported transfer syntax, or corrupt pixel data)'
        : 'corrupt or unsupported NIfTI file',
    );
  }
  if (!r.couldRead || !r.image?.data)
    throw new Error(
      kind === 'dicom' ? 'not a readable DICOM image (no pixel data, or an unsupported transfer syntax)' : 'not a readable NIfTI image',
    );
  return r.image as unknown as ItkImage;
}

/** The 0.5 and 99.5 percentiles, by sorting a copy (images are at most a few megapixels). */
export function percentileWindow(v: Float64Array): { center: number; width: number } {
  const s = Float64Array.from(v).sort();
  const lo = s[Math.floor(0.005 * (s.length - 1))];
  const hi = s[Math.ceil(0.995 * (s.length - 1))];
  const width = hi > lo ? hi - lo : 1;
  return { center: lo + width / 2, width };
}

/** Take one 2-D plane out of an x-fastest volume of size [sx, sy, sz]. */
function extractSlice(
  data: ArrayLike<number>,
  size: number[],
  comps: number,
  slice: SliceSpec | null,
): { values: Float64Array; width: number; height: number } {
  const [sx, sy, sz] = [size[0], size[1] ?? 1, size[2] ?? 1];
  const depth = { x: sx, y: sy, z: sz };
  if (!slice) {
    if (sz > 1)
      throw new Error(`it is a volume of ${sx}×${sy}×${sz} voxels: choose a slice with --slice AXIS:INDEX (e.g. z:${Math.floor(sz / 2)})`);
    slice = { axis: 'z', index: 0 };
  }
  if (slice.index >= depth[slice.axis])
    throw new Error(
      `slice ${slice.axis}:${slice.index} is out of range (axis ${slice.axis} has ${depth[slice.axis]} slices, 0–${depth[slice.axis] - 1})`,
    );
  // plane axes: z-slice → (x columns, y rows); y-slice → (x, z); x-slice → (y, z)
  const [width, height] = slice.axis === 'z' ? [sx, sy] : slice.axis === 'y' ? [sx, sz] : [sy, sz];
  const values = new Float64Array(width * height * comps);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const [x, y, z] = slice.axis === 'z' ? [c, r, slice.index] : slice.axis === 'y' ? [c, slice.index, r] : [slice.index, c, r];
      const src = ((z * sy + y) * sx + x) * comps;
      const dst = (r * width + c) * comps;
      for (let k = 0; k < comps; k++) values[dst + k] = data[src + k];
    }
  }
  return { values, width, height };
}

/**
 * GDCM turns MONOCHROME1 into MONOCHROME2 by inverting the stored values (v → 2^bits − 1 − v) before the
 * rescale. The file's window refers to the original values, so they are recovered here (real = K − real',
 * K = slope·(2^bits − 1) + 2·intercept) and the display inversion is applied after the window instead.
 */
function undoGdcmInversion(values: Float64Array, meta: ItkImage['metadata']): void {
  if (metaValue(meta, '0028|0103') === '1') throw new Error('MONOCHROME1 with signed pixel values is not supported');
  const bits = firstNumber(metaValue(meta, '0028|0101')) ?? 16;
  const slope = firstNumber(metaValue(meta, '0028|1053')) ?? 1;
  const intercept = firstNumber(metaValue(meta, '0028|1052')) ?? 0;
  const K = slope * (2 ** bits - 1) + 2 * intercept;
  for (let i = 0; i < values.length; i++) values[i] = K - values[i];
}

/**
 * Read a DICOM or NIfTI file's pixels and the window that maps them to the model's [0,1] input.
 * `slice: 'middle'` (the preview's first look at a volume) takes the middle z slice instead of refusing.
 */
export async function readMedical(file: string, kind: 'dicom' | 'nifti', slice: SliceSpec | null | 'middle'): Promise<MedicalPixels> {
  await fs.access(file);
  const img = await itkRead(kind, file);
  if (slice === 'middle') slice = (img.size[2] ?? 1) > 1 ? { axis: 'z', index: Math.floor(img.size[2] / 2) } : null;
  const comps = img.imageType.components;
  if (comps !== 1 && comps !== 3) throw new Error(`${comps} components per pixel are not supported (grey or RGB only)`);
  if (kind === 'dicom' && slice && (img.size[2] ?? 1) <= 1 && slice.index > 0)
    throw new Error(`slice ${slice.axis}:${slice.index} is out of range (a single-frame DICOM has one slice)`);
  const plane = extractSlice(img.data!, img.size, comps, kind === 'dicom' && (img.size[2] ?? 1) <= 1 ? null : slice);
  const photometric = kind === 'dicom' ? metaValue(img.metadata, '0028|0004') : null;
  if (photometric === 'MONOCHROME1') undoGdcmInversion(plane.values, img.metadata);
  const center = kind === 'dicom' ? firstNumber(metaValue(img.metadata, '0028|1050')) : null;
  const width = kind === 'dicom' ? firstNumber(metaValue(img.metadata, '0028|1051')) : null;
  const fromFile = center !== null && width !== null && width > 0;
  const w = fromFile ? { center: center!, width: width! } : percentileWindow(plane.values);
  return {
    ...plane,
    channels: comps as 1 | 3,
    size: [img.size[0], img.size[1] ?? 1, img.size[2] ?? 1],
    window: { format: kind, source: fromFile ? 'dicom' : 'percentile', ...w, photometric, slice: (img.size[2] ?? 1) > 1 ? slice : null },
  };
}

/**
 * A DICOM or NIfTI label map (a ground-truth mask): integer labels of one plane, no window. A 2-D mask goes with
 * any plane of a volume image (the slice is for volumes); a volume mask gives the same slice as the image.
 */
export async function readMedicalLabels(
  file: string,
  kind: 'dicom' | 'nifti',
  slice: SliceSpec | null,
): Promise<{ labels: Uint16Array; width: number; height: number; maxLabel: number }> {
  await fs.access(file);
  const img = await itkRead(kind, file);
  if (img.imageType.components !== 1) throw new Error(`a mask holds one label per pixel, not ${img.imageType.components} components`);
  const volume = (img.size[2] ?? 1) > 1;
  const plane = extractSlice(img.data!, img.size, 1, volume ? slice : null);
  if (kind === 'dicom' && metaValue(img.metadata, '0028|0004') === 'MONOCHROME1') undoGdcmInversion(plane.values, img.metadata);
  const labels = new Uint16Array(plane.values.length);
  let maxLabel = 0;
  for (let i = 0; i < labels.length; i++) {
    const v = plane.values[i];
    if (!Number.isInteger(v) || v < 0 || v > 65535) throw new Error(`a mask holds integer labels 0–65535; found ${v}`);
    labels[i] = v;
    if (v > maxLabel) maxLabel = v;
  }
  return { labels, width: plane.width, height: plane.height, maxLabel };
}

/** Apply the window: planar float RGB in [0,1] (grey repeated to 3 channels), MONOCHROME1 inverted. */
export function windowToPlanarRgb(p: MedicalPixels): Float32Array {
  const n = p.width * p.height;
  const out = new Float32Array(3 * n);
  const lo = p.window.center - p.window.width / 2;
  const scale = 1 / p.window.width;
  const invert = p.window.photometric === 'MONOCHROME1';
  const map = (v: number) => {
    const t = Math.min(1, Math.max(0, (v - lo) * scale));
    return invert ? 1 - t : t;
  };
  for (let i = 0; i < n; i++) {
    if (p.channels === 3) {
      out[i] = map(p.values[3 * i]);
      out[n + i] = map(p.values[3 * i + 1]);
      out[2 * n + i] = map(p.values[3 * i + 2]);
    } else {
      out[i] = out[n + i] = out[2 * n + i] = map(p.values[i]);
    }
  }
  return out;
}

export function isMedicalPath(p: string): boolean {
  return medicalKind(path.basename(p)) !== null;
}
