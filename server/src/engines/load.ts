/**
 * Entry points: card → validated card → engine runner → adapter. 'auto' prefers the card's primary
 * file's engine, then ONNX Runtime (fastest on CPU here), then TF.js.
 */
import { CertsegError } from '../core/errors';
import type { ResolvedCard } from '../models/card';
import { displayPath, loadCard } from '../models/loadCard';
import { makeDenoiser, makeSegmenter, type DenoiseConvention } from './adapt';
import type { Denoiser, Segmenter } from './engine';
import type { EngineInfo, EngineName, EnginePreference } from '../../../protocol/results';
import type { ModelRunner } from './runner';
import type { OnnxLoadOptions } from './onnx';

export interface LoadOptions {
  engine?: EnginePreference;
  /** ONNX Runtime session options and the optimized-model cache (engines/onnx.ts); the defaults when absent */
  onnx?: OnnxLoadOptions;
}
export interface DenoiserLoadOptions extends LoadOptions {
  /** One-shot denoising convention for ddpm-eps models; default 'carlini' (notes §4). */
  convention?: DenoiseConvention;
}

/** Which engine runs this card: the forced one (if it has a file) or the primary file's. */
export function chooseEngine(card: ResolvedCard, pref: EnginePreference = 'auto'): EngineName {
  const shown = displayPath(card.cardPath);
  if (pref !== 'auto') {
    if (card.files[pref]) return pref;
    const declared = card.alternates?.[pref];
    throw new CertsegError(
      declared
        ? `${shown}: engine ${pref} was requested but its file ${declared} does not exist`
        : `${shown}: engine ${pref} was requested but the card has no ${pref === 'onnx' ? '.onnx' : 'TF.js model.json'} file (add it under "alternates")`,
      'model',
    );
  }
  const primary = card.file.toLowerCase().endsWith('.onnx') ? 'onnx' : 'tfjs';
  return card.files[primary] ? primary : (Object.keys(card.files)[0] as EngineName);
}

async function runnerFor(card: ResolvedCard, engine: EngineName, onnx?: OnnxLoadOptions): Promise<ModelRunner> {
  const shown = displayPath(card.cardPath);
  const file = card.files[engine]!;
  // engines load lazily: onnxruntime-node and tfjs are heavy and only one is usually needed
  if (engine === 'onnx') return (await import('./onnx')).loadOnnxRunner(file, shown, onnx);
  return (await import('./tfjs')).loadTfjsRunner(file, shown, card.format);
}

export async function loadSegmenter(cardPath: string, opts: LoadOptions = {}): Promise<Segmenter> {
  const card = await loadCard(cardPath, 'segmenter');
  const runner = await runnerFor(card, chooseEngine(card, opts.engine), opts.onnx);
  try {
    const seg = makeSegmenter(runner, card);
    // the card's transforms inside the ONNX graph (engines/compose.ts) while CERTSEG_ORT_COMPOSE allows it (read at
    // each call: a warm process follows the switch); the adapter wherever that cannot run
    if (runner.info.engine === 'onnx') return (await import('./compose')).composeSegmenter(seg);
    return seg;
  } catch (e) {
    await runner.dispose();
    throw e;
  }
}

export async function loadDenoiser(cardPath: string, opts: DenoiserLoadOptions = {}): Promise<Denoiser> {
  const card = await loadCard(cardPath, 'denoiser');
  const runner = await runnerFor(card, chooseEngine(card, opts.engine), opts.onnx);
  try {
    return makeDenoiser(runner, card, opts.convention ?? 'carlini');
  } catch (e) {
    await runner.dispose();
    throw e;
  }
}

export interface EngineAvailability extends Partial<EngineInfo> {
  engine: EngineName;
  available: boolean;
  /** why it is unavailable, or what it falls back to */
  note?: string;
}

/** What this install can run: one entry per engine, for `certseg doctor` and the status bar. */
export async function describeEngines(): Promise<EngineAvailability[]> {
  const res: EngineAvailability[] = [];
  try {
    const { onnxProviders, onnxVersion } = await import('./onnx');
    const eps = onnxProviders();
    res.push({
      engine: 'onnx',
      available: true,
      backend: eps[0],
      device: eps[0] === 'cpu' ? 'cpu' : 'gpu',
      version: onnxVersion(),
      note:
        eps.length > 1 ? `providers ${eps.join(', ')} (CUDA used if a session can be created)` : 'CPU only (CUDA provider not installed)',
    });
  } catch (e) {
    res.push({ engine: 'onnx', available: false, note: String((e as Error).message ?? e).split('\n')[0] });
  }
  try {
    const { tfjsBackend } = await import('./tfjs');
    const info = await tfjsBackend();
    res.push({
      ...info,
      available: true,
      note:
        info.backend === 'wasm' || info.backend === 'cpu' ? 'tfjs-node not installed: using the ' + info.backend + ' backend' : undefined,
    });
  } catch (e) {
    res.push({ engine: 'tfjs', available: false, note: String((e as Error).message ?? e).split('\n')[0] });
  }
  return res;
}
