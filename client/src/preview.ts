/**
 * The segmentation preview: one webview per image, used by the "Certify segmentation" command (a
 * WebviewPanel that opens at once and fills in as results stream), by the "Segmentation Preview" custom
 * editor, and by the panel serializer (shown again after a reload, from the stored result in .certseg/).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { runWithProgress } from './progress';
import type { FromWebview, ToWebview, WebviewState } from '../../protocol/webview';
import {
  CertifyImageRequest,
  ConsistencyRequest,
  type ConsistencyResultWire,
  RecertifyRequest,
  type CertifyImageParams,
  type PartialResultWire,
} from '../../protocol/messages';
import { runConfig, settingsOverrides } from './settings';
import { certifiedFromCounts, findMask, loadStoredResult, resultDirFor, type StoredResult } from './store';
import { UnreadableResult, validateConsistency } from './validate/stored';
import { escapeHtml, webviewCsp } from './html';
import { checkPreviewMessage } from './validate/messages';
import type { Worker } from './worker';
import type { Ctx } from './ctx';
import { errorMessage, workerGone } from './errors';
import { arraysOf, classesOf, consistencyMessage, partialMessage, storedFromWire } from './previewMessages';
import { MedicalDisplay, isCertifiableImage, isMedicalFile } from './medical';

export const PREVIEW_VIEW_TYPE = 'certseg.preview';
export const EDITOR_VIEW_TYPE = 'certseg.segmentationPreview';

const controllers = new Map<string, PreviewController>();

export function webviewOptions(context: vscode.ExtensionContext, imagePath: string): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  const roots = [
    vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview'),
    vscode.Uri.joinPath(context.extensionUri, 'media'),
    vscode.Uri.file(path.dirname(imagePath)),
  ];
  return { enableScripts: true, enableForms: false, enableCommandUris: false, localResourceRoots: roots, enableFindWidget: false };
}

export class PreviewController implements vscode.Disposable {
  private ready = false;
  private pending: ToWebview[] = [];
  private cts: vscode.CancellationTokenSource | undefined;
  private stored: StoredResult | null = null;
  /** a result folder to show instead of this image's own (a dataset run's per-image result) */
  private viewDir: string | null = null;
  private consistencyCts: vscode.CancellationTokenSource | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;
  /** DICOM/NIfTI: the picture comes from the worker (a webview cannot decode these), see medical.ts */
  private readonly medical: MedicalDisplay | null;

  static forImage(ctx: Ctx, imagePath: string): PreviewController {
    const existing = controllers.get(imagePath);
    if (existing) {
      existing.panel.reveal(undefined, true);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      PREVIEW_VIEW_TYPE,
      `Certify: ${path.basename(imagePath)}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      webviewOptions(ctx.context, imagePath),
    );
    return new PreviewController(ctx, panel, imagePath);
  }

  constructor(
    private readonly ctx: Ctx,
    readonly panel: vscode.WebviewPanel,
    readonly imagePath: string,
  ) {
    controllers.set(imagePath, this);
    this.medical = isMedicalFile(imagePath) ? new MedicalDisplay(imagePath, ctx.worker, (m) => this.post(m), errorMessage) : null;
    panel.webview.options = webviewOptions(ctx.context, imagePath);
    panel.iconPath = vscode.Uri.joinPath(ctx.context.extensionUri, 'media', 'icon.svg');
    panel.webview.html = this.html();
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw: unknown) => {
        const m = checkPreviewMessage(raw);
        if (m) void this.onMessage(m);
        else this.worker.log.warn('preview: ignored an unexpected message from the page');
      }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  private get context(): vscode.ExtensionContext {
    return this.ctx.context;
  }

  private get worker(): Worker {
    return this.ctx.worker;
  }

  get resultDir(): string {
    return resultDirFor(this.context, this.imagePath);
  }

  private html(): string {
    const webview = this.panel.webview;
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'webview', 'preview.js'));
    const css = webview.asWebviewUri(vscode.Uri.joinPath(this.context.extensionUri, 'media', 'preview.css'));
    const csp = webviewCsp(webview.cspSource, nonce, 'source');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${css}">
<title>certseg preview</title>
</head>
<body>
<div id="app" data-image-name="${escapeHtml(path.basename(this.imagePath))}"></div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }

  private imageUrl(): string | null {
    const ext = path.extname(this.imagePath).toLowerCase();
    if (ext === '.tif' || ext === '.tiff' || this.medical || !existsSync(this.imagePath)) return null;
    const st = statSync(this.imagePath);
    return this.panel.webview
      .asWebviewUri(vscode.Uri.file(this.imagePath))
      .with({ query: `version=${st.mtimeMs}-${st.size}` })
      .toString();
  }

  post(m: ToWebview): void {
    if (this.disposed) return;
    if (!this.ready) {
      this.pending.push(m);
      return;
    }
    void this.panel.webview.postMessage(m);
  }

  private async onMessage(m: FromWebview) {
    switch (m.type) {
      case 'ready': {
        this.ready = true;
        void this.panel.webview.postMessage({
          type: 'init',
          imageUrl: this.imageUrl(),
          imageName: path.basename(this.imagePath),
          imagePath: this.imagePath,
          running: !!this.cts,
          canRun: vscode.workspace.isTrusted,
        } satisfies ToWebview);
        const queued = this.pending;
        this.pending = [];
        if (!this.cts && !queued.some((q) => q.type === 'result')) await this.showStored();
        for (const q of queued) void this.panel.webview.postMessage(q);
        // DICOM/NIfTI: the plane of the stored result (volumes), else the image or the middle slice
        void this.medical?.show(this.stored?.report.image.intensity?.slice ?? null);
        // "Open With… Segmentation Preview" accepts any file (for extensionless DICOM): say what it cannot read
        if (!isCertifiableImage(this.imagePath))
          this.post({
            type: 'error',
            message: `${path.basename(this.imagePath)} is not an image certseg reads (PNG, JPEG, BMP, TIFF, DICOM, NIfTI).`,
          });
        break;
      }
      case 'slice': {
        if (!this.cts) await this.medical?.select(m.axis, m.index); // the plane being certified stays while a run is on
        break;
      }
      case 'certify':
        void vscode.commands.executeCommand('certseg.certifyImage', vscode.Uri.file(this.imagePath));
        break;
      case 'cancel':
        this.cts?.cancel();
        break;
      case 'recertify':
        await this.recertify(m);
        break;
      case 'checkConsistency':
        void vscode.commands.executeCommand('certseg.checkConsistency', vscode.Uri.file(this.imagePath));
        break;
      case 'openReport': {
        const report = path.join(this.stored?.dir ?? this.resultDir, 'report.json');
        if (existsSync(report)) await vscode.window.showTextDocument(vscode.Uri.file(report), { viewColumn: vscode.ViewColumn.Beside });
        break;
      }
    }
  }

  /** Where the translation-consistency result of this image is kept (beside its result folder, which runs replace). */
  get consistencyFile(): string {
    return `${this.resultDir}.consistency.json`;
  }

  /** Shows a result folder other than this image's own (a dataset run's per-image result). */
  async showResultFrom(dir: string): Promise<void> {
    this.viewDir = dir;
    if (this.ready) await this.showStored();
  }

  /** Shows the result stored in .certseg/ for this image (or the folder picked with showResultFrom), if any. */
  async showStored(): Promise<boolean> {
    void this.showStoredConsistency();
    let stored: StoredResult | null;
    try {
      stored = await loadStoredResult(this.viewDir ?? this.resultDir);
    } catch (e) {
      // an invalid stored result is reported, never rendered
      this.worker.log.warn(`stored result for ${path.basename(this.imagePath)}: ${(e as Error).message}`);
      this.post({ type: 'error', message: e instanceof UnreadableResult ? e.message : `unreadable result: ${(e as Error).message}` });
      return false;
    }
    this.worker.log.info(`stored result for ${path.basename(this.imagePath)}: ${stored ? stored.dir : 'none'}`);
    if (!stored) return false;
    this.stored = stored;
    this.post({
      type: 'result',
      fromCache: true,
      resultDir: stored.dir,
      report: stored.report,
      classes: classesOf(stored.report.classes),
      ...arraysOf(stored),
    });
    if (this.ready) void this.medical?.follow(stored.report);
    return true;
  }

  private async recertify(m: Extract<FromWebview, { type: 'recertify' }>) {
    if (!vscode.workspace.isTrusted) return void refuseUntrusted();
    const stored = this.stored ?? (await loadStoredResult(this.resultDir).catch(() => null));
    if (!stored) return this.post({ type: 'error', message: 'Certify the image first: re-certification re-uses its stored votes.' });
    try {
      const client = await this.worker.ensureStarted();
      const report = await client.sendRequest(RecertifyRequest.type, {
        dir: stored.dir,
        tau: m.tau,
        alpha: m.alpha,
        correction: m.correction,
      });
      this.post({ type: 'recertified', report, certified: certifiedFromCounts(stored.selected, stored.counts, report.minCertifiedCount) });
    } catch (e) {
      this.post({ type: 'error', message: errorMessage(e) });
    }
  }

  /** Runs certseg/certifyImage for this panel's image with a cancellable notification; streams into the webview. */
  async certify(opts: { configPath?: string | null; maskPath?: string | null } = {}): Promise<void> {
    // every run goes through here: checked again whatever the caller checked (Restricted Mode loads no model)
    if (!vscode.workspace.isTrusted) return void refuseUntrusted();
    if (this.cts) {
      this.panel.reveal(undefined, true);
      void vscode.window.showInformationMessage(`certseg: ${path.basename(this.imagePath)} is already being certified.`);
      return;
    }
    const configPath = opts.configPath !== undefined ? opts.configPath : await runConfig(this.context, (l) => this.worker.log.info(l));
    if (configPath === undefined || this.cts) return; // the config question was dismissed, or a run started meanwhile
    const cts = new vscode.CancellationTokenSource();
    this.cts = cts;
    const name = path.basename(this.imagePath);
    const maskPath = opts.maskPath !== undefined ? opts.maskPath : this.ctx.masks.maskFor(this.imagePath, findMask);
    this.viewDir = null;
    this.post({ type: 'init', imageUrl: this.imageUrl(), imageName: name, imagePath: this.imagePath, running: true, canRun: true });
    const t0 = Date.now();
    try {
      const client = await this.worker.ensureStarted();
      await runWithProgress(
        client,
        {
          title: `certseg: certifying ${name}`,
          cancellation: cts,
          onProgress: (percent, message) => this.post({ type: 'progress', percent, message }),
        },
        async (workDoneToken, token) => {
          const partialResultToken = randomUUID();
          const partials = client.onProgress(CertifyImageRequest.type, partialResultToken, (p: PartialResultWire) =>
            this.post(partialMessage(p, Date.now() - t0)),
          );
          const params: CertifyImageParams = {
            imagePath: this.imagePath,
            slice: this.medical?.certifySlice ?? null,
            maskPath,
            configPath,
            overrides: settingsOverrides(),
            outDir: this.resultDir,
            workDoneToken,
            partialResultToken,
          };
          this.worker.log.info(
            `certify ${this.imagePath}${maskPath ? ` (mask ${maskPath})` : ''} with ${configPath ?? 'the shipped defaults'}`,
          );
          try {
            const r = await client.sendRequest(CertifyImageRequest.type, params, token);
            const result = storedFromWire(r, this.resultDir);
            this.stored = result;
            this.post({
              type: 'result',
              fromCache: false,
              resultDir: result.dir,
              report: r.report,
              classes: classesOf(r.report.classes),
              ...arraysOf(result),
            });
            this.worker.log.info(
              `certified ${name} in ${Date.now() - t0} ms: ${(100 * (1 - r.report.abstainRate)).toFixed(1)}% certified at radius ${r.report.radius.toFixed(3)}`,
            );
          } finally {
            partials.dispose();
          }
        },
      );
    } catch (e) {
      if (cts.token.isCancellationRequested) {
        this.worker.log.info(`certify ${name}: cancelled after ${Date.now() - t0} ms`);
        this.post({ type: 'cancelled' });
        await this.showStored();
      } else {
        const msg = errorMessage(e);
        this.worker.log.error(`certify ${name}: ${msg}`);
        // the partial picture goes; the stored result (if any) comes back, marked as an earlier run's
        this.post({ type: 'error', message: msg, runEnded: true });
        await this.showStored();
        if (workerGone(e)) {
          // the worker restarts by itself: running again is the useful action
          void vscode.window
            .showErrorMessage(`certseg: the worker stopped while certifying ${name}; nothing was certified.`, 'Retry')
            .then((a) => a && this.certify(opts));
        } else void vscode.window.showErrorMessage(`certseg: ${msg}`, 'Show Logs').then((a) => a && this.worker.log.show());
      }
    } finally {
      this.cts = undefined;
      cts.dispose();
    }
  }

  private async showStoredConsistency() {
    try {
      const text = await readFile(this.consistencyFile, 'utf8').catch(() => null);
      if (text === null) return; // none stored
      this.post(consistencyMessage(validateConsistency(text, this.consistencyFile)));
    } catch (e) {
      this.worker.log.warn(`stored consistency result for ${path.basename(this.imagePath)}: ${(e as Error).message}`);
      this.post({ type: 'error', message: e instanceof UnreadableResult ? e.message : `unreadable result: ${(e as Error).message}` });
    }
  }

  /** Runs certseg/consistency for this image (cancellable notification); shows the flip maps and numbers; stores the result. */
  async checkConsistency(opts: { configPath?: string | null } = {}): Promise<ConsistencyResultWire | null> {
    if (!vscode.workspace.isTrusted) return (void refuseUntrusted(), null);
    if (this.consistencyCts) {
      this.panel.reveal(undefined, true);
      return null;
    }
    const configPath = opts.configPath !== undefined ? opts.configPath : await runConfig(this.context, (l) => this.worker.log.info(l));
    if (configPath === undefined || this.consistencyCts) return null;
    const cts = new vscode.CancellationTokenSource();
    this.consistencyCts = cts;
    const name = path.basename(this.imagePath);
    this.post({ type: 'consistencyRunning', running: true });
    const t0 = Date.now();
    try {
      const client = await this.worker.ensureStarted();
      const r = await runWithProgress(
        client,
        { title: `certseg: translation consistency of ${name}`, cancellation: cts },
        (workDoneToken, token) =>
          client.sendRequest(
            ConsistencyRequest.type,
            {
              imagePath: this.imagePath,
              slice: this.medical?.certifySlice ?? null,
              configPath,
              overrides: settingsOverrides(),
              workDoneToken,
            },
            token,
          ),
      );
      this.post(consistencyMessage(r));
      this.post({ type: 'consistencyRunning', running: false });
      this.worker.log.info(
        `consistency ${name} in ${Date.now() - t0} ms: plain ${(100 * r.plain.changedAnyFraction).toFixed(2)}% of pixels changed by some shift, worst (${r.plain.worst.dy},${r.plain.worst.dx}) ${(100 * r.plain.worst.fraction).toFixed(2)}%` +
          (r.cropSelection
            ? `; M=${r.cropSelection.M}: ${(100 * r.cropSelection.changedAnyFraction).toFixed(2)}%, worst ${(100 * r.cropSelection.worst.fraction).toFixed(2)}%`
            : ''),
      );
      try {
        await mkdir(path.dirname(this.consistencyFile), { recursive: true });
        // temp file + rename: a crash never leaves a half-written file that the next open would read
        const tmp = `${this.consistencyFile}.${process.pid}.tmp`;
        await writeFile(tmp, JSON.stringify(r));
        await rename(tmp, this.consistencyFile);
      } catch (e) {
        this.worker.log.warn(`could not store ${this.consistencyFile}: ${errorMessage(e)}`);
      }
      return r;
    } catch (e) {
      const cancelled = cts.token.isCancellationRequested;
      const msg = cancelled ? undefined : errorMessage(e);
      this.post({ type: 'consistencyRunning', running: false, error: msg });
      if (msg) {
        this.worker.log.error(`consistency ${name}: ${msg}`);
        void vscode.window.showErrorMessage(`certseg: ${msg}`);
      }
      return null;
    } finally {
      this.consistencyCts = undefined;
      cts.dispose();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cts?.cancel();
    this.consistencyCts?.cancel();
    if (controllers.get(this.imagePath) === this) controllers.delete(this.imagePath);
    for (const d of this.disposables) d.dispose();
  }
}

export function refuseUntrusted(): void {
  void vscode.window
    .showWarningMessage(
      'certseg: certification is disabled in Restricted Mode, because it loads the model files a workspace points to. Trust this workspace to run it; previews of stored results still work.',
      'Manage Workspace Trust',
    )
    .then((a) => a && vscode.commands.executeCommand('workbench.trust.manage'));
}

/** Revives preview panels after a reload from their saved state (the arrays come back from .certseg/). */
export class PreviewSerializer implements vscode.WebviewPanelSerializer<WebviewState> {
  constructor(private readonly ctx: Ctx) {}
  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: WebviewState | undefined): Promise<void> {
    this.ctx.worker.log.info(`reviving the preview of ${state?.imagePath ?? '(no state)'}`);
    if (!state?.imagePath) {
      panel.dispose();
      return;
    }
    new PreviewController(this.ctx, panel, state.imagePath);
  }
}

/** "Segmentation Preview": a read-only custom editor for images showing the stored result's overlays. */
export class SegmentationPreviewProvider implements vscode.CustomReadonlyEditorProvider {
  constructor(private readonly ctx: Ctx) {}
  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }
  resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): void {
    const c = new PreviewController(this.ctx, panel, document.uri.fsPath);
    // Re-render when the stored result changes (a run from elsewhere, the CLI).
    const watcher = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(vscode.Uri.file(path.dirname(c.resultDir)), `${path.basename(c.resultDir)}/report.json`),
    );
    const refresh = () => void c.showStored();
    watcher.onDidChange(refresh);
    watcher.onDidCreate(refresh);
    panel.onDidDispose(() => watcher.dispose());
  }
}
