/**
 * The dataset report: one webview panel per dataset run folder (summary.json written by certifyDataset).
 * The page is rendered by reportHtml.ts; localResourceRoots is the run folder only (the accuracy-vs-radius
 * SVG is its one resource). A click on a row opens that image's stored result in the preview; the panel
 * comes back after a reload (serializer, state = the run folder).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DatasetSummary } from '../../server/src/pipeline/certifyDataset';
import type { ImageReport } from '../../server/src/pipeline/types';
import { PreviewController } from './preview';
import { reportHtml, type FromReport, type ReportRun, type ReportState } from './reportHtml';
import type { Worker } from './worker';

export const REPORT_VIEW_TYPE = 'certseg.datasetReport';
const panels = new Map<string, vscode.WebviewPanel>();

export async function readRun(runDir: string): Promise<ReportRun | null> {
  const file = path.join(runDir, 'summary.json');
  try {
    const summary = JSON.parse(await readFile(file, 'utf8')) as DatasetSummary;
    return { runDir, label: path.basename(runDir), summary, mtimeMs: statSync(file).mtimeMs };
  } catch {
    return null;
  }
}

/** Every run with a summary in the dataset's runs folder (the parent of a run folder). */
export async function siblingRuns(runsRoot: string): Promise<ReportRun[]> {
  let names: string[] = [];
  try {
    names = (await readdir(runsRoot, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    return [];
  }
  return (await Promise.all(names.map((n) => readRun(path.join(runsRoot, n))))).filter((r): r is ReportRun => r !== null);
}

export async function showReport(context: vscode.ExtensionContext, worker: Worker, runDir: string, existing?: vscode.WebviewPanel): Promise<void> {
  let panel = existing ?? panels.get(runDir);
  if (panel && !existing) {
    panel.reveal();
    return;
  }
  const run = await readRun(runDir);
  if (!run) {
    void vscode.window.showWarningMessage(`certseg: no summary.json in ${runDir} (the run did not finish: Certify all resumes it).`);
    existing?.dispose();
    return;
  }
  const title = `Report: ${path.basename(run.summary.dataset)} (${run.label})`;
  const options: vscode.WebviewOptions & vscode.WebviewPanelOptions = { enableScripts: true, localResourceRoots: [vscode.Uri.file(runDir)], enableFindWidget: true };
  if (!panel) panel = vscode.window.createWebviewPanel(REPORT_VIEW_TYPE, title, vscode.ViewColumn.Active, options);
  else {
    panel.title = title;
    panel.webview.options = options;
  }
  const p = panel;
  panels.set(runDir, p);
  p.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'icon.svg');
  const render = async () => {
    const r = (await readRun(runDir)) ?? run;
    const plotFile = path.join(runDir, r.summary.files?.plot ?? 'accuracy-vs-radius.svg');
    const plotUrl = existsSync(plotFile) ? p.webview.asWebviewUri(vscode.Uri.file(plotFile)).with({ query: `v=${statSync(plotFile).mtimeMs}` }).toString() : null;
    p.webview.html = reportHtml({
      nonce: randomBytes(16).toString('base64'),
      cspSource: p.webview.cspSource,
      title: path.basename(r.summary.dataset),
      run: r,
      plotUrl,
      siblings: await siblingRuns(path.dirname(runDir)),
    });
  };
  await render();
  const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(runDir), 'summary.json'));
  const subs = [
    watcher,
    watcher.onDidChange(() => void render()),
    watcher.onDidCreate(() => void render()),
    p.webview.onDidReceiveMessage(async (m: FromReport) => {
      if (m.type === 'openSample') await openSampleResult(context, worker, path.resolve(runDir, m.dir));
      else if (m.type === 'openRun') await showReport(context, worker, m.runDir);
      else if (m.type === 'openSummary') await vscode.window.showTextDocument(vscode.Uri.file(path.join(runDir, 'summary.json')), { viewColumn: vscode.ViewColumn.Beside });
    }),
  ];
  p.onDidDispose(() => {
    if (panels.get(runDir) === p) panels.delete(runDir);
    for (const s of subs) s.dispose();
  });
}

/** Opens the preview of the image a per-image result folder belongs to, showing that stored result. */
export async function openSampleResult(context: vscode.ExtensionContext, worker: Worker, resultDir: string): Promise<void> {
  let report: ImageReport;
  try {
    report = JSON.parse(await readFile(path.join(resultDir, 'report.json'), 'utf8')) as ImageReport;
  } catch {
    void vscode.window.showWarningMessage(`certseg: no result in ${resultDir}.`);
    return;
  }
  const c = PreviewController.forImage(context, worker, report.image.path);
  worker.log.info(`report: open ${report.image.path} with the result in ${resultDir}`);
  await c.showResultFrom(resultDir);
}

export class ReportSerializer implements vscode.WebviewPanelSerializer<ReportState> {
  constructor(private readonly context: vscode.ExtensionContext, private readonly worker: Worker) {}
  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: ReportState | undefined): Promise<void> {
    this.worker.log.info(`reviving the report of ${state?.runDir ?? '(no state)'}`);
    if (!state?.runDir) return panel.dispose();
    await showReport(this.context, this.worker, state.runDir, panel);
  }
}
