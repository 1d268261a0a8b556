import type * as vscode from 'vscode';
import { WorkDoneProgress, type LanguageClient, type WorkDoneProgressBegin, type WorkDoneProgressReport } from 'vscode-languageclient/node';

/**
 * Feeds the worker's work-done progress into a VS Code progress notification. LSP reports absolute
 * percentages, `progress.report` wants increments; `also` sees every absolute value (e.g. for a webview).
 */
export function forwardProgress(
  client: LanguageClient,
  workDoneToken: string,
  progress: vscode.Progress<{ increment?: number; message?: string }>,
  also?: (percent: number, message: string) => void,
): vscode.Disposable {
  let last = 0;
  return client.onProgress(WorkDoneProgress.type, workDoneToken, (v) => {
    if (v.kind === 'end') return;
    const r = v as WorkDoneProgressBegin | WorkDoneProgressReport;
    const pct = r.percentage ?? last;
    progress.report({ increment: Math.max(0, pct - last), message: r.message });
    last = Math.max(last, pct);
    also?.(pct, r.message ?? '');
  });
}
