import type { Denoiser, Segmenter } from '../engines/engine';
import type { SamplingPath } from '../core/sampling';
import type { ImageReport } from '../../../protocol/results';
import { processingOf, type ProcessingRecord } from '../engines/processing';
import { packageVersion } from '../version';

/** What ran: model checksums, engine, backend and device (and ONNX Runtime's session options), where the sampling loop ran, versions. */
export function provenance(
  seg: Segmenter,
  den: Denoiser | null,
  sampling?: SamplingPath,
  noise?: 'thread' | 'main',
  processing?: ProcessingRecord,
): ImageReport['provenance'] {
  const model = (m: Segmenter | Denoiser, paths?: ProcessingRecord['segmenter']) => ({
    card: m.card.cardPath,
    sha256: m.card.sha256,
    engine: `${m.info.engine} ${m.info.version}`,
    backend: m.info.backend,
    device: m.info.device,
    ...(m.info.session ? { session: { ...m.info.session } } : {}),
    ...(paths && processingOf(paths) ? { processing: processingOf(paths) } : {}),
  });
  return {
    segmenter: model(seg, processing?.segmenter),
    denoiser: den ? model(den, processing?.denoiser) : null,
    ...(sampling ? { sampling } : {}),
    ...(noise ? { noise } : {}),
    certsegVersion: packageVersion(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
  };
}
