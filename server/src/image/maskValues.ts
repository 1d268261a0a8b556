/**
 * The config's `maskValues`: what the values of the ground-truth masks mean, when they are not the
 * segmenter's class ids. Keys are mask values: a grey level as a decimal string ("0", "128", "255", or up
 * to "65535" for 16-bit masks) or a colour "#rrggbb"; values are a class id, a class name of the
 * segmenter's card, or "ignore" (the pixel counts for no metric). With a map, every value found in a mask
 * must be listed: nothing is guessed. Without one, readMask's fixed rules apply (image/read.ts).
 */
import { CertsegError } from '../core/errors';
import type { ClassSpec } from '../models/card';

import type { MaskValuesConfig } from '../../../protocol/config';

/** As written in the config (protocol/config.ts). */
export type { MaskValuesConfig } from '../../../protocol/config';

/** Resolved against the segmenter's classes: mask value → label (class id, or the ignore label). */
export interface MaskValueMap {
  /** grey level → label */
  grey: Map<number, number>;
  /** 0xRRGGBB → label */
  colour: Map<number, number>;
  /** the label "ignore" maps to (the card's ignoreLabel, else 255) */
  ignoreLabel: number;
  /** the keys as written, for messages */
  keys: string[];
}

/** The label of ignored pixels when the card names none (255 is never a class: MAX_CLASSES is 254). */
export const DEFAULT_IGNORE_LABEL = 255;

/** The ignore label a run uses: the card's, else 255 when `maskValues` maps something to "ignore". */
export function ignoreLabelFor(cardIgnoreLabel: number | undefined, maskValues: MaskValuesConfig | undefined): number | undefined {
  if (cardIgnoreLabel !== undefined) return cardIgnoreLabel;
  return maskValues && Object.values(maskValues).includes('ignore') ? DEFAULT_IGNORE_LABEL : undefined;
}

/**
 * Check a `maskValues` map against the segmenter's classes and resolve it. Problems are 'config' errors
 * naming the key, e.g. `maskValues "255": "lesion" is not a class of the segmenter (background, polyp)`.
 */
export function resolveMaskValues(cfg: MaskValuesConfig, classes: ClassSpec[], cardIgnoreLabel?: number): MaskValueMap {
  const names = classes.map((c) => c.name);
  const ignoreLabel = cardIgnoreLabel ?? DEFAULT_IGNORE_LABEL;
  const out: MaskValueMap = { grey: new Map(), colour: new Map(), ignoreLabel, keys: Object.keys(cfg) };
  if (out.keys.length === 0)
    throw new CertsegError('maskValues is empty: list the values your masks hold, e.g. {"0": "background", "255": "polyp"}', 'config');
  for (const [key, value] of Object.entries(cfg)) {
    let label: number;
    if (value === 'ignore') label = ignoreLabel;
    else if (typeof value === 'number') {
      if (!Number.isInteger(value) || value < 0 || value >= classes.length) {
        throw new CertsegError(
          `maskValues "${key}": ${value} is not a class id of the segmenter (0..${classes.length - 1}: ${names.join(', ')})`,
          'config',
        );
      }
      label = value;
    } else {
      label = names.indexOf(value);
      if (label < 0)
        throw new CertsegError(
          `maskValues "${key}": "${value}" is not a class of the segmenter (${names.join(', ')}) nor "ignore"`,
          'config',
        );
    }
    const colour = /^#([0-9a-f]{6})$/i.exec(key);
    if (colour) out.colour.set(parseInt(colour[1], 16), label);
    else if (/^\d+$/.test(key) && Number(key) <= 65535) out.grey.set(Number(key), label);
    else throw new CertsegError(`maskValues key "${key}" must be a grey level (0..65535) or a colour like "#ff0000"`, 'config');
  }
  return out;
}

function list(values: string[], max = 8): string {
  const shown = values.slice(0, max).join(', ');
  return values.length > max ? `${shown}, … (${values.length} distinct)` : shown;
}

/** Apply the map to grey values; every distinct value must be listed. */
export function mapGrey(values: Uint8Array | Uint16Array, map: MaskValueMap, name: string): Uint8Array {
  const out = new Uint8Array(values.length);
  const missing = new Set<number>();
  for (let i = 0; i < values.length; i++) {
    const label = map.grey.get(values[i]);
    if (label === undefined) missing.add(values[i]);
    else out[i] = label;
  }
  if (missing.size > 0) {
    const found = [...missing].sort((a, b) => a - b).map(String);
    throw new CertsegError(`${name} has grey values ${list(found)} that "maskValues" does not list (it lists ${list(map.keys)})`, 'input');
  }
  return out;
}

const hex = (k: number) => '#' + k.toString(16).padStart(6, '0');

/** Apply the map to interleaved 8-bit RGB; every distinct colour must be listed. */
export function mapColour(rgb: Uint8Array, map: MaskValueMap, name: string): Uint8Array {
  const n = rgb.length / 3;
  const out = new Uint8Array(n);
  const missing = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const key = (rgb[3 * i] << 16) | (rgb[3 * i + 1] << 8) | rgb[3 * i + 2];
    const label = map.colour.get(key);
    if (label === undefined) missing.set(key, (missing.get(key) ?? 0) + 1);
    else out[i] = label;
  }
  if (missing.size > 0) {
    const found = [...missing.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => hex(k));
    throw new CertsegError(`${name} has colours ${list(found, 5)} that "maskValues" does not list (it lists ${list(map.keys)})`, 'input');
  }
  return out;
}
