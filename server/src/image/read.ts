/**
 * Reading images and ground-truth masks.
 *
 * Images: PNG (8/16-bit), JPEG, TIFF, WebP, GIF through sharp (libvips); BMP through bmp-ts (libvips has
 * no BMP loader). EXIF orientation is applied. Grey images are repeated to 3 channels. An alpha channel is
 * dropped (the stored RGB is kept, not composited onto a background) — the same as PIL's
 * `Image.convert('RGB')`, which is what most PyTorch training pipelines used, so the model sees the pixels
 * it was trained on. Result: planar (NCHW, N=1) float RGB in [0,1]; 16-bit images are scaled by 1/65535.
 *
 * Masks: see `readMask` for the decoding rules.
 *
 * Every failure is a one-line CertsegError('input', 'cannot read image foo.png: <reason>').
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { decode as decodeBmp } from 'bmp-ts';
import { CertsegError } from '../core/errors';
import { ABSTAIN } from '../core/labels';
import type { ClassSpec } from '../models/card';
import { mapColour, mapGrey, type MaskValueMap } from './maskValues';
import { isMedicalPath, medicalKind, readMedical, readMedicalLabels, windowToPlanarRgb } from './medical';
import type { IntensityWindow, SliceSpec } from '../../../protocol/results';

import { IMAGE_EXTENSIONS } from '../../../common/imageNaming';

export { IMAGE_EXTENSIONS };

/** Images by name: the common formats and the medical ones (DICOM, NIfTI: see medical.ts). */
export function isImagePath(p: string): boolean {
  return (IMAGE_EXTENSIONS as readonly string[]).includes(path.extname(p).toLowerCase()) || isMedicalPath(p);
}

export interface LoadedImage {
  /** planar RGB, 3·height·width floats in [0,1] (channel, row, column) */
  data: Float32Array;
  width: number;
  height: number;
  /** sha256 (hex) of the file bytes, for provenance */
  sha256: string;
  /** DICOM and NIfTI: the window that mapped the real intensities to [0,1] (and the slice of a volume) */
  intensity?: IntensityWindow;
}

export interface ReadImageOptions {
  /** the slice of a volume (NIfTI, multi-frame DICOM) */
  slice?: SliceSpec | null;
}

/** Interleaved pixels as decoded, before conversion. */
interface RawPixels {
  data: Uint8Array | Uint16Array;
  width: number;
  height: number;
  channels: number;
  /** 255 or 65535 */
  maxValue: number;
  /** the file was lossy-compressed (JPEG), so exact values cannot be trusted */
  lossy: boolean;
}

function fileError(kind: string, file: string, reason: string): CertsegError {
  return new CertsegError(`cannot read ${kind} ${path.basename(file)}: ${reason}`, 'input');
}

function shortReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  const msg = String((e as Error)?.message ?? e)
    .split('\n')[0]
    .trim();
  if (/unsupported image format/i.test(msg)) return 'unsupported or unrecognised image format';
  if (/corrupt header|premature end|truncated|not a png|bad|invalid|unexpected end/i.test(msg)) {
    return `corrupt or truncated file (${msg.slice(0, 80)})`;
  }
  return msg.length > 120 ? msg.slice(0, 117) + '...' : msg || 'decode failed';
}

async function readBytes(kind: string, file: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (e) {
    throw fileError(kind, file, shortReason(e));
  }
}

function isBmp(buf: Buffer): boolean {
  return buf.length >= 26 && buf[0] === 0x42 && buf[1] === 0x4d; // 'BM'
}

/**
 * BMP through bmp-ts. Its default ABGR output is used: with `toRGBA` its palette paths still write ABGR.
 * Its RLE paths misplace channels, so RLE-compressed BMPs (rare) are refused with a clear message.
 */
