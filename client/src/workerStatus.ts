/**
 * What the status bar says about the worker, and how crashes are counted, without `vscode` (unit-tested in
 * test/client/workerStatus.test.ts); worker.ts draws it.
 */
import type { EngineInfoResult, QueueStatusParams } from '../../protocol/messages';

export const MAX_RESTARTS = 4;
export const RESTART_WINDOW_MS = 3 * 60_000;

/** The crashes of the last `windowMs`: restart while there are at most `max` of them. */
export class CrashWindow {
  private times: number[] = [];

  constructor(
    readonly max = MAX_RESTARTS,
    readonly windowMs = RESTART_WINDOW_MS,
  ) {}

  /** Counts a crash at `now`; the number of crashes in the window, this one included. */
  record(now: number): number {
    this.times = [...this.times.filter((t) => now - t < this.windowMs), now];
    return this.times.length;
  }

  /** Whether the crashes counted so far still allow an automatic restart. */
  get mayRestart(): boolean {
    return this.times.length <= this.max;
  }

  get count(): number {
    return this.times.length;
  }

  reset(): void {
    this.times = [];
  }
}

export interface StatusView {
  text: string;
  tooltip: string;
  /** the status bar's warning or error background, or none */
  background?: 'warning' | 'error';
}

/** The status-bar item: restarting, stopped, running a queue, or idle with the engine. */
export function statusView(s: {
  engine: EngineInfoResult | null;
  queue: QueueStatusParams;
  restarting?: boolean;
  stopped: boolean;
}): StatusView {
  const p = s.engine?.preferred;
  const eng = p ? `${p.engine}/${p.device}` : '';
  if (s.restarting)
    return {
      text: '$(sync~spin) certseg: restarting',
      tooltip: 'The certseg worker stopped unexpectedly and is restarting.',
      background: 'warning',
    };
  if (s.stopped)
    return { text: '$(error) certseg: stopped', tooltip: 'The certseg worker is not running. Click for actions.', background: 'error' };
  const r = s.queue.running;
  if (r) {
    const q = s.queue.queued.length;
    return {
      text: `$(sync~spin) certseg: ${r.kind === 'certifyImage' ? 'certifying' : r.kind === 'recertify' ? 're-certifying' : 'dataset'}${q ? ` (+${q} queued)` : ''}`,
      tooltip: `Running: ${r.label}${q ? `\nQueued: ${s.queue.queued.map((x) => x.label).join(', ')}` : ''}${eng ? `\nEngine: ${eng}` : ''}`,
    };
  }
  return {
    text: `$(shield) certseg${eng ? `: ${eng}` : ''}`,
    tooltip: p ? `Engine: ${p.engine} ${p.version}, backend ${p.backend}, device ${p.device}` : 'certseg worker',
  };
}
