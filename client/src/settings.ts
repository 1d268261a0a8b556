/** Typed access to the extension's settings and the picked active config. */
import * as vscode from 'vscode';
import type { ConfigOverrides } from '../../protocol/messages';

const ACTIVE_CONFIG_KEY = 'certseg.activeConfig';

export function settings() {
  const c = vscode.workspace.getConfiguration('certseg');
  return {
    engine: c.get<'auto' | 'onnx' | 'tfjs'>('engine', 'auto'),
    batchSize: c.get<number | null>('batchSize', null),
    defaultConfig: c.get<string>('defaultConfig', ''),
  };
}

/** Settings that become config overrides for every run (the config file wins for anything not set here). */
export function settingsOverrides(): ConfigOverrides {
  const s = settings();
  const o: ConfigOverrides = {};
  if (s.engine && s.engine !== 'auto') o.engine = s.engine;
  if (typeof s.batchSize === 'number' && s.batchSize >= 1) o.batchSize = Math.floor(s.batchSize);
  return o;
}

/** Absolute path of the config to run with: the picked one, else certseg.defaultConfig, else null (shipped defaults). */
export function activeConfig(context: vscode.ExtensionContext): string | null {
  const picked = context.workspaceState.get<string>(ACTIVE_CONFIG_KEY);
  if (picked) return picked;
  const d = settings().defaultConfig;
  if (!d) return null;
  if (d.startsWith('/') || /^[A-Za-z]:[\\/]/.test(d)) return d;
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder ? vscode.Uri.joinPath(folder.uri, d).fsPath : null;
}

export async function setActiveConfig(context: vscode.ExtensionContext, path: string | null): Promise<void> {
  await context.workspaceState.update(ACTIVE_CONFIG_KEY, path ?? undefined);
}

/**
 * The config a run uses, as a user expects: the one picked with "Select Config for Runs", else the
 * certseg.defaultConfig setting, else the workspace's only *.certseg.json, else (several) the user is asked
 * once and the answer is remembered; with none, the shipped defaults (null). `undefined`: the user dismissed
 * the question, so nothing runs.
 */
export async function runConfig(context: vscode.ExtensionContext, log?: (line: string) => void): Promise<string | null | undefined> {
  const set = activeConfig(context);
  if (set) return set;
  const found = (await vscode.workspace.findFiles('**/*.certseg.json', '**/{node_modules,.certseg,.git}/**', 50)).filter(
    (u) => u.scheme === 'file',
  );
  if (found.length === 0) return null;
  if (found.length === 1) {
    log?.(`using the workspace's only config ${found[0].fsPath}`);
    return found[0].fsPath;
  }
  const items = found.map((u) => ({ label: vscode.workspace.asRelativePath(u), uri: u })).sort((a, b) => a.label.localeCompare(b.label));
  const pick = await vscode.window.showQuickPick([...items, { label: 'Shipped defaults (no config)', uri: null }], {
    title: 'certseg: this workspace has several configs; which one should runs use? (remembered; change it with "Select Config for Runs")',
  });
  if (!pick) return undefined;
  await setActiveConfig(context, pick.uri ? pick.uri.fsPath : null);
  return pick.uri ? pick.uri.fsPath : null;
}
