/**
 * certseg extension entry: starts the worker (a language server over IPC), registers the commands, the
 * preview panel (+ serializer), the "Segmentation Preview" custom editor, the config code lens and the
 * status bar. Runs need a trusted workspace; previews of stored results work in Restricted Mode.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { WorkDoneProgress } from 'vscode-languageclient/node';
import { CertifyDatasetRequest } from '../../server/src/protocol';
import { EDITOR_VIEW_TYPE, PREVIEW_VIEW_TYPE, PreviewController, PreviewSerializer, SegmentationPreviewProvider, errorMessage, refuseUntrusted } from './preview';
import { activeConfig, setActiveConfig, settingsOverrides } from './settings';
import { IMAGE_EXTENSIONS } from './store';
import { Worker } from './worker';

let worker: Worker | undefined;

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
  const isImage = (uri: vscode.Uri) => IMAGE_EXTENSIONS.includes(path.extname(uri.fsPath).slice(1).toLowerCase());

  const certify = async (uri?: vscode.Uri, configPath?: string | null) => {
    let image = imageOf(uri);
    if (!image || !isImage(image)) {
      const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { Images: IMAGE_EXTENSIONS }, openLabel: 'Certify' });
      image = picked?.[0];
    }
    if (!image) return;
    if (!vscode.workspace.isTrusted) return refuseUntrusted();
    const c = PreviewController.forImage(context, w, image.fsPath);
    await c.certify(configPath !== undefined ? { configPath } : {});
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('certseg.certifyImage', (uri?: vscode.Uri) => certify(uri)),
    vscode.commands.registerCommand('certseg.certifyWithConfig', async (configUri?: vscode.Uri) => {
      const config = configUri ?? vscode.window.activeTextEditor?.document.uri;
      const images = await vscode.workspace.findFiles(`**/*.{${IMAGE_EXTENSIONS.join(',')}}`, '{**/node_modules/**,**/.certseg/**}', 500);
      const pick = await vscode.window.showQuickPick(
        images.map((u) => ({ label: path.basename(u.fsPath), description: vscode.workspace.asRelativePath(u), uri: u })),
        { title: `Certify with ${config ? path.basename(config.fsPath) : 'config'}`, placeHolder: 'Image to certify' },
      );
      if (pick) await certify(pick.uri, config?.fsPath ?? null);
    }),
    vscode.commands.registerCommand('certseg.selectConfig', async (configUri?: vscode.Uri) => {
      if (configUri instanceof vscode.Uri) {
        await setActiveConfig(context, configUri.fsPath);
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
    }),
    vscode.commands.registerCommand('certseg.openPreview', async (uri?: vscode.Uri) => {
      const image = imageOf(uri);
      if (image) await vscode.commands.executeCommand('vscode.openWith', image, EDITOR_VIEW_TYPE);
    }),
    vscode.commands.registerCommand('certseg.certifyDataset', async (uri?: vscode.Uri) => {
      if (!vscode.workspace.isTrusted) return refuseUntrusted();
      const dir = uri ?? (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Certify dataset' }))?.[0];
      if (!dir) return;
      const folder = vscode.workspace.getWorkspaceFolder(dir) ?? vscode.workspace.workspaceFolders?.[0];
      const outDir = folder ? path.join(folder.uri.fsPath, '.certseg', 'datasets', path.basename(dir.fsPath)) : path.join((context.storageUri ?? context.globalStorageUri).fsPath, 'datasets', path.basename(dir.fsPath));
      const client = await w.ensureStarted();
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `certseg: certifying ${path.basename(dir.fsPath)}`, cancellable: true }, async (progress, token) => {
        const workDoneToken = `dataset-${Date.now()}`;
        let last = 0;
        const d = client.onProgress(WorkDoneProgress.type, workDoneToken, (v) => {
          if (v.kind === 'end') return;
          const pct = v.percentage ?? last;
          progress.report({ increment: Math.max(0, pct - last), message: v.message });
          last = Math.max(last, pct);
        });
        try {
          const summary = await client.sendRequest(CertifyDatasetRequest.type, { dir: dir.fsPath, outDir, configPath: activeConfig(context), overrides: settingsOverrides(), workDoneToken }, token);
          const files = summary.files as Record<string, string> | undefined;
          const summaryFile = path.join(outDir, files?.summary ?? 'summary.json');
          void vscode.window.showInformationMessage(`certseg: dataset certified (${String(summary.images ?? '?')} images).`, 'Open Summary').then((a) => a && vscode.window.showTextDocument(vscode.Uri.file(summaryFile)));
        } catch (e) {
          if (!token.isCancellationRequested) void vscode.window.showErrorMessage(`certseg: ${errorMessage(e)}`);
        } finally {
          d.dispose();
        }
      });
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
    vscode.window.registerCustomEditorProvider(EDITOR_VIEW_TYPE, new SegmentationPreviewProvider(context, w), {
      supportsMultipleEditorsPerDocument: true,
      webviewOptions: { retainContextWhenHidden: false },
    }),
    vscode.languages.registerCodeLensProvider({ pattern: '**/*.certseg.json' }, {
      provideCodeLenses(doc) {
        const top = new vscode.Range(0, 0, 0, 0);
        return [
          new vscode.CodeLens(top, { title: '$(play) Certify with this config', command: 'certseg.certifyWithConfig', arguments: [doc.uri] }),
          new vscode.CodeLens(top, { title: activeConfig(context) === doc.uri.fsPath ? '$(check) Active config' : 'Use for runs', command: 'certseg.selectConfig', arguments: [doc.uri] }),
        ];
      },
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void vscode.window.showInformationMessage('certseg: workspace trusted, certification is enabled.')),
  );

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
