/**
 * The run queue: one run at a time, in submission order; a queued run can be cancelled before it starts.
 * Its state (running, queued) is published after every change.
 */
import type { CancellationToken } from 'vscode-languageserver/node';
import type { QueueStatusParams, RunSummary } from '../../../protocol/messages';
import { cancelled, type RunHooks, type RunProcesses } from './runProcess';
import type { RunJob, RunResults } from './runMessages';

/** The jobs that queue (engineInfo does not: it only loads the runtimes). */
export type QueuedJob = Extract<RunJob, { kind: RunSummary['kind'] }>;

interface QueuedRun {
  summary: RunSummary;
  /** starts the run in a process (its answer goes to the submitter); resolves once the process is free again */
  start(): Promise<void>;
  reject(e: unknown): void;
}

export class RunQueue {
  private nextRunId = 1;
  private readonly queue: QueuedRun[] = [];
  private running: { run: QueuedRun; startedAt: number } | null = null;

  /**
   * @param processes where the runs run
   * @param publish where the queue's state goes after every change (the worker: a certseg/queueStatus notification)
   */
  constructor(
    private readonly processes: RunProcesses,
    private readonly publish: (q: QueueStatusParams) => void,
  ) {}

  status(): QueueStatusParams {
    return {
      running: this.running ? { ...this.running.run.summary, startedAt: this.running.startedAt } : null,
      queued: this.queue.map((q) => q.summary),
    };
  }

  private publishStatus() {
    this.publish(this.status());
  }

  /** Queues a run; `onStart` is called when it leaves the queue for its process. */
  submit<J extends QueuedJob>(
    label: string,
    job: J,
    token: CancellationToken,
    hooks: RunHooks,
    onStart: () => void,
  ): Promise<RunResults[J['kind']]> {
    return new Promise((resolve, reject) => {
      const run: QueuedRun = {
        summary: { id: this.nextRunId++, kind: job.kind, label },
        start: () => {
          onStart();
          const { promise, ended } = this.processes.run(job, token, hooks);
          promise.then(resolve, reject);
          return ended;
        },
        reject,
      };
      this.queue.push(run);
      const sub = token.onCancellationRequested(() => {
        const i = this.queue.indexOf(run);
        if (i >= 0) {
          this.queue.splice(i, 1);
          sub.dispose();
          reject(cancelled());
          this.publishStatus();
        }
      });
      this.publishStatus();
      this.pump();
    });
  }

  private pump() {
    if (this.running) return;
    const run = this.queue.shift();
    if (!run) return;
    this.running = { run, startedAt: Date.now() };
    this.publishStatus();
    // The next run starts once the process is free again (kept warm, or gone and replaced).
    void run.start().then(() => {
      this.running = null;
      this.publishStatus();
      this.pump();
    });
  }

  /** Rejects every queued run (shutdown); a running one ends with its process. */
  cancelQueued(): void {
    for (const r of this.queue.splice(0)) r.reject(cancelled());
    this.publishStatus();
  }
}