function decodeBmpRaw(buf: Buffer): RawPixels {
  const compression = buf.readUInt32LE(30);
  if (buf.readUInt32LE(14) >= 40 && (compression === 1 || compression === 2)) {
    throw new Error('RLE-compressed BMP is not supported (save it as PNG or uncompressed BMP)');
  }
  const bmp = decodeBmp(buf);
  const { width, height } = bmp;
  const n = width * height;
  if (!(width > 0 && height > 0) || bmp.data.length < n * 4) throw new Error('corrupt BMP data');
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[3 * i] = bmp.data[4 * i + 3];
    rgb[3 * i + 1] = bmp.data[4 * i + 2];
    rgb[3 * i + 2] = bmp.data[4 * i + 1];
  }
  return { data: rgb, width, height, channels: 3, maxValue: 255, lossy: false };
}

/**
 * Decode to interleaved pixels. mode 'rgb': 3 channels in sRGB. mode 'native': grey files stay 1
 * channel (values untouched, 16-bit kept), colour files give 3 channels; alpha is always dropped.
 */
async function decodeRaw(buf: Buffer, mode: 'rgb' | 'native'): Promise<RawPixels> {
  if (isBmp(buf)) return decodeBmpRaw(buf);
  const img = sharp(buf, { failOn: 'truncated' });
  const meta = await img.metadata();
  const is16 = meta.depth === 'ushort';
  const grey = (meta.channels ?? 3) <= 2;
  let pipe = img.rotate(); // EXIF orientation
  if (mode === 'native' && grey) {
    pipe = pipe.toColourspace(is16 ? 'grey16' : 'b-w').extractChannel(0);
  } else {
    pipe = pipe.removeAlpha().toColourspace(is16 ? 'rgb16' : 'srgb');
  }
  const { data, info } = await pipe.raw(is16 ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
  const values = is16 ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2) : new Uint8Array(data);
  return {
    data: values,
    width: info.width,
    height: info.height,
    channels: info.channels,
    maxValue: is16 ? 65535 : 255,
    lossy: meta.format === 'jpeg',
  };
}

/** Read an image as planar float RGB in [0,1] (see the module comment for the conversions). */
export async function readImage(file: string, opts: ReadImageOptions = {}): Promise<LoadedImage> {
  const buf = await readBytes('image', file);
  const sha256 = createHash('sha256').update(buf).digest('hex');
  const medical = medicalKind(file, buf);
  if (medical) {
    try {
      const px = await readMedical(file, medical, opts.slice ?? null);
      return { data: windowToPlanarRgb(px), width: px.width, height: px.height, sha256, intensity: px.window };
    } catch (e) {
      throw fileError('image', file, shortReason(e));
    }
  }
  if (opts.slice) throw fileError('image', file, '--slice applies to volumes (NIfTI, multi-frame DICOM) only');
  let raw: RawPixels;
  try {
    raw = await decodeRaw(buf, 'rgb');
  } catch (e) {
    throw fileError('image', file, shortReason(e));
  }
  const { width, height, channels, maxValue } = raw;
  const n = width * height;
  if (channels !== 3 && channels !== 1) throw fileError('image', file, `unexpected ${channels} channels after decoding`);
  const out = new Float32Array(3 * n);
  const scale = 1 / maxValue;
  const src = raw.data;
  if (channels === 3) {
    for (let i = 0; i < n; i++) {
      out[i] = src[3 * i] * scale;
      out[n + i] = src[3 * i + 1] * scale;
      out[2 * n + i] = src[3 * i + 2] * scale;
    }
  } else {
    for (let i = 0; i < n; i++) out[i] = out[n + i] = out[2 * n + i] = src[i] * scale;
  }
  return { data: out, width, height, sha256 };
}

// ---------------------------------------------------------------------------------------------------
// Masks

