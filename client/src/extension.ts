/**
 * certseg extension entry: starts the worker (a language server over IPC), registers the commands, the
 * Datasets view and dataset reports (datasets.ts, report.ts), the preview panel (+ serializer), the "Segmentation Preview" custom editor, the config code lens and the
 * status bar. Runs need a trusted workspace; previews of stored results work in Restricted Mode.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EDITOR_VIEW_TYPE, PREVIEW_VIEW_TYPE, PreviewController, PreviewSerializer, SegmentationPreviewProvider, errorMessage, refuseUntrusted } from './preview';
import { registerDatasets } from './datasets';
import { REPORT_VIEW_TYPE, ReportSerializer } from './report';
import { activeConfig, setActiveConfig } from './settings';
import { IMAGE_EXTENSIONS } from './store';
import { DIALOG_EXTENSIONS, MEDICAL_EDITOR_VIEW_TYPE, MEDICAL_EXTENSIONS, isCertifiableImage } from './medical';
import { MASK_DIRS, looksLikeMask } from '../../server/src/image/maskNaming';
import { Worker } from './worker';

let worker: Worker | undefined;

/** A mask by the naming rule: a mask suffix, or inside a masks/labels/gt folder. */
function isMaskFile(file: string): boolean {
  const parts = file.split(/[\\/]/);
  const base = path.basename(file, path.extname(file));
  return looksLikeMask(base) || parts.slice(0, -1).some((d) => (MASK_DIRS as readonly string[]).includes(d.toLowerCase()));
}

