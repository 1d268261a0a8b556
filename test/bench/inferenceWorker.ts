/**
 * The worker side of --only=inferencethread (inferenceThread.ts): loads the config's models in this thread and
 * runs denoise + segment on the batches the main thread sends, the way the sampling loop runs them (the
 * composed graph when it can run, engines/processing.ts forSampling). Buffers come and go as transferables.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadConfig } from '../../server/src/config/config';
import { forSampling, newProcessingRecord } from '../../server/src/engines/processing';
import { workingShape } from '../../server/src/engines/workingShape';
import { getDenoiser, getSegmenter } from '../../server/src/pipeline/models';
import { bindDenoiser, bindSegmenter } from '../../server/src/pipeline/memoryPlan';

export interface InferenceJob {
  configPath: string;
  noDenoiser: boolean;
  height: number;
  width: number;
}
export type InferenceRequest = { type: 'run'; id: number; count: number; buffer: ArrayBuffer } | { type: 'close' };
export type InferenceReply = { id: number; buffer: ArrayBuffer; labels: ArrayBuffer; ms: number };

export async function loadPair(job: InferenceJob) {
  const config = await loadConfig(job.configPath, job.noDenoiser ? { denoiser: null } : {});
  const seg0 = await getSegmenter(config.segmenter, config.engine);
  const den0 = config.denoiser ? await getDenoiser(config.denoiser, config.engine, config.denoiseConvention) : null;
  const { height: h, width: w } = job;
  const seg = bindSegmenter(seg0, workingShape(seg0.card.input, h, w));
  const den = den0 && bindDenoiser(den0, workingShape(den0.card.input, h, w));
  const pair = forSampling(seg, den, config.sigma, newProcessingRecord());
  /** labels of `count` noisy images (count × 3 × h × w) */
  const infer = async (noisy: Float32Array, count: number): Promise<Uint8Array> => {
    const x = pair.denoiser ? await pair.denoiser.denoise(noisy, count, h, w, config.sigma) : noisy;
    return pair.segmenter.segment(x, count, h, w);
  };
  return { config, infer };
}

if (parentPort && workerData) {
  const port = parentPort;
  const job = workerData as InferenceJob;
  const ready = loadPair(job);
  port.on('message', async (m: InferenceRequest) => {
    if (m.type === 'close') return port.close();
    const { infer } = await ready;
    const t0 = performance.now();
    const labels = await infer(new Float32Array(m.buffer, 0, m.count * 3 * job.height * job.width), m.count);
    const own = labels.byteOffset === 0 && labels.byteLength === labels.buffer.byteLength ? labels : labels.slice();
    const reply: InferenceReply = { id: m.id, buffer: m.buffer, labels: own.buffer as ArrayBuffer, ms: performance.now() - t0 };
    port.postMessage(reply, [m.buffer, reply.labels]);
  });
}
