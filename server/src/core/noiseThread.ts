/**
 * The noise thread: draws the next batch's noise on a worker_thread while the engine runs the current batch.
 * onnxruntime-node runs session.run synchronously on the JS thread (inside a setImmediate), so noise drawn
 * on the main thread can never overlap with inference (issue 16). The thread (noiseWorker.ts) calls the same
 * rng.ts noisyBatch on the same (seed, sample index) streams, so the values are identical.
 *
 * One thread per process, started on first use and kept: it is unref()'d whenever no run is using it, so it
 * never keeps a process alive (the CLI exits, a warm run process idles out). Buffers travel as transferables
 * (no copies, no SharedArrayBuffer handed to the engines); a run's memory is its two batch buffers, as before.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

export type NoiseRequest =
  | { type: 'begin'; job: number; image: Float32Array; sigma: number; seed: number }
  | { type: 'end'; job: number }
  | { type: 'nice'; value: number }
  | { type: 'fill'; job: number; id: number; first: number; count: number; buffer: ArrayBuffer };
export interface NoiseReply {
  id: number;
  buffer: ArrayBuffer;
  /** time the thread spent drawing */
  ms: number;
  error?: string;
}

/**
 * CERTSEG_NOISE_THREAD=1 / =0 forces the noise thread on / off. Left open, it is on where it measured faster
 * (noiseThreadHelps), and NOISE_THREAD_DEFAULT where nothing is known of the engine.
 */
export const NOISE_THREAD_DEFAULT = false;

/** What the default needs to know of the engine: where it runs, its intra-op threads (0: ORT's default), whether they spin. */
export interface EngineLoad {
  device: string;
  intraOpNumThreads?: number;
  /** ONNX Runtime only: its intra-op threads spin-wait between parallel sections (absent: not ORT, or not known) */
  allowSpinning?: boolean;
}

/**
 * Whether drawing noise on the thread while the engine runs is faster than drawing it on the main thread:
 *  - a GPU engine: inference is off the CPU (reasoned, not measured here);
 *  - ONNX Runtime given fewer intra-op threads (CERTSEG_ORT_THREADS) than this process may use: a core is free
 *    ("A core left to the noise thread" in docs/performance.md: 1.287 → 1.060 of the raw floor, polyp, no denoiser);
 *  - ONNX Runtime on every core with its threads sleeping instead of spin-waiting (engines/onnx.ts
 *    ORT_SPINNING_DEFAULT): the thread takes the cores while they wait ("ONNX Runtime's threads spinning").
 *    With them spinning it was not clearly faster ("Noise thread"), so then it stays off.
 */
export function noiseThreadHelps(e: EngineLoad, cpus: number = availableParallelism()): boolean {
  if (e.device === 'gpu') return true;
  if (cpus < 2) return false; // one CPU: the thread can only take turns with inference
  const t = e.intraOpNumThreads ?? 0;
  if (t > 0 && t < cpus) return true;
  return e.allowSpinning === false;
}

/**
 * The thread's nice value (Linux; CERTSEG_NOISE_THREAD_NICE, 0 to 19): at 19 it takes a core only when the
 * engine leaves one idle, instead of competing with ONNX Runtime's own threads (docs/performance.md).
 */
export const NOISE_THREAD_NICE_DEFAULT = 0;

export function noiseThreadNice(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.CERTSEG_NOISE_THREAD_NICE);
  return env.CERTSEG_NOISE_THREAD_NICE?.trim() && Number.isInteger(v) ? Math.max(0, Math.min(19, v)) : NOISE_THREAD_NICE_DEFAULT;
}

/** CERTSEG_NOISE_THREAD when set; else where the thread helps this engine (`engine` given), else NOISE_THREAD_DEFAULT. */
export function noiseThreadWanted(env: NodeJS.ProcessEnv = process.env, engine?: EngineLoad): boolean {
  const v = env.CERTSEG_NOISE_THREAD?.trim();
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  return engine ? noiseThreadHelps(engine) : NOISE_THREAD_DEFAULT;
}

/** The thread's entry: beside the bundle (dist/server/noiseWorker.js, esbuild.mjs) or, running from the sources under tsx, beside this file. null: neither. */
export function noiseWorkerFile(): string | null {
  for (const f of ['noiseWorker.js', 'noiseWorker.ts']) {
    const p = path.join(__dirname, f);
    if (existsSync(p)) return p;
  }
  return null;
}

