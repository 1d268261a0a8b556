/**
 * certseg extension entry: wiring only. The worker (worker.ts, the lifecycle object: a language server
 * over IPC, started, restarted and stopped with its client-scoped listeners), the commands (commands/),
 * the Datasets view and dataset reports (datasets.ts, report.ts), the preview panel (+ serializer), the
 * "Segmentation Preview" custom editor, the config code lens (configLens.ts) and the status bar. Runs need a
 * trusted workspace; previews of stored results work in Restricted Mode.
 */
import * as vscode from 'vscode';
import { EDITOR_VIEW_TYPE, PREVIEW_VIEW_TYPE, PreviewSerializer, SegmentationPreviewProvider } from './preview';
import { createDatasetsView } from './datasets';
import { REPORT_VIEW_TYPE, ReportSerializer } from './report';
import { MEDICAL_EDITOR_VIEW_TYPE } from './medical';
import { ConfigLenses } from './configLens';
import { MaskRegistry } from './maskRegistry';
import { errorMessage } from './errors';
import { registerCommands } from './commands';
import type { Ctx } from './ctx';
import { Worker } from './worker';

let worker: Worker | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<{ worker: Worker }> {
  const w = new Worker(context);
  worker = w;
  context.subscriptions.push(w);
  const ctx: Ctx = { context, worker: w, masks: new MaskRegistry() };
  const datasets = createDatasetsView(ctx);
  const configLenses = new ConfigLenses(context);
  context.subscriptions.push(
    ...datasets.disposables,
    configLenses.register(),
    ...registerCommands({ ...ctx, datasets: datasets.provider, configLenses }),
    ...registerPanels(ctx),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      void vscode.window.showInformationMessage('certseg: workspace trusted, certification is enabled.');
      void w.restart(); // now with config diagnostics (see Worker.start)
    }),
  );
  try {
    await w.start();
  } catch (e) {
    w.log.error(`could not start the certseg worker: ${errorMessage(e)}`);
    void vscode.window
      .showErrorMessage(`certseg: the worker did not start: ${errorMessage(e)}`, 'Show Logs')
      .then((a) => a && w.log.show());
  }
  return { worker: w };
}

/** The preview and report panels (revived after a reload) and the Segmentation Preview editors. */
function registerPanels(ctx: Ctx): vscode.Disposable[] {
  const editor = { supportsMultipleEditorsPerDocument: true, webviewOptions: { retainContextWhenHidden: false } };
  return [
    vscode.window.registerWebviewPanelSerializer(PREVIEW_VIEW_TYPE, new PreviewSerializer(ctx)),
    vscode.window.registerWebviewPanelSerializer(REPORT_VIEW_TYPE, new ReportSerializer(ctx)),
    vscode.window.registerCustomEditorProvider(EDITOR_VIEW_TYPE, new SegmentationPreviewProvider(ctx), editor),
    // the default editor of .dcm/.nii/.nii.gz, which VS Code cannot show at all (same panel, one more registration)
    vscode.window.registerCustomEditorProvider(MEDICAL_EDITOR_VIEW_TYPE, new SegmentationPreviewProvider(ctx), editor),
  ];
}

export async function deactivate(): Promise<void> {
  await worker?.stop();
}