export interface ReadMaskOptions {
  numClasses: number;
  /** Label kept as-is (e.g. 255 = "don't care" in VOC); never counted as a class. */
  ignoreLabel?: number;
  /** When given, the mask must have this size (the image's). */
  expectWidth?: number;
  expectHeight?: number;
  /** Class colours, used to map colour (RGB / palette) masks to class ids, and names for messages. */
  classes?: ClassSpec[];
  /** The config's `maskValues`, resolved: when given, the only mapping used. */
  maskValues?: MaskValueMap;
  /** the image's plane, for a DICOM/NIfTI volume mask */
  slice?: SliceSpec | null;
}

/** The PASCAL VOC colour map (index → colour), used for palette masks when no class colours are given. */
export function vocColormap(): Uint8Array {
  const map = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    let r = 0,
      g = 0,
      b = 0,
      c = i;
    for (let j = 0; j < 8; j++) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    map[3 * i] = r;
    map[3 * i + 1] = g;
    map[3 * i + 2] = b;
  }
  return map;
}

const hex2 = (v: number) => v.toString(16).padStart(2, '0');

function listValues(values: (number | string)[], max = 8): string {
  const shown = values.slice(0, max).join(', ');
  return values.length > max ? `${shown}, … (${values.length} distinct)` : shown;
}

/**
 * Map grey mask values to class ids. Nothing is guessed; the rules, in order (C = numClasses):
 *  1. binary 0/max: C == 2 and the values are {0, max} or {max} (max = 255, or 65535 for 16-bit) → max→1,
 *     even when ignoreLabel is 255 (a mask that is all background except "ignored" is a 0/255 mask);
 *  2. class ids: every value is < C or equals ignoreLabel → kept as is (0/1 masks, 0..C−1 PNGs);
 *  3. a lossy (JPEG) mask for a binary card: JPEG blurs a 0/255 mask's values, so threshold at half
 *     range (128 for 8-bit); a thresholded mask has no ignore region;
 *  4. anything else → CertsegError naming the values found and the classes expected, and pointing to the
 *     config's `maskValues` (image/maskValues.ts), which says what each value means.
 * (A 0/255 mask on a 4-class card used to become classes 0 and 3 by "evenly scaled ids": now rule 4.)
 */
export function greyToLabels(
  values: Uint8Array | Uint16Array,
  maxValue: number,
  opts: { numClasses: number; ignoreLabel?: number; classes?: ClassSpec[]; lossy?: boolean },
  name = 'mask',
): Uint8Array {
  const C = opts.numClasses;
  const ignore = opts.ignoreLabel;
  const seen = new Set<number>();
  for (let i = 0; i < values.length; i++) seen.add(values[i]);
  const distinct = [...seen].sort((a, b) => a - b);
  const out = new Uint8Array(values.length);
  const top = maxValue;
  // 1. binary 0/max
  if (C === 2 && seen.has(top) && distinct.every((v) => v === 0 || v === top)) {
    for (let i = 0; i < values.length; i++) out[i] = values[i] === top ? 1 : 0;
    return out;
  }
  // 2. class ids
  if (distinct.every((v) => v < C || v === ignore)) {
    for (let i = 0; i < values.length; i++) out[i] = values[i];
    return out;
  }
  // 3. a JPEG-compressed binary mask
  if (C === 2 && opts.lossy) {
    const t = (top + 1) / 2;
    for (let i = 0; i < values.length; i++) out[i] = values[i] >= t ? 1 : 0;
    return out;
  }
  throw new CertsegError(
    `${name} has values ${listValues(distinct)} ${expectedClasses(C, opts.classes, ignore)}${maskValuesHint(distinct, C, opts.classes)}`,
    'input',
  );
}

/** "but the segmenter's classes are 0 background, 1 polyp (or 255, ignored)" */
function expectedClasses(C: number, classes: ClassSpec[] | undefined, ignore: number | undefined): string {
  const ig = ignore !== undefined ? `, or ${ignore} (ignore)` : '';
  const ids = classes && classes.length === C ? classes.map((c, i) => `${i} ${c.name}`).join(', ') : `0..${C - 1}`;
  const binary = C === 2 ? '; a binary card also takes 0/255 masks' : '';
  return `but the segmenter's classes are ${ids}${ig}: a mask holds these class ids${binary}`;
}

