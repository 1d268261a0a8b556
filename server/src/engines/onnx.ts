/**
 * ONNX Runtime (onnxruntime-node) runner. CUDA is tried only when the installed package lists it
 * (installed with --onnxruntime-node-install=cuda12) and session creation succeeds; otherwise CPU.
 * session.run is async, so inference stays off the event loop.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { CertsegError } from '../core/errors';
import type { EngineInfo } from '../../../protocol/results';
import type { Feed, ModelRunner, RunOutput, TensorMeta } from './runner';

export function onnxVersion(): string {
  return (ort.env.versions as { node?: string; common?: string }).node ?? ort.env.versions.common ?? 'unknown';
}

/** Execution providers this install can try, best first. */
export function onnxProviders(): string[] {
  let listed: { name: string }[] = [];
  try {
    listed = ort.listSupportedBackends() as { name: string }[];
  } catch {
    // older packages have no listing: CPU only
  }
  // 'cuda' is listed even when its provider library was never downloaded: check the file, or ORT logs an error
  const cudaLib = path.join(path.dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch,
    process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so');
  return listed.some((b) => b.name === 'cuda') && existsSync(cudaLib) ? ['cuda', 'cpu'] : ['cpu'];
}

let cudaBroken = false; // one failed CUDA session means this install has no usable CUDA: skip it afterwards

async function createSession(file: string, shown: string): Promise<{ session: ort.InferenceSession; backend: string }> {
  let lastErr: unknown;
  for (const ep of onnxProviders()) {
    if (ep === 'cuda' && cudaBroken) continue;
    try {
      const session = await ort.InferenceSession.create(file, { executionProviders: [ep], graphOptimizationLevel: 'all' });
      return { session, backend: ep };
    } catch (e) {
      lastErr = e;
      if (ep === 'cuda') cudaBroken = true;
    }
  }
  const msg = String((lastErr as Error)?.message ?? lastErr).split('\n')[0];
  throw new CertsegError(`${shown}: ONNX Runtime cannot load the model (${msg})`, 'model');
}

function meta(m: ort.InferenceSession.ValueMetadata): TensorMeta {
  if (!m.isTensor) return { name: m.name, dims: null, dtype: 'non-tensor' };
  return { name: m.name, dims: m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : null)), dtype: m.type };
}

function toNumbers(t: ort.Tensor): RunOutput {
  const dims = [...t.dims];
  switch (t.type) {
    case 'float32': return { data: t.data as Float32Array, dims };
    case 'float16': case 'float64': return { data: Float32Array.from(t.data as ArrayLike<number>), dims };
    case 'int64': case 'uint64': return { data: Int32Array.from(t.data as BigInt64Array, Number), dims };
    case 'int32': case 'int8': case 'uint8': case 'int16': case 'uint16': case 'uint32': case 'bool':
      return { data: Int32Array.from(t.data as ArrayLike<number>, Number), dims };
    default: throw new CertsegError(`ONNX output of type ${t.type} is not supported`, 'model');
  }
}

export async function loadOnnxRunner(file: string, shown: string): Promise<ModelRunner> {
  const { session, backend } = await createSession(file, shown);
  const info: EngineInfo = { engine: 'onnx', backend, device: backend === 'cpu' ? 'cpu' : 'gpu', version: onnxVersion() };
  return {
    info,
    inputs: session.inputMetadata.map(meta),
    outputs: session.outputMetadata.map(meta),
    async run(feeds: Record<string, Feed>, output: string): Promise<RunOutput> {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, f] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(f.dtype, f.data, f.dims);
      const res = await session.run(ortFeeds, [output]);
      const t = res[output];
      const out = toNumbers(t);
      return out;
    },
    async dispose() {
      await session.release();
    },
  };
}
