/** Commands on the worker and the config for runs: restart, logs, the status-bar menu, Select Config. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { activeConfig, setActiveConfig } from '../settings';
import type { CommandCtx } from './context';

export function restartWorker(ctx: CommandCtx) {
  return async () => {
    await ctx.worker.restart();
    void vscode.window.showInformationMessage('certseg: worker restarted.');
  };
}

export function showLogs(ctx: CommandCtx) {
  return () => ctx.worker.log.show();
}

export function showStatusMenu(ctx: CommandCtx) {
  return async () => {
    const pick = await vscode.window.showQuickPick(['Show Logs', 'Restart Worker', 'Select Config…'], { title: 'certseg' });
    if (pick === 'Show Logs') ctx.worker.log.show();
    else if (pick === 'Restart Worker') await vscode.commands.executeCommand('certseg.restartWorker');
    else if (pick === 'Select Config…') await vscode.commands.executeCommand('certseg.selectConfig');
  };
}

export function selectConfig(ctx: CommandCtx) {
  const { context } = ctx;
  return async (configUri?: vscode.Uri) => {
    if (configUri instanceof vscode.Uri) {
      await setActiveConfig(context, configUri.fsPath);
      ctx.configLenses.changed();
      void vscode.window.showInformationMessage(`certseg: runs now use ${vscode.workspace.asRelativePath(configUri)}.`);
      return;
    }
    const configs = await vscode.workspace.findFiles('**/*.certseg.json', '**/node_modules/**', 200);
    const current = activeConfig(context);
    const items: (vscode.QuickPickItem & { path: string | null })[] = [
      { label: 'Shipped defaults', description: 'models/default', path: null, picked: current === null },
      ...configs.map((u) => ({
        label: path.basename(u.fsPath),
        description: vscode.workspace.asRelativePath(u),
        path: u.fsPath,
        picked: current === u.fsPath,
      })),
    ];
    const pick = await vscode.window.showQuickPick(items, {
      title: 'certseg: config for runs',
      placeHolder: current ? `current: ${vscode.workspace.asRelativePath(current)}` : 'current: shipped defaults',
    });
    if (pick) await setActiveConfig(context, pick.path);
    ctx.configLenses.changed();
  };
}