/** '; say what the values mean with "maskValues" in the config, e.g. {"0": "background", "255": "polyp"}' */
function maskValuesHint(distinct: number[], C: number, classes: ClassSpec[] | undefined): string {
  const names = classes && classes.length === C ? classes.map((c) => c.name) : Array.from({ length: C }, (_, i) => i);
  const example = distinct
    .slice(0, 3)
    .map((v, i) => `"${v}": ${JSON.stringify(names[Math.min(i, C - 1)])}`)
    .join(', ');
  return `; say what the values mean with "maskValues" in the config, e.g. "maskValues": {${example}${distinct.length > 3 ? ', …' : ''}}`;
}

/**
 * Map colour mask pixels (interleaved RGB, 8-bit) to class ids: exact class colours first; for lossy
 * files, the nearest class colour within a distance of 60 (of 441); without class colours, the PASCAL
 * VOC palette (index = class id, its entry 255 = ignore).
 */
export function colourToLabels(
  rgb: Uint8Array,
  opts: { numClasses: number; ignoreLabel?: number; classes?: ClassSpec[]; lossy?: boolean },
  name = 'mask',
): Uint8Array {
  const n = rgb.length / 3;
  const out = new Uint8Array(n);
  const C = opts.numClasses;
  const table = new Map<number, number>(); // 0xRRGGBB → id
  let source: string;
  if (opts.classes && opts.classes.length > 0) {
    source = 'the class colours';
    opts.classes.slice(0, C).forEach((c, id) => {
      const m = /^#?([0-9a-f]{6})$/i.exec(c.color.trim());
      if (m && !table.has(parseInt(m[1], 16))) table.set(parseInt(m[1], 16), id);
    });
  } else {
    source = 'the PASCAL VOC palette (no class colours were given)';
    const voc = vocColormap();
    for (let i = 0; i < 256; i++) {
      if (i < C || i === opts.ignoreLabel) table.set((voc[3 * i] << 16) | (voc[3 * i + 1] << 8) | voc[3 * i + 2], i);
    }
  }
  const entries = [...table.entries()];
  const cache = new Map<number, number>();
  const unknown = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const key = (rgb[3 * i] << 16) | (rgb[3 * i + 1] << 8) | rgb[3 * i + 2];
    let id = table.get(key) ?? cache.get(key);
    if (id === undefined && opts.lossy) {
      let best = -1,
        bestD = 60 * 60;
      const r = rgb[3 * i],
        g = rgb[3 * i + 1],
        b = rgb[3 * i + 2];
      for (const [k, v] of entries) {
        const d = (r - (k >> 16)) ** 2 + (g - ((k >> 8) & 255)) ** 2 + (b - (k & 255)) ** 2;
        if (d <= bestD) {
          bestD = d;
          best = v;
        }
      }
      if (best >= 0) {
        id = best;
        cache.set(key, best);
      }
    }
    if (id === undefined) {
      unknown.set(key, (unknown.get(key) ?? 0) + 1);
      continue;
    }
    out[i] = id;
  }
  if (unknown.size > 0) {
    const top = [...unknown.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => '#' + hex2(k >> 16) + hex2((k >> 8) & 255) + hex2(k & 255));
    throw new CertsegError(
      `${name} is a colour mask with colours that are not in ${source}: ${listValues(top, 5)}` +
        (opts.classes ? '' : '; give the classes with their colours (model card "classes")'),
      'input',
    );
  }
  return out;
}

