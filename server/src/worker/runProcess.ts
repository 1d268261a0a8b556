/**
 * The run processes (runChild.js): each certification, dataset, re-certification or consistency run happens
 * in a child process, so the worker's JSON-RPC loop stays free and a cancel can kill the run at once, even
 * mid-inference (a worker_thread cannot be terminated safely there: see runChild.ts). One process is kept
 * warm between runs.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LSPErrorCodes, ResponseError, type CancellationToken } from 'vscode-languageserver/node';
import { CertsegErrorCodes } from '../../../protocol/messages';
import type { RunJob, RunMessage, RunResults } from './runMessages';

const RUN_CHILD = join(__dirname, 'runChild.js');
/** how much of a run process's stderr is kept for the log of an unexpected end */
const STDERR_TAIL = 8192;
const STDERR_LINES = 30;

/** Where run processes' output and ends are logged (the client's certseg log). */
export interface RunLog {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface RunHooks {
  onProgress?(e: Extract<RunMessage, { type: 'progress' }>['event']): void;
  onPartial?(p: Extract<RunMessage, { type: 'partial' }>['partial']): void;
}

/** A run in a process: its answer, and when the process is free again (back in reserve, or gone). */
export interface ProcessRun<R> {
  promise: Promise<R>;
  ended: Promise<void>;
}

export const cancelled = () => new ResponseError(LSPErrorCodes.RequestCancelled, 'Run cancelled');

/**
 * A run process (runChild.js) with what it last wrote on stderr. One is kept between runs: its models stay
 * loaded and ONNX Runtime's first slow runs are paid once per session, not once per certification. A
 * cancelled or failed run's process is killed (effective at once, even mid-inference) and a fresh one is
 * started in the background; an idle one exits by itself (runChild.ts, IDLE_EXIT_MS).
 */
interface RunProcess {
  child: ChildProcess;
  stderrTail: string;
}

const alive = (rp: RunProcess) => rp.child.exitCode === null && rp.child.signalCode === null && rp.child.connected;

/** The worker's run processes: the warm one in reserve, and how a job runs in one. */
export class RunProcesses {
  private spare: RunProcess | null = null;

  constructor(private readonly log: RunLog) {
    process.on('exit', () => this.spare?.child.kill('SIGKILL'));
  }

