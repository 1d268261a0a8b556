/**
 * ONNX Runtime (onnxruntime-node) runner. CUDA is tried only when the installed package lists it
 * (installed with --onnxruntime-node-install=cuda12) and session creation succeeds; otherwise CPU.
 *
 * session.run returns a promise but does NOT keep inference off the JS thread: onnxruntime-node runs the
 * graph synchronously inside the call (measured: one event-loop turn in a 7.5 s run), so nothing else in this
 * process (noise for the next batch, I/O, messages) runs while a batch is in ORT.
 *
 * Session options (ortSessionOptions) are chosen here and recorded in EngineInfo.session (the report's
 * provenance). The graph ORT optimized is cached on disk (optimizedModelFilePath; ortCacheDir), keyed by the
 * model file's SHA-256, the ORT version, the execution provider, the optimization level and the CPU: a later
 * session loads it with graph optimizations off. The cache never fails a run: an unwritable folder or a broken
 * cached file only means a normal (uncached) session.
 */
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { CertsegError } from '../core/errors';
import type { EngineInfo, OrtSessionRecord } from '../../../protocol/results';
import type { Feed, ModelRunner, RunOutput, TensorMeta } from './runner';

/** The options a session is created with (the cache state is decided at creation). */
export type OrtSessionChoice = Omit<OrtSessionRecord, 'optimizedModelCache'>;

/**
 * Whether ORT's intra-op threads spin-wait between parallel sections (ORT's own default: they do). Off, they
 * sleep, which leaves their cores to the noise thread while run() blocks the JS thread: measured here on 2 cores
 * ("ONNX Runtime's threads spinning" in docs/performance.md).
 */
export const ORT_SPINNING_DEFAULT = false;

/**
 * The defaults. docs/performance.md ("ONNX Runtime session options") has the sweep of threads, optimization level,
 * arena and batch on this machine (2 shared cores): no option beat what certseg used before beyond the noise.
 * Spinning was measured on its own, with the noise thread ("ONNX Runtime's threads spinning").
 */
export const DEFAULT_ORT_OPTIONS: Readonly<OrtSessionChoice> = Object.freeze({
  intraOpNumThreads: 0,
  graphOptimizationLevel: 'all',
  enableCpuMemArena: true,
  executionMode: 'sequential',
  allowSpinning: ORT_SPINNING_DEFAULT,
});

export interface OnnxLoadOptions {
  /** overrides of DEFAULT_ORT_OPTIONS (the bench sweeps them) */
  session?: Partial<OrtSessionChoice>;
  /** false: no optimized-model cache (neither read nor written); default true */
  cache?: boolean;
}

/** Where optimized graphs are cached: $CERTSEG_CACHE_DIR/ort, else $XDG_CACHE_HOME/certseg/ort, else ~/.cache/certseg/ort. */
export function ortCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CERTSEG_CACHE_DIR) return path.join(env.CERTSEG_CACHE_DIR, 'ort');
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(base, 'certseg', 'ort');
}

/**
 * The cached file for a model under these conditions. The CPU is part of the key: level 'all' bakes
 * hardware-specific layouts (NCHWc) into the saved graph, which ORT says is only valid where it was made.
 */
export function ortCacheFile(dir: string, modelBytes: Buffer, ep: string, level: string): string {
  const sha = createHash('sha256').update(modelBytes).digest('hex');
  const hw = createHash('sha256')
    .update(`${process.platform}|${process.arch}|${os.cpus()[0]?.model ?? ''}`)
    .digest('hex')
    .slice(0, 12);
  return path.join(dir, `${sha}-ort${onnxVersion()}-${ep}-${level}-${hw}.onnx`);
}

/** The cache folder if it exists or can be made, and can be written; null otherwise (never throws). */
function writableDir(dir: string): string | null {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return dir;
  } catch {
    return null;
  }
}

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
  const cudaLib = path.join(
    path.dirname(require.resolve('onnxruntime-node')),
    '..',
    'bin',
    'napi-v6',
    process.platform,
    process.arch,
    process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so',
  );
  return listed.some((b) => b.name === 'cuda') && existsSync(cudaLib) ? ['cuda', 'cpu'] : ['cpu'];
}

let cudaBroken = false; // one failed CUDA session means this install has no usable CUDA: skip it afterwards

function sessionOptions(ep: string, o: OrtSessionChoice): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [ep],
    graphOptimizationLevel: o.graphOptimizationLevel,
    enableCpuMemArena: o.enableCpuMemArena,
    executionMode: o.executionMode,
    ...(o.intraOpNumThreads > 0 ? { intraOpNumThreads: o.intraOpNumThreads } : {}),
    // session config entry session.intra_op.allow_spinning (onnxruntime-node passes `extra` through as strings)
    extra: { session: { intra_op: { allow_spinning: o.allowSpinning ? '1' : '0' } } },
  };
}