/**
 * Read a ground-truth mask as class ids (Uint8Array, row-major, height·width).
 *
 * With `maskValues` (the config's map, resolved by image/maskValues.ts) every value is looked up in it:
 * grey files by grey level, colour files by "#rrggbb"; a value it does not list is an error.
 * Otherwise: grey files (PNG 8/16-bit, BMP/TIFF/JPEG with R=G=B) follow `greyToLabels`: class ids as is,
 * 0/255 binary masks → 0/1 on a binary card, JPEG binary masks thresholded at 128, anything else an error.
 * Colour files (RGB, palette PNGs — sharp expands the palette) follow `colourToLabels`: the card's class
 * colours, else the VOC palette. JPEG colour masks that are nearly grey (channel spread ≤ 24) count as grey.
 * Size mismatch with expectWidth/expectHeight → 'mask m.png is 128×128 but image is 256×256'.
 */
export async function readMask(file: string, opts: ReadMaskOptions): Promise<Uint8Array> {
  const name = path.basename(file);
  if (!Number.isInteger(opts.numClasses) || opts.numClasses < 2 || opts.numClasses >= ABSTAIN) {
    throw new CertsegError(`cannot read mask ${name}: numClasses must be 2..${ABSTAIN - 1}, got ${opts.numClasses}`, 'input');
  }
  const buf = await readBytes('mask', file);
  let raw: RawPixels;
  const medical = medicalKind(file, buf);
  try {
    if (medical) {
      // DICOM/NIfTI label maps: integer labels as stored, then the same rules as a grey PNG (8- or 16-bit)
      const m = await readMedicalLabels(file, medical, opts.slice ?? null);
      const data = m.maxLabel <= 255 ? Uint8Array.from(m.labels) : m.labels;
      raw = { data, width: m.width, height: m.height, channels: 1, maxValue: m.maxLabel <= 255 ? 255 : 65535, lossy: false };
    } else raw = await decodeRaw(buf, 'native');
  } catch (e) {
    throw fileError('mask', file, shortReason(e));
  }
  const { width, height } = raw;
  if ((opts.expectWidth !== undefined && opts.expectWidth !== width) || (opts.expectHeight !== undefined && opts.expectHeight !== height)) {
    throw new CertsegError(
      `mask ${name} is ${width}×${height} but image is ${opts.expectWidth ?? width}×${opts.expectHeight ?? height}`,
      'input',
    );
  }
  const n = width * height;
  const where = `mask ${name}`;
  const map = opts.maskValues;
  if (raw.channels === 1)
    return map ? mapGrey(raw.data, map, where) : greyToLabels(raw.data, raw.maxValue, { ...opts, lossy: raw.lossy }, where);
  // colour: check whether it is grey after all
  const src = raw.data;
  let exactGrey = true;
  let nearGrey = true;
  for (let i = 0; i < n && nearGrey; i++) {
    const r = src[3 * i],
      g = src[3 * i + 1],
      b = src[3 * i + 2];
    if (r !== g || g !== b) {
      exactGrey = false;
      const spread = Math.max(r, g, b) - Math.min(r, g, b);
      if (spread > (raw.maxValue === 255 ? 24 : 24 * 257)) nearGrey = false;
    }
  }
  if (exactGrey || (raw.lossy && nearGrey)) {
    const grey = raw.maxValue === 255 ? new Uint8Array(n) : new Uint16Array(n);
    for (let i = 0; i < n; i++) grey[i] = Math.round((src[3 * i] + src[3 * i + 1] + src[3 * i + 2]) / 3);
    return map ? mapGrey(grey, map, where) : greyToLabels(grey, raw.maxValue, { ...opts, lossy: raw.lossy }, where);
  }
  let rgb8: Uint8Array;
  if (raw.maxValue === 255) rgb8 = src as Uint8Array;
  else {
    rgb8 = new Uint8Array(src.length);
    for (let i = 0; i < src.length; i++) rgb8[i] = Math.round(src[i] / 257);
  }
  return map ? mapColour(rgb8, map, where) : colourToLabels(rgb8, { ...opts, lossy: raw.lossy }, where);
}
