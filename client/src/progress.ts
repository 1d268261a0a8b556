/**
 * One way to run a worker request with a progress notification: `runWithProgress` shows a cancellable
 * notification, forwards the worker's work-done progress into it (and to `onProgress`, e.g. a webview),
 * and turns the notification's Cancel into the caller's CancellationTokenSource, whose token goes with the
 * request (so a webview's own Cancel button cancels the same way). The work-done token is a fresh UUID.
 */
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { WorkDoneProgress, type LanguageClient, type WorkDoneProgressBegin, type WorkDoneProgressReport } from 'vscode-languageclient/node';
import { ProgressIncrements } from './progressIncrements';

export interface ProgressRun {
  /** the notification's title */
  title: string;
  /** owned by the caller (who may cancel it too); the notification's Cancel cancels it */
  cancellation: vscode.CancellationTokenSource;
  /** every absolute percentage and message the worker reports */
  onProgress?: (percent: number, message: string) => void;
}

export async function runWithProgress<R>(
  client: LanguageClient,
  opts: ProgressRun,
  run: (workDoneToken: string, token: vscode.CancellationToken) => Promise<R>,
): Promise<R> {
  return await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: opts.title, cancellable: true },
    async (progress, token) => {
      const sub = token.onCancellationRequested(() => opts.cancellation.cancel());
      const workDoneToken = randomUUID();
      const forwarded = forwardProgress(client, workDoneToken, progress, opts.onProgress);
      try {
        return await run(workDoneToken, opts.cancellation.token);
      } finally {
        sub.dispose();
        forwarded.dispose();
      }
    },
  );
}

/**
 * Feeds the worker's work-done progress into a VS Code progress notification. LSP reports absolute
 * percentages, `progress.report` wants increments; `also` sees every absolute value (e.g. for a webview).
 */
function forwardProgress(
  client: LanguageClient,
  workDoneToken: string,
  progress: vscode.Progress<{ increment?: number; message?: string }>,
  also?: (percent: number, message: string) => void,
): vscode.Disposable {
  const increments = new ProgressIncrements();
  return client.onProgress(WorkDoneProgress.type, workDoneToken, (v) => {
    if (v.kind === 'end') return;
    const r = v as WorkDoneProgressBegin | WorkDoneProgressReport;
    const { percent, increment } = increments.next(r.percentage);
    progress.report({ increment, message: r.message });
    also?.(percent, r.message ?? '');
  });
}