/** One session on one execution provider, through the optimized-model cache where it can. */
async function createCached(
  file: string | Uint8Array,
  ep: string,
  o: OrtSessionChoice,
  useCache: boolean,
): Promise<{ session: ort.InferenceSession; cache: OrtSessionRecord['optimizedModelCache'] }> {
  const opts = sessionOptions(ep, o);
  const dir = useCache && o.graphOptimizationLevel !== 'disabled' ? writableDir(ortCacheDir()) : null;
  let cached: string | null = null;
  if (dir) {
    try {
      cached = ortCacheFile(dir, typeof file === 'string' ? readFileSync(file) : Buffer.from(file), ep, o.graphOptimizationLevel);
    } catch {
      cached = null; // unreadable model: the plain creation below reports it
    }
  }
  if (cached && existsSync(cached)) {
    try {
      // already optimized at the recorded level: optimizing again would only repeat the work
      return { session: await ort.InferenceSession.create(cached, { ...opts, graphOptimizationLevel: 'disabled' }), cache: 'hit' };
    } catch {
      rmSync(cached, { force: true }); // broken or from an incompatible build: made again below
    }
  }
  if (cached) {
    // written under a unique name and renamed: processes started together (shards) never read a half-written file
    const tmp = `${cached}.${process.pid}-${randomBytes(4).toString('hex')}.tmp.onnx`;
    try {
      // logSeverityLevel 3: ORT warns that level 'all' saves hardware-specific layouts (the key has the CPU)
      const o2 = { ...opts, optimizedModelFilePath: tmp, logSeverityLevel: 3 as const };
      const session = typeof file === 'string' ? await ort.InferenceSession.create(file, o2) : await ort.InferenceSession.create(file, o2);
      let saved = false;
      try {
        renameSync(tmp, cached);
        saved = true;
      } catch {
        rmSync(tmp, { force: true });
      }
      return { session, cache: saved ? 'miss' : 'off' };
    } catch {
      rmSync(tmp, { force: true }); // saving failed (or the model does not load): try once without the cache
    }
  }
  return {
    session: typeof file === 'string' ? await ort.InferenceSession.create(file, opts) : await ort.InferenceSession.create(file, opts),
    cache: 'off',
  };
}

/** A session on a model file or on model bytes (engines/compose.ts: a composed graph), with the same providers, options and cache. */
export async function createSession(
  file: string | Uint8Array,
  shown: string,
  o: OrtSessionChoice,
  useCache: boolean,
): Promise<{ session: ort.InferenceSession; backend: string; cache: OrtSessionRecord['optimizedModelCache'] }> {
  let lastErr: unknown;
  for (const ep of onnxProviders()) {
    if (ep === 'cuda' && cudaBroken) continue;
    try {
      return { ...(await createCached(file, ep, o, useCache)), backend: ep };
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
    case 'float32':
      return { data: t.data as Float32Array, dims };
    case 'float16':
    case 'float64':
      return { data: Float32Array.from(t.data as ArrayLike<number>), dims };
    case 'int64':
    case 'uint64':
      return { data: Int32Array.from(t.data as BigInt64Array, Number), dims };
    case 'int32':
    case 'int8':
    case 'uint8':
    case 'int16':
    case 'uint16':
    case 'uint32':
    case 'bool':
      return { data: Int32Array.from(t.data as ArrayLike<number>, Number), dims };
    default:
      throw new CertsegError(`ONNX output of type ${t.type} is not supported`, 'model');
  }
}

/**
 * CERTSEG_ORT_THREADS: ONNX Runtime's intra-op threads for every session (0 or unset: ORT's default, one per
 * physical core of the machine). For a job given fewer cores than the machine has (a Slurm task's
 * --cpus-per-task, a container's CPU quota), or to leave a core to the noise thread (docs/performance.md).
 */
export function ortThreadsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<OrtSessionChoice> {
  const v = env.CERTSEG_ORT_THREADS?.trim();
  if (!v) return {};
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 1024)
    throw new CertsegError(`CERTSEG_ORT_THREADS must be a whole number of threads (0: ONNX Runtime's default), not "${v}"`, 'config');
  return { intraOpNumThreads: n };
}

/**
 * CERTSEG_ORT_SPINNING=1 / =0: ORT's intra-op threads spin-wait between parallel sections, or sleep (unset:
 * ORT_SPINNING_DEFAULT). Spinning can pay where the cores are ORT's alone and nothing else wants them.
 */
export function ortSpinningFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<OrtSessionChoice> {
  const v = env.CERTSEG_ORT_SPINNING?.trim();
  if (!v) return {};
  if (v === '1' || v === 'true') return { allowSpinning: true };
  if (v === '0' || v === 'false') return { allowSpinning: false };
  throw new CertsegError(`CERTSEG_ORT_SPINNING must be 1 (ONNX Runtime's threads spin-wait) or 0 (they sleep), not "${v}"`, 'config');
}

export async function loadOnnxRunner(file: string, shown: string, opts: OnnxLoadOptions = {}): Promise<ModelRunner> {
  const choice: OrtSessionChoice = { ...DEFAULT_ORT_OPTIONS, ...ortThreadsFromEnv(), ...ortSpinningFromEnv(), ...opts.session };
  const { session, backend, cache } = await createSession(file, shown, choice, opts.cache ?? true);
  const info: EngineInfo = {
    engine: 'onnx',
    backend,
    device: backend === 'cpu' ? 'cpu' : 'gpu',
    version: onnxVersion(),
    session: { ...choice, optimizedModelCache: cache },
  };
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
