/**
 * Where the card's pre/post-processing runs for ONNX Runtime models: composed into one ONNX graph with the
 * model(s) (engines/compose.ts) or in the JavaScript adapters (engines/adapt.ts); the switch, the record the
 * report's provenance shows, and the pair of models the sampling loop runs. No onnxruntime import here: the
 * pipeline loads this for every engine.
 */
import type { Denoiser, Segmenter } from './engine';

/**
 * Whether composition is on: CERTSEG_ORT_COMPOSE=0 turns it off; on by default (labels identical to the adapters,
 * and measured not slower: composed / adapters 0.94 on the default models, 0.97–0.99 on the polyp config, here).
 */
export function composeEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CERTSEG_ORT_COMPOSE !== '0';
}

/** Where a model's pre/post-processing ran: in the composed ONNX graph, or in the JavaScript adapters. */
export type ProcessingPath = 'graph' | 'adapters';

/** Which paths ran during one certification (provenance: 'graph', 'adapters' or both). */
export interface ProcessingRecord {
  segmenter: Set<ProcessingPath>;
  denoiser: Set<ProcessingPath>;
}

export const newProcessingRecord = (): ProcessingRecord => ({ segmenter: new Set(), denoiser: new Set() });

/** The provenance value: 'graph', 'adapters', or 'graph+adapters' when some calls could not be composed. */
export function processingOf(paths: Set<ProcessingPath>): 'graph' | 'adapters' | 'graph+adapters' | undefined {
  if (paths.size === 0) return undefined;
  return paths.size === 2 ? 'graph+adapters' : [...paths][0];
}

/**
 * The pair the sampling loop runs: when the segmenter has a composer and the denoiser can join it, the
 * segmenter's segment() denoises and segments in one graph and the denoiser passes its input through (the
 * loop's denoise time is then inside its segment time). Otherwise the models as they are. `record` notes
 * which path each call took.
 */
export function forSampling(
  seg: Segmenter,
  den: Denoiser | null,
  sigma: number,
  record: ProcessingRecord,
): { segmenter: Segmenter; denoiser: Denoiser | null } {
  const composer = seg.composer;
  if (!composer || !composeEnabled()) {
    record.segmenter.add('adapters');
    if (den) record.denoiser.add('adapters');
    return { segmenter: seg, denoiser: den };
  }
  if (!den)
    return {
      segmenter: {
        ...seg,
        async segment(images, b, h, w) {
          const labels = await composer.segment(images, b, h, w, seg.shape);
          record.segmenter.add(labels ? 'graph' : 'adapters');
          return labels ?? seg.segment(images, b, h, w);
        },
      },
      denoiser: null,
    };
  return {
    segmenter: {
      ...seg,
      async segment(noisy, b, h, w) {
        const labels = await composer.chain(den, noisy, b, h, w, sigma, seg.shape);
        if (labels) {
          record.segmenter.add('graph');
          record.denoiser.add('graph');
          return labels;
        }
        record.denoiser.add('adapters');
        const clean = await den.denoise(noisy, b, h, w, sigma);
        const l = await composer.segment(clean, b, h, w, seg.shape);
        record.segmenter.add(l ? 'graph' : 'adapters');
        return l ?? seg.segment(clean, b, h, w);
      },
    },
    denoiser: { ...den, denoise: async (noisy) => noisy },
  };
}
