/**
 * A process that certifies with the noise thread and then simply returns (no process.exit): it must end by
 * itself, so an idle noise thread does not keep a process alive (test/core/noiseThread.test.ts).
 */
import { segCertify } from '../../server/src/core/segcertify';
import { noiseThreadId } from '../../server/src/core/noiseThread';
import { constantImage, toySegmenter } from './toySegmenter';

void (async () => {
  const out = await segCertify({
    image: constantImage(64),
    height: 8,
    width: 8,
    segmenter: toySegmenter(Array(64).fill(0.95), 0.25),
    denoiser: null,
    params: { sigma: 0.25, n0: 10, n: 100, tau: 0.75, alpha: 0.05, correction: 'holm', batchSize: 8, seed: 1, radiusMap: false },
    noiseThread: true,
  });
  console.log(JSON.stringify({ noise: out.noise, thread: noiseThreadId(), certified: out.certifiedPixels }));
})();