export async function activate(context: vscode.ExtensionContext): Promise<{ worker: Worker }> {
  const w = new Worker(context);
  worker = w;
  context.subscriptions.push(w);

  const imageOf = (uri?: vscode.Uri): vscode.Uri | undefined => {
    if (uri instanceof vscode.Uri) return uri;
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    if (tab instanceof vscode.TabInputCustom || tab instanceof vscode.TabInputText) return tab.uri;
    return vscode.window.activeTextEditor?.document.uri;
  };
  // DICOM and NIfTI too (by name, or an extensionless DICOM by its preamble: medical.ts)
  const isImage = (uri: vscode.Uri) => isCertifiableImage(uri.fsPath);

  const certify = async (uri?: vscode.Uri, configPath?: string | null) => {
    let image = imageOf(uri);
    if (!image || !isImage(image)) {
      const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { Images: DIALOG_EXTENSIONS }, openLabel: 'Certify' });
      image = picked?.[0];
    }
    if (!image) return;
    if (!vscode.workspace.isTrusted) return refuseUntrusted();
    const c = PreviewController.forImage(context, w, image.fsPath);
    await c.certify(configPath !== undefined ? { configPath } : {});
  };

  const lensesChanged = new vscode.EventEmitter<void>();
  context.subscriptions.push(
    vscode.commands.registerCommand('certseg.certifyImage', (uri?: vscode.Uri) => certify(uri)),
    vscode.commands.registerCommand('certseg.certifyWithMask', async (uri?: vscode.Uri) => {
      if (!vscode.workspace.isTrusted) return refuseUntrusted();
      const image = uri ?? vscode.window.activeTextEditor?.document.uri;
      if (!image) return certify(undefined);
      const mask = await vscode.window.showOpenDialog({
        canSelectMany: false, defaultUri: vscode.Uri.file(path.dirname(image.fsPath)), filters: { Masks: DIALOG_EXTENSIONS },
        openLabel: 'Use as ground truth', title: `certseg: the ground-truth mask of ${path.basename(image.fsPath)}`,
      });
      if (!mask?.[0]) return;
      const c = PreviewController.forImage(context, w, image.fsPath);
      await c.certify({ maskPath: mask[0].fsPath });
    }),
    vscode.commands.registerCommand('certseg.certifyWithConfig', async (configUri?: vscode.Uri) => {
      const config = configUri ?? vscode.window.activeTextEditor?.document.uri;
      const found = await vscode.workspace.findFiles(`**/*.{${[...IMAGE_EXTENSIONS, ...MEDICAL_EXTENSIONS].join(',')}}`, '{**/node_modules/**,**/.certseg/**}', 2000);
      // images only (masks by the naming rule of image/maskNaming.ts are left out), in path order
      const images = found.filter((u) => !isMaskFile(u.fsPath)).sort((a, b) => vscode.workspace.asRelativePath(a).localeCompare(vscode.workspace.asRelativePath(b), undefined, { numeric: true }));
      const pick = await vscode.window.showQuickPick(
        images.map((u) => ({ label: path.basename(u.fsPath), description: vscode.workspace.asRelativePath(u), uri: u })),
        { title: `Certify with ${config ? path.basename(config.fsPath) : 'config'}`, placeHolder: 'Image to certify' },
      );
      if (pick) await certify(pick.uri, config?.fsPath ?? null);
    }),
    vscode.commands.registerCommand('certseg.selectConfig', async (configUri?: vscode.Uri) => {
      if (configUri instanceof vscode.Uri) {
        await setActiveConfig(context, configUri.fsPath);
        lensesChanged.fire();
        void vscode.window.showInformationMessage(`certseg: runs now use ${vscode.workspace.asRelativePath(configUri)}.`);
        return;
      }
      const configs = await vscode.workspace.findFiles('**/*.certseg.json', '**/node_modules/**', 200);
      const current = activeConfig(context);
      const items: (vscode.QuickPickItem & { path: string | null })[] = [
        { label: 'Shipped defaults', description: 'models/default', path: null, picked: current === null },
        ...configs.map((u) => ({ label: path.basename(u.fsPath), description: vscode.workspace.asRelativePath(u), path: u.fsPath, picked: current === u.fsPath })),
      ];
      const pick = await vscode.window.showQuickPick(items, { title: 'certseg: config for runs', placeHolder: current ? `current: ${vscode.workspace.asRelativePath(current)}` : 'current: shipped defaults' });
      if (pick) await setActiveConfig(context, pick.path);
      lensesChanged.fire();
    }),
    vscode.commands.registerCommand('certseg.openPreview', async (uri?: vscode.Uri) => {
      const image = imageOf(uri);
      if (image) await vscode.commands.executeCommand('vscode.openWith', image, EDITOR_VIEW_TYPE);
    }),
    vscode.commands.registerCommand('certseg.checkConsistency', async (arg?: vscode.Uri | { image: string }) => {
      // from the explorer (a Uri), the Datasets view (a sample node) or the palette (the active image)
      let image = arg && !(arg instanceof vscode.Uri) && typeof arg.image === 'string' ? vscode.Uri.file(arg.image) : imageOf(arg instanceof vscode.Uri ? arg : undefined);
      if (!image || !isImage(image)) {
        const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { Images: DIALOG_EXTENSIONS }, openLabel: 'Check consistency' });
        image = picked?.[0];
      }
      if (!image) return;
      if (!vscode.workspace.isTrusted) return refuseUntrusted();
      await PreviewController.forImage(context, w, image.fsPath).checkConsistency();
    }),
    vscode.commands.registerCommand('certseg.restartWorker', async () => {
      await w.restart();
      void vscode.window.showInformationMessage('certseg: worker restarted.');
    }),
    vscode.commands.registerCommand('certseg.showLogs', () => w.log.show()),
    vscode.commands.registerCommand('certseg.showStatusMenu', async () => {
      const pick = await vscode.window.showQuickPick(['Show Logs', 'Restart Worker', 'Select Config…'], { title: 'certseg' });
      if (pick === 'Show Logs') w.log.show();
      else if (pick === 'Restart Worker') await vscode.commands.executeCommand('certseg.restartWorker');
      else if (pick === 'Select Config…') await vscode.commands.executeCommand('certseg.selectConfig');
    }),
    vscode.window.registerWebviewPanelSerializer(PREVIEW_VIEW_TYPE, new PreviewSerializer(context, w)),
    vscode.window.registerWebviewPanelSerializer(REPORT_VIEW_TYPE, new ReportSerializer(context, w)),
    vscode.window.registerCustomEditorProvider(EDITOR_VIEW_TYPE, new SegmentationPreviewProvider(context, w), {
      supportsMultipleEditorsPerDocument: true,
      webviewOptions: { retainContextWhenHidden: false },
    }),
    // the default editor of .dcm/.nii/.nii.gz, which VS Code cannot show at all (same panel, one more registration)
    vscode.window.registerCustomEditorProvider(MEDICAL_EDITOR_VIEW_TYPE, new SegmentationPreviewProvider(context, w), {
      supportsMultipleEditorsPerDocument: true,
      webviewOptions: { retainContextWhenHidden: false },
    }),
    lensesChanged,
    vscode.languages.registerCodeLensProvider({ pattern: '**/*.certseg.json' }, {
      onDidChangeCodeLenses: lensesChanged.event, // "Use for runs" → "Active config" right after the choice
      provideCodeLenses(doc) {
        const top = new vscode.Range(0, 0, 0, 0);
        return [
          new vscode.CodeLens(top, { title: '$(play) Certify with this config', command: 'certseg.certifyWithConfig', arguments: [doc.uri] }),
          new vscode.CodeLens(top, { title: activeConfig(context) === doc.uri.fsPath ? '$(check) Active config' : 'Use for runs', command: 'certseg.selectConfig', arguments: [doc.uri] }),
        ];
      },
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      void vscode.window.showInformationMessage('certseg: workspace trusted, certification is enabled.');
      void w.restart(); // now with config diagnostics (see Worker.start)
    }),
  );

  registerDatasets(context, w);

  try {
    await w.start();
  } catch (e) {
    w.log.error(`could not start the certseg worker: ${errorMessage(e)}`);
    void vscode.window.showErrorMessage(`certseg: the worker did not start: ${errorMessage(e)}`, 'Show Logs').then((a) => a && w.log.show());
  }
  return { worker: w };
}

export async function deactivate(): Promise<void> {
  await worker?.stop();
}
