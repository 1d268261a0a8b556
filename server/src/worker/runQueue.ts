/**
 * The run queue: one run at a time, in submission order; a queued run can be cancelled before it starts.
 * Its state (running, queued) is published after every change.
 */
import type { CancellationToken } from 'vscode-languageserver/node';
import type { QueueStatusParams, RunSummary } from '../../../protocol/messages';
import { cancelled, runInProcess, type RunHooks } from './runProcess';
import type { ThreadJob, ThreadResult } from './threadMessages';

interface QueuedRun {
  summary: RunSummary;
  job: ThreadJob;
  token: CancellationToken;
  hooks: RunHooks;
  onStart(): void;
  resolve(r: ThreadResult): void;
  reject(e: unknown): void;
}

let nextRunId = 1;
const queue: QueuedRun[] = [];
let running: { run: QueuedRun; startedAt: number } | null = null;

export function queueStatus(): QueueStatusParams {
  return {
    running: running ? { ...running.run.summary, startedAt: running.startedAt } : null,
    queued: queue.map((q) => q.summary),
  };
}
let publish: (q: QueueStatusParams) => void = () => undefined;
/** Where the queue's state goes after every change (the worker: a certseg/queueStatus notification). */
export function onQueueChange(f: (q: QueueStatusParams) => void): void {
  publish = f;
}
function publishQueue() {
  publish(queueStatus());
}

export function submit(kind: RunSummary['kind'], label: string, job: ThreadJob, token: CancellationToken, hooks: RunHooks, onStart: () => void): Promise<ThreadResult> {
  return new Promise((resolve, reject) => {
    const run: QueuedRun = { summary: { id: nextRunId++, kind, label }, job, token, hooks, onStart, resolve, reject };
    queue.push(run);
    const sub = token.onCancellationRequested(() => {
      const i = queue.indexOf(run);
      if (i >= 0) {
        queue.splice(i, 1);
        sub.dispose();
        reject(cancelled());
        publishQueue();
      }
    });
    publishQueue();
    pump();
  });
}

function pump() {
  if (running) return;
  const run = queue.shift();
  if (!run) return;
  running = { run, startedAt: Date.now() };
  publishQueue();
  run.onStart();
  const { promise, ended } = runInProcess(run.job, run.token, run.hooks);
  promise.then(run.resolve, run.reject);
  // The next run starts once the process is free again (kept warm, or gone and replaced).
  void ended.then(() => {
    running = null;
    publishQueue();
    pump();
  });
}

/** Rejects every queued run (shutdown); a running one ends with its process. */
export function cancelQueued(): void {
  for (const r of queue.splice(0)) r.reject(cancelled());
  publishQueue();
}
