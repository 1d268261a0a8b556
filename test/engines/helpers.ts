/** Shared test fixtures: the read-only ../shared folder and model cards generated into temp dirs. */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export const SHARED = path.resolve(__dirname, '../../../shared');
export const SELFIE = path.join(SHARED, 'models/mediapipe-selfie');
export const SELFIE_ONNX = path.join(SELFIE, 'onnx/selfie_segmentation.onnx');
export const SELFIE_TFJS = path.join(SELFIE, 'tfjs/selfie.json');
export const KVASIR_IMAGES = path.join(SHARED, 'datasets/kvasir-seg-256/images');

/** node:test skip reason when the shared models are absent, else false. */
export const noShared: string | false =
  existsSync(SELFIE_ONNX) && existsSync(SELFIE_TFJS)
    ? false
    : `skipped: ${SELFIE} not found (needs the read-only ../shared folder next to the repository)`;

export function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'certseg-engines-'));
}

/** The selfie model's card, pointing at the shared files by absolute path; `patch` overrides fields. */
export function selfieCard(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cardVersion: 1,
    name: 'mediapipe-selfie',
    role: 'segmenter',
    file: SELFIE_ONNX,
    alternates: { tfjs: SELFIE_TFJS },
    input: { name: 'input_1:0', layout: 'NHWC', height: 256, width: 256, batch: 1, channels: 3, range: [0, 1] },
    output: { layout: 'NHWC', height: 256, width: 256, batch: 1, channels: 1, kind: 'sigmoid' },
    classes: [
      { name: 'background', color: '#000000' },
      { name: 'person', color: '#ff0000' },
    ],
    license: 'Apache-2.0',
    ...overrides,
  };
}

export function writeCard(dir: string, name: string, card: unknown): string {
  const p = path.join(dir, `${name}.card.json`);
  writeFileSync(p, typeof card === 'string' ? card : JSON.stringify(card, null, 2));
  return p;
}

/** Deterministic uniform [0,1) values. */
export function seededUniform(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) out[i] = (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  return out;
}
