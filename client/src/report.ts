/**
 * The dataset report: one webview panel per dataset run folder (summary.json written by certifyDataset).
 * The page is rendered by reportHtml.ts; localResourceRoots are the run folder (the accuracy-vs-radius SVG)
 * and dist/webview (the page's script, media/src/report.ts). A click on a row opens that image's stored result in the preview; the panel
 * comes back after a reload (serializer, state = the run folder).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ImageReport } from '../../protocol/results';
import { PreviewController } from './preview';
import { reportHtml, type ReportRun, type ReportState } from './reportHtml';
import { UnreadableResult, isInside, validateReport, validateSummary } from './validate/stored';
import { checkReportMessage } from './validate/messages';
import type { Ctx } from './ctx';

export const REPORT_VIEW_TYPE = 'certseg.datasetReport';
const panels = new Map<string, vscode.WebviewPanel>();

/** A run folder's summary, validated (null when there is none; an UnreadableResult when it fails). */
export async function readRun(runDir: string): Promise<ReportRun | null> {
  const file = path.join(runDir, 'summary.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  const summary = validateSummary(text, file);
  return { runDir, label: path.basename(runDir), summary, mtimeMs: statSync(file).mtimeMs };
}

/** Every run with a summary in the dataset's runs folder (the parent of a run folder). */
export async function siblingRuns(runsRoot: string): Promise<ReportRun[]> {
  let names: string[] = [];
  try {
    names = (await readdir(runsRoot, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
  // sibling runs that fail validation are left out of the σ chart and the run picker
  return (await Promise.all(names.map((n) => readRun(path.join(runsRoot, n)).catch(() => null)))).filter((r): r is ReportRun => r !== null);
}

export async function showReport(ctx: Ctx, runDir: string, existing?: vscode.WebviewPanel): Promise<void> {
  const { context, worker } = ctx;
  let panel = existing ?? panels.get(runDir);
  if (panel && !existing) {
    panel.reveal();
    return;
  }
  let run: ReportRun | null;
  try {
    run = await readRun(runDir);
  } catch (e) {
    // shown as a message, never rendered
    void vscode.window.showErrorMessage(`certseg: ${runDir}: ${(e as Error).message}`);
    existing?.dispose();
    return;
  }
  if (!run) {
    void vscode.window.showWarningMessage(`certseg: no summary.json in ${runDir} (the run did not finish: Certify all resumes it).`);
    existing?.dispose();
    return;
  }
  const title = `Report: ${path.basename(run.summary.dataset)} (${run.label})`;
  const options: vscode.WebviewOptions & vscode.WebviewPanelOptions = {
    enableScripts: true,
    enableForms: false,
    enableCommandUris: false,
    localResourceRoots: [vscode.Uri.file(runDir), vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview')],
    enableFindWidget: true,
  };
  if (!panel) panel = vscode.window.createWebviewPanel(REPORT_VIEW_TYPE, title, vscode.ViewColumn.Active, options);
  else {
    panel.title = title;
    panel.webview.options = options;
  }
  const p = panel;
  panels.set(runDir, p);
  p.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'icon.svg');
  const render = async () => {
    const r = (await readRun(runDir).catch(() => null)) ?? run;
    const plotFile = path.join(runDir, r.summary.files?.plot ?? 'accuracy-vs-radius.svg');
    const plotUrl = existsSync(plotFile)
      ? p.webview
          .asWebviewUri(vscode.Uri.file(plotFile))
          .with({ query: `v=${statSync(plotFile).mtimeMs}` })
          .toString()
      : null;
    p.webview.html = reportHtml({
      nonce: randomBytes(16).toString('base64'),
      cspSource: p.webview.cspSource,
      scriptUrl: p.webview.asWebviewUri(vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview', 'report.js')).toString(),
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
    p.webview.onDidReceiveMessage(async (raw: unknown) => {
      // The page is built from an untrusted summary: a message only picks among what the host knows.
      const m = checkReportMessage(raw);
      if (!m) return worker.log.warn(`report: ignored an unexpected message from the page`);
      const current = (await readRun(runDir).catch(() => null)) ?? run;
      if (m.type === 'openSample') {
        const sample = current.summary.perImage.find((x) => x.id === m.id && x.dir === m.dir);
        if (!sample) return worker.log.warn(`report: no sample ${JSON.stringify(m.id).slice(0, 80)} in this run`);
        await openSampleResult(ctx, path.resolve(runDir, sample.dir));
      } else if (m.type === 'openRun') {
        const known = (await siblingRuns(path.dirname(runDir))).some((r) => r.runDir === m.runDir);
        if (!known) return worker.log.warn('report: refused to open a run that is not beside this one');
        await showReport(ctx, m.runDir);
      } else
        await vscode.window.showTextDocument(vscode.Uri.file(path.join(runDir, 'summary.json')), { viewColumn: vscode.ViewColumn.Beside });
    }),
  ];
  p.onDidDispose(() => {
    if (panels.get(runDir) === p) panels.delete(runDir);
    for (const s of subs) s.dispose();
  });
}

/** Opens the preview of the image a per-image result folder belongs to, showing that stored result. */
export async function openSampleResult(ctx: Ctx, resultDir: string): Promise<void> {
  const file = path.join(resultDir, 'report.json');
  let report: ImageReport;
  try {
    report = validateReport(await readFile(file, 'utf8'), file);
  } catch (e) {
    void vscode.window.showWarningMessage(`certseg: ${e instanceof UnreadableResult ? e.message : `no result in ${resultDir}`}.`);
    return;
  }
  // the image a stored report names is opened only inside the workspace (or beside the result)
  const inWorkspace = (vscode.workspace.workspaceFolders ?? []).some(
    (f) => f.uri.scheme === 'file' && isInside(f.uri.fsPath, report.image.path),
  );
  if (!inWorkspace && !isInside(path.dirname(path.dirname(resultDir)), report.image.path)) {
    void vscode.window.showWarningMessage(`certseg: the result in ${resultDir} names an image outside the workspace; not opened.`);
    return;
  }
  const c = PreviewController.forImage(ctx, report.image.path);
  ctx.worker.log.info(`report: open ${report.image.path} with the result in ${resultDir}`);
  await c.showResultFrom(resultDir);
}

export class ReportSerializer implements vscode.WebviewPanelSerializer<ReportState> {
  constructor(private readonly ctx: Ctx) {}
  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: ReportState | undefined): Promise<void> {
    this.ctx.worker.log.info(`reviving the report of ${state?.runDir ?? '(no state)'}`);
    if (!state?.runDir) return panel.dispose();
    await showReport(this.ctx, state.runDir, panel);
  }
}