  private fork(): RunProcess {
    const child = fork(RUN_CHILD, [], { serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
    const rp: RunProcess = { child, stderrTail: '' };
    // stdout/stderr of the run (native libraries included) go to the log, never to our stdout.
    child.stdout!.on('data', (d: Buffer) => this.log.log(d.toString().trimEnd()));
    // ...and the last few kB of stderr are kept, to be logged again beside an unexpected end
    child.stderr!.on('data', (d: Buffer) => {
      this.log.log(d.toString().trimEnd());
      rp.stderrTail = (rp.stderrTail + d.toString()).slice(-STDERR_TAIL);
    });
    child.on('error', () => undefined); // reported by the run that uses it
    child.once('exit', () => {
      if (this.spare === rp) this.spare = null;
    });
    return rp;
  }

  /** The warm process if there is one, else a new one. */
  private take(): RunProcess {
    const rp = this.spare;
    this.spare = null;
    return rp && alive(rp) ? rp : this.fork();
  }

  /** Kept for the next run (or replaced by a fresh one when `rp` cannot be trusted any more). */
  private keep(rp: RunProcess | null): void {
    if (this.spare && this.spare !== rp && alive(this.spare)) this.spare.child.kill('SIGKILL');
    this.spare = rp && alive(rp) ? rp : this.fork();
  }

  /**
   * Runs one job in the warm run process (or a fresh one). Resolves with its result; rejects with a
   * ResponseError. `ended` resolves once the process is free again: back in reserve, or gone.
   */
  run<J extends RunJob>(job: J, token: CancellationToken | undefined, hooks: RunHooks): ProcessRun<RunResults[J['kind']]> {
    const log = this.log;
    let endRun!: () => void;
    const ended = new Promise<void>((r) => (endRun = r));
    const promise = new Promise<RunResults[J['kind']]>((resolve, reject) => {
      if (token?.isCancellationRequested) {
        endRun();
        return reject(cancelled());
      }
      const rp = this.take();
      const { child } = rp;
      rp.stderrTail = '';
      let settled = false;
      const detach = () => {
        child.off('message', onMessage);
        child.off('exit', onExit);
        child.off('error', onError);
      };
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        sub?.dispose();
        f();
      };
      // the process is healthy and idle again: keep it for the next run
      const release = () => {
        detach();
        this.keep(rp);
        endRun();
      };
      let cancelledAt = 0;
      const sub = token?.onCancellationRequested(() => {
        cancelledAt = Date.now();
        settle(() => reject(cancelled()));
        child.kill('SIGKILL');
      });
      const onMessage = (m: RunMessage) => {
        if (settled) return;
        switch (m.type) {
          case 'progress':
            hooks.onProgress?.(m.event);
            break;
          case 'partial':
            hooks.onPartial?.(m.partial);
            break;
          case 'log':
            log[m.level === 'warn' ? 'warn' : m.level === 'error' ? 'error' : 'log'](m.text);
            break;
          case 'result':
            // runChild.ts answers a job of kind K with RunResults[K]
            settle(() => resolve(m.result as RunResults[J['kind']]));
            release();
            break;
          case 'error':
            if (!m.certseg) log.error(m.stack ?? m.message);
            settle(() =>
              reject(
                m.code === 'cancelled'
                  ? cancelled()
                  : m.certseg
                    ? new ResponseError(CertsegErrorCodes.UserError, m.message, { code: m.code })
                    : new ResponseError(CertsegErrorCodes.InternalRunError, `Internal error: ${m.message}`),
              ),
            );
            // a user error (bad input) leaves the process sound; after an internal error start afresh
            if (m.certseg) release();
            else child.kill('SIGKILL');
            break;
        }
      };
      const onError = (e: Error) => {
        log.error(`run process failed: ${e.stack ?? e.message}`);
        settle(() => reject(new ResponseError(CertsegErrorCodes.InternalRunError, `Internal error: ${e.message}`)));
        detach();
        this.keep(null);
        endRun();
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        detach();
        if (cancelledAt) {
          log.log(`run ${job.kind}: process ended ${Date.now() - cancelledAt} ms after the cancellation`);
          if (job.kind === 'certifyImage' && job.outDir) void removeStaging(job.outDir, child.pid);
        }
        if (!settled) {
          // "see the certseg log" must find something there: what ran, how it ended, what it last wrote
          const how = signal
            ? `signal ${signal}${signal === 'SIGKILL' ? ', e.g. killed by the system for memory or by hand' : ''}`
            : `exit code ${code}`;
          const tail = rp.stderrTail.trim();
          log.error(
            `run ${job.kind} (process ${child.pid}) stopped unexpectedly: ${how}. ` +
              (tail ? `Last lines on its stderr:\n${tail.split('\n').slice(-STDERR_LINES).join('\n')}` : 'It wrote nothing on stderr.'),
          );
        }
        settle(() =>
          reject(
            new ResponseError(
              CertsegErrorCodes.InternalRunError,
              `The run stopped unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`}); see the certseg log`,
            ),
          ),
        );
        this.keep(null); // a fresh one in reserve for the next run
        endRun();
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.on('error', onError);
      child.send(job);
    });
    return { promise, ended };
  }
}

/** A killed run may leave the pipeline's staging folder (`<outDir>.partial-<pid>-<time>`) behind. */
async function removeStaging(outDir: string, pid: number | undefined) {
  if (pid === undefined) return;
  const prefix = `${basename(outDir)}.partial-${pid}-`;
  try {
    for (const f of await readdir(dirname(outDir)))
      if (f.startsWith(prefix)) await rm(join(dirname(outDir), f), { recursive: true, force: true });
  } catch {
    /* parent folder missing: nothing to clean */
  }
}
