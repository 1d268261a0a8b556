/**
 * The run process's entry (dist/server/runChild.js), forked by runProcess.ts with an IPC channel
 * (serialization 'advanced'): a job arrives as an IPC message, progress / partial results / the result go
 * back as messages, then the process waits for the next job with its models loaded (the worker keeps one
 * warm) and exits after IDLE_EXIT_MS idle, so its memory (models, arenas) returns to the OS.
 *
 * Why a process and not a worker_thread: terminating a worker thread while onnxruntime-node has an
 * inference in flight aborts the WHOLE process ("terminate called after throwing an instance of
 * 'Napi::Error'", measured with onnxruntime-node 1.30), which would take the language server down with it.
 * Killing a child process is safe at any point and takes effect at once, even mid-inference.
 * Nothing here writes to the parent's stdout: console output goes to the parent as 'log' messages.
 */
import { format } from 'node:util';
import { loadConfig } from '../config/config';
import { isCertsegError } from '../core/errors';
import { describeEngines } from '../engines/load';
import { certifyDataset } from '../pipeline/certifyDataset';
import { findDatasetPairs } from '../image/dataset';
import { certifyImage } from '../pipeline/certifyImage';
import { recertifyDir } from '../pipeline/recertify';
import type { CertifyImageResult, PartialResult } from '../pipeline/types';
import {
  encodeArray,
  type CertifyImageResultWire,
  type ConsistencyResultWire,
  type PartialResultWire,
  type ShiftMeasurementWire,
} from '../../../protocol/messages';
import { checkImageConsistency, type ShiftMeasurement } from '../pipeline/checkConsistency';
import { toEngineInfoResult } from './engineInfo';
import type { RunJob, RunMessage, RunResult } from './runMessages';

if (!process.send) throw new Error('runChild.js must be forked with an IPC channel (by the worker: runProcess.ts)');
const send = process.send.bind(process);
const post = (m: RunMessage) => void send(m);

for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  console[level] = (...args: unknown[]) => post({ type: 'log', level: level === 'debug' ? 'log' : level, text: format(...args) });
}

function partialToWire(p: PartialResult): PartialResultWire {
  return {
    width: p.width,
    height: p.height,
    phase: p.phase,
    samplesDone: p.samplesDone,
    selected: encodeArray(p.selected) as PartialResultWire['selected'],
    counts: encodeArray(p.counts) as PartialResultWire['counts'],
    certifiedSoFar: p.certifiedSoFar ? (encodeArray(p.certifiedSoFar) as PartialResultWire['selected']) : null,
    samplesTotal: p.samplesTotal,
    thresholds: p.thresholds,
  };
}

function resultToWire(r: CertifyImageResult, outDir: string | null, runMs: number): CertifyImageResultWire {
  return {
    report: r.report,
    width: r.width,
    height: r.height,
    clean: encodeArray(r.clean) as CertifyImageResultWire['clean'],
    selected: encodeArray(r.selected) as CertifyImageResultWire['selected'],
    counts: encodeArray(r.counts) as CertifyImageResultWire['counts'],
    certified: encodeArray(r.certified) as CertifyImageResultWire['certified'],
    radiusMap: r.radiusMap ? (encodeArray(r.radiusMap) as CertifyImageResultWire['radiusMap']) : null,
    mask: r.mask ? (encodeArray(r.mask) as CertifyImageResultWire['mask']) : null,
    outDir,
    runMs,
  };
}

async function run(job: RunJob): Promise<RunResult> {
  const t0 = Date.now();
  switch (job.kind) {
    case 'certifyImage': {
      const config = await loadConfig(job.configPath, job.overrides);
      const result = await certifyImage(
        { imagePath: job.imagePath, slice: job.slice, maskPath: job.maskPath, config, outDir: job.outDir },
        {
          onProgress: (event) => post({ type: 'progress', event }),
          onPartial: job.partials ? (p) => post({ type: 'partial', partial: partialToWire(p) }) : undefined,
          partialIntervalMs: job.partialIntervalMs,
        },
      );
      return resultToWire(result, job.outDir, Date.now() - t0);
    }
    case 'certifyDataset': {
      const config = await loadConfig(job.configPath, job.overrides);
      // Progress over the whole dataset: image k of N, the image's own percentage scaled into its share.
      const total = Math.min(job.limit ?? Infinity, (await findDatasetPairs(job.dir)).length);
      let done = 0;
      const summary = await certifyDataset(job.dir, config, job.outDir, {
        onProgress: (event) =>
          post({
            type: 'progress',
            event: {
              ...event,
              percent: total ? ((done + event.percent / 100) / total) * 100 : event.percent,
              message: `image ${done + 1}/${total}${event.message ? ` ${event.message}` : ''}`,
            },
          }),
        onImage: (i, n, id, _report, skipped) => {
          done = i + 1;
          post({
            type: 'progress',
            event: {
              phase: 'write',
              done: i + 1,
              total: n,
              percent: (100 * (i + 1)) / n,
              message: `${id} ${skipped ? 'done earlier (resumed)' : 'certified'} (${i + 1}/${n})`,
            },
          });
        },
        ...(job.limit !== undefined ? { limit: job.limit } : {}),
        ...(job.resume !== undefined ? { resume: job.resume } : {}),
      });
      return JSON.parse(JSON.stringify(summary)) as typeof summary;
    }
    case 'recertify':
      return await recertifyDir(job.dir, job.params);
    case 'consistency':
      return await consistency(job, t0);
    case 'engineInfo':
      return toEngineInfoResult(await describeEngines());
  }
}

function shiftToWire<T extends ShiftMeasurement>(m: T): Omit<T, 'flipMap'> & { flipMap: ShiftMeasurementWire['flipMap'] } {
  return { ...m, flipMap: encodeArray(m.flipMap) as ShiftMeasurementWire['flipMap'] };
}

/** Translation consistency of one image (pipeline/checkConsistency.ts), in its wire form. */
async function consistency(job: Extract<RunJob, { kind: 'consistency' }>, t0: number): Promise<ConsistencyResultWire> {
  const r = await checkImageConsistency(job, {
    onProgress: (percent, message) => post({ type: 'progress', event: { phase: 'load', done: 0, total: 0, percent, message } }),
  });
  return { ...r, plain: shiftToWire(r.plain), cropSelection: r.cropSelection && shiftToWire(r.cropSelection), runMs: Date.now() - t0 };
}

function start(job: RunJob) {
  run(job).then(
    (result) => finish({ type: 'result', result }),
    (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      finish({
        type: 'error',
        certseg: isCertsegError(e),
        code: isCertsegError(e) ? e.code : 'internal',
        message: err.message,
        stack: err.stack,
      });
    },
  );
}

/**
 * A process waits for the next job after posting a result: its models stay loaded (pipeline/models.ts) and
 * the runtimes warm. It exits when idle for IDLE_EXIT_MS (memory back to the OS) or when the worker goes away.
 */
const IDLE_EXIT_MS = Number(process.env.CERTSEG_RUN_IDLE_MS ?? 10 * 60_000);
let idleTimer: NodeJS.Timeout | undefined;

function finish(m: RunMessage) {
  post(m);
  idleTimer = setTimeout(() => process.exit(0), IDLE_EXIT_MS);
}

process.on('message', (job: RunJob) => {
  clearTimeout(idleTimer);
  start(job);
});
process.on('disconnect', () => process.exit(0));
idleTimer = setTimeout(() => process.exit(0), IDLE_EXIT_MS);
