/**
 * Loaded models, kept between runs (the worker certifies many images with the same models; loading an
 * ONNX session or a tfjs graph costs far more than one forward pass). Keyed by card path, file mtime,
 * engine and denoising convention, so an edited card or a retrained model is picked up.
 */
import { statSync } from 'node:fs';
import type { Denoiser, EnginePreference, Segmenter } from '../engines/engine';
import { loadDenoiser, loadSegmenter } from '../engines/load';
import type { DenoiseConvention } from '../config/types';

const cache = new Map<string, Promise<Segmenter | Denoiser>>();

function key(kind: string, card: string, engine: string, extra = ''): string {
  let mtime = 0;
  try {
    mtime = statSync(card).mtimeMs;
  } catch {
    // missing card: the loader reports it
  }
  return `${kind}|${card}|${mtime}|${engine}|${extra}`;
}

function cached<T extends Segmenter | Denoiser>(k: string, load: () => Promise<T>): Promise<T> {
  let p = cache.get(k);
  if (!p) {
    p = load();
    cache.set(k, p);
    p.catch(() => cache.delete(k)); // do not remember failures: the user may fix the file
  }
  return p as Promise<T>;
}

export function getSegmenter(card: string, engine: EnginePreference): Promise<Segmenter> {
  return cached(key('seg', card, engine), () => loadSegmenter(card, { engine }));
}

export function getDenoiser(card: string, engine: EnginePreference, convention: DenoiseConvention): Promise<Denoiser> {
  return cached(key('den', card, engine, convention), () => loadDenoiser(card, { engine, convention }));
}

export async function disposeModels(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  await Promise.allSettled(all.map(async (p) => (await p).dispose()));
}