interface Pending {
  resolve(r: NoiseReply): void;
  reject(e: Error): void;
}

class NoiseThread {
  readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private nextJob = 1;
  private users = 0;
  private nice = 0;
  dead = false;

  constructor(file: string) {
    this.worker = file.endsWith('.ts')
      ? // from the sources: a worker does not get the process's --import tsx hooks, so it registers tsx itself
        new Worker(`require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(file)});`, { eval: true })
      : new Worker(file);
    this.worker.unref();
    this.worker.on('message', (r: NoiseReply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (r.error) p.reject(new Error(r.error));
      else p.resolve(r);
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`the noise thread exited (code ${code})`)));
  }

  private fail(e: Error) {
    this.dead = true;
    if (shared === this) shared = null;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  begin(image: Float32Array, sigma: number, seed: number): number {
    const job = this.nextJob++;
    if (this.users++ === 0) this.worker.ref(); // a run is waiting on it: keep the process alive
    const nice = noiseThreadNice();
    if (nice !== this.nice) this.post({ type: 'nice', value: (this.nice = nice) }, []);
    const copy = image.slice(); // its own buffer, handed over whole
    this.post({ type: 'begin', job, image: copy, sigma, seed }, [copy.buffer]);
    return job;
  }

  end(job: number) {
    if (this.dead) return;
    this.post({ type: 'end', job }, []);
    if (--this.users === 0) this.worker.unref();
  }

  fill(job: number, into: Float32Array, first: number, count: number): Promise<NoiseReply> {
    if (this.dead) return Promise.reject(new Error('the noise thread has stopped'));
    const id = this.nextId++;
    const reply = new Promise<NoiseReply>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.post({ type: 'fill', job, id, first, count, buffer: into.buffer as ArrayBuffer }, [into.buffer as ArrayBuffer]);
    return reply;
  }

  private post(m: NoiseRequest, transfer: ArrayBuffer[]) {
    this.worker.postMessage(m, transfer);
  }
}

let shared: NoiseThread | null = null;

/** The process's noise thread, started now if need be; null when its entry file is missing. */
function thread(): NoiseThread | null {
  if (shared && !shared.dead) return shared;
  const file = noiseWorkerFile();
  return (shared = file ? new NoiseThread(file) : null);
}

/** Starts the thread ahead of the first run (its start-up then overlaps the models' warm-up). */
export function prestartNoiseThread(): void {
  thread();
}

/** Stops the thread (a later run starts a new one). Not needed for a process to exit: an idle thread is unref()'d. */
export async function stopNoiseThread(): Promise<void> {
  const t = shared;
  shared = null;
  if (t && !t.dead) await t.worker.terminate();
}

/** The thread's id while one runs (tests: that it is reused, and gone after stopNoiseThread). */
export function noiseThreadId(): number | null {
  return shared && !shared.dead ? shared.worker.threadId : null;
}

/** One run's noise on the thread: noisy copies of `image` for global sample indices, as rng.ts noisyBatch. */
export interface NoiseRun {
  /**
   * Fills samples [first, first+count) into `into`'s buffer, which must be a Float32Array over a whole
   * ArrayBuffer: it moves to the thread (detached here) and comes back as the result's `data`.
   */
  fill(into: Float32Array, first: number, count: number): Promise<{ data: Float32Array; ms: number }>;
  /** Frees the thread's copy of the image and lets the process exit when nothing else runs. Call once. */
  close(): void;
}

/** null: no noise thread available (the caller draws noise itself). */
export function startNoiseRun(image: Float32Array, sigma: number, seed: number): NoiseRun | null {
  const t = thread();
  if (!t) return null;
  const job = t.begin(image, sigma, seed);
  return {
    async fill(into, first, count) {
      if (into.byteOffset !== 0 || into.byteLength !== into.buffer.byteLength)
        throw new Error('noise thread: into must span its whole buffer');
      const r = await t.fill(job, into, first, count);
      return { data: new Float32Array(r.buffer), ms: r.ms };
    },
    close: () => t.end(job),
  };
}
