/**
 * Loaded models, kept between runs (the worker certifies many images with the same models; loading an
 * ONNX session or a tfjs graph costs far more than one forward pass). Keyed by card path, file mtime,
 * engine and denoising convention; the card's and its model files' times say whether an edited card or a
 * retrained model must be loaded again (the old one is released).
 */
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Denoiser, Segmenter } from '../engines/engine';
import type { EnginePreference } from '../../../protocol/results';
import { loadDenoiser, loadSegmenter } from '../engines/load';
import type { DenoiseConvention } from '../../../protocol/config';

/** by model identity (kind, card, engine, convention): the version loaded (file times) and its promise */
const cache = new Map<string, { version: string; model: Promise<Segmenter | Denoiser> }>();

/** mtimes of the card and the model files it names: a retrained model behind an unchanged card is a new version */
function version(card: string): string {
  const times: number[] = [];
  try {
    times.push(statSync(card).mtimeMs);
    const c = JSON.parse(readFileSync(card, 'utf8')) as { file?: unknown; alternates?: Record<string, unknown> };
    for (const f of [c.file, ...Object.values(c.alternates ?? {})]) {
      if (typeof f === 'string') times.push(statSync(path.resolve(path.dirname(card), f)).mtimeMs);
    }
  } catch {
    // missing or broken card or model file: the loader reports it
  }
  return times.join(',');
}

function cached<T extends Segmenter | Denoiser>(id: string, card: string, load: () => Promise<T>): Promise<T> {
  const v = version(card);
  const hit = cache.get(id);
  if (hit && hit.version === v) return hit.model as Promise<T>;
  // an older version of the same model is released: a long-lived run process must not pile them up
  if (hit)
    void hit.model.then(
      (m) => m.dispose(),
      () => undefined,
    );
  const model = load();
  cache.set(id, { version: v, model });
  model.catch(() => {
    if (cache.get(id)?.model === model) cache.delete(id); // do not remember failures: the user may fix the file
  });
  return model;
}

export function getSegmenter(card: string, engine: EnginePreference): Promise<Segmenter> {
  return cached(`seg|${card}|${engine}`, card, () => loadSegmenter(card, { engine }));
}

export function getDenoiser(card: string, engine: EnginePreference, convention: DenoiseConvention): Promise<Denoiser> {
  return cached(`den|${card}|${engine}|${convention}`, card, () => loadDenoiser(card, { engine, convention }));
}

export async function disposeModels(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  await Promise.allSettled(all.map(async (e) => (await e.model).dispose()));
}
