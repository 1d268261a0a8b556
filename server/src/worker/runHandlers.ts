/**
 * The requests that run in the queue (certseg/certifyImage, certifyDataset, recertify, consistency): params
 * checked (params.ts) before anything is queued, then one run in a run process, with work-done progress
 * ("queued", "starting", then the run's own) and, for certifyImage, partial results.
 */
import { type CancellationToken, type Connection, ProgressType, type WorkDoneProgressReporter } from 'vscode-languageserver/node';
import type {
  CertifyDatasetParams,
  CertifyImageParams,
  CertifyImageResultWire,
  ConsistencyParams,
  ConsistencyResultWire,
  DatasetSummaryWire,
  PartialResultWire,
  RecertifyParams,
} from '../../../protocol/messages';
import type { ImageReport } from '../../../protocol/results';
import { certifyDatasetJob, certifyImageJob, consistencyJob, recertifyJob } from './params';
import type { RunHooks } from './runProcess';
import type { RunQueue } from './runQueue';

const partialResultType = new ProgressType<PartialResultWire>();

/** The pipeline's progress events as work-done reports: a percentage and one message, sent when either changes. */
function percentReporter(reporter: WorkDoneProgressReporter): NonNullable<RunHooks['onProgress']> {
  let last = -1;
  let lastMsg = '';
  return (e) => {
    const pct = Math.max(0, Math.min(100, Math.round(e.percent)));
    // the pipeline's messages may already start with the phase ("estimation 8/100 samples"): say it once
    const msg = !e.message ? e.phase : e.message.startsWith(e.phase) ? e.message : `${e.phase}: ${e.message}`;
    if (pct === last && msg === lastMsg) return;
    last = pct;
    lastMsg = msg;
    reporter.report(pct, msg);
  };
}

export interface RunHandlers {
  certifyImage(params: CertifyImageParams, token: CancellationToken): Promise<CertifyImageResultWire>;
  certifyDataset(params: CertifyDatasetParams, token: CancellationToken): Promise<DatasetSummaryWire>;
  recertify(params: RecertifyParams, token: CancellationToken): Promise<ImageReport>;
  consistency(params: ConsistencyParams, token: CancellationToken): Promise<ConsistencyResultWire>;
}

export function runHandlers(connection: Connection, queue: RunQueue): RunHandlers {
  /** work-done progress around a queued run: "queued" until it starts, then the run's own progress */
  async function withProgress<R>(
    title: string,
    params: { workDoneToken?: string | number },
    run: (reporter: WorkDoneProgressReporter) => Promise<R>,
  ): Promise<R> {
    const reporter = await connection.window.attachWorkDoneProgress(params.workDoneToken);
    reporter.begin(title, 0, 'queued', true);
    try {
      return await run(reporter);
    } finally {
      reporter.done();
    }
  }

  return {
    async certifyImage(params, token) {
      const job = await certifyImageJob(params); // refused before it is queued
      const partialToken = params.partialResultToken;
      return withProgress('Certifying', params, (reporter) =>
        queue.submit(
          job.imagePath,
          job,
          token,
          {
            onProgress: percentReporter(reporter),
            onPartial: (partial) => {
              if (partialToken !== undefined) void connection.sendProgress(partialResultType, partialToken, partial).catch(() => undefined);
            },
          },
          () => reporter.report(0, 'starting'),
        ),
      );
    },

    async certifyDataset(params, token) {
      const job = await certifyDatasetJob(params);
      return withProgress('Certifying dataset', params, (reporter) =>
        queue.submit(job.dir, job, token, { onProgress: percentReporter(reporter) }, () => reporter.report(0, 'starting')),
      );
    },

    async recertify(params, token) {
      const job = recertifyJob(params);
      return queue.submit(job.dir, job, token, {}, () => undefined);
    },

    async consistency(params, token) {
      const job = consistencyJob(params);
      return withProgress('Translation consistency', params, (reporter) =>
        queue.submit(job.imagePath, job, token, { onProgress: percentReporter(reporter) }, () => reporter.report(0, 'starting')),
      );
    },
  };
}
