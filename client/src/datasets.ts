/**
 * The Datasets view (explorer): dataset folders of the workspace (images/ + masks|labels|annotations|gt/,
 * a manifest.txt|csv|json, or images/ + splits/), their runs (results under
 * <workspace>/.certseg/datasets/<folder>/<run>/, shown again after a reload) and their samples, listed
 * lazily a page at a time by the worker (certseg/listDataset, the order certifyDataset uses).
 * Actions: open a sample in the Segmentation Preview (its mask is used for runs), Certify sample,
 * Certify all (certseg/certifyDataset, progress + cancel, resumes an interrupted run), Certify all at σ…,
 * open a run's report.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ListDatasetRequest, type ListDatasetResult } from '../../protocol/messages';
import { errorMessage } from './errors';
import { readRun } from './report';
import { activeConfig } from './settings';
import type { Ctx } from './ctx';
import { findDatasets } from './datasetDiscovery';

const PAGE = 200;
/** <workspace>/.certseg/datasets/<dataset path relative to its folder, '/' → '__'> (or the extension's storage). */
export function runsRootFor(context: vscode.ExtensionContext, datasetDir: string): string {
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(datasetDir));
  if (folder && folder.uri.scheme === 'file') {
    const rel = path.relative(folder.uri.fsPath, datasetDir).split(path.sep).join('__') || path.basename(datasetDir);
    return path.join(folder.uri.fsPath, '.certseg', 'datasets', rel);
  }
  return path.join((context.storageUri ?? context.globalStorageUri).fsPath, 'datasets', path.basename(datasetDir));
}

/** The run folder of a config (and σ override): one folder per setting, so an interrupted run resumes in place. */
export function runDirFor(
  context: vscode.ExtensionContext,
  datasetDir: string,
  sigma?: number,
  config: string | null = activeConfig(context),
): string {
  const stem = config
    ? path
        .basename(config)
        .replace(/\.certseg\.json$/, '')
        .replace(/[^A-Za-z0-9._-]+/g, '_')
    : 'default';
  return path.join(runsRootFor(context, datasetDir), sigma !== undefined ? `${stem}-sigma-${sigma}` : stem);
}

export type DatasetNode =
  | { kind: 'dataset'; dir: string }
  | { kind: 'runs'; dir: string }
  | { kind: 'run'; dir: string; runDir: string }
  | { kind: 'sample'; dir: string; id: string; image: string; mask: string | null }
  | { kind: 'more'; dir: string; shown: number; total: number }
  | { kind: 'message'; text: string };

type Node = DatasetNode;

export class DatasetsProvider implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  /** samples loaded so far per dataset (pages are appended by "Show more") */
  private readonly pages = new Map<string, { total: number; pairs: ListDatasetResult['pairs'] }>();
  private datasets: Promise<string[]> | null = null;

  constructor(private readonly ctx: Ctx) {}

  refresh(dataset?: string): void {
    if (dataset) this.pages.delete(dataset);
    else {
      this.pages.clear();
      this.datasets = null;
    }
    this.changed.fire(undefined);
  }

  async showMore(dir: string): Promise<void> {
    const have = this.pages.get(dir);
    if (!have) return;
    const client = await this.ctx.worker.ensureStarted();
    const r = await client.sendRequest(ListDatasetRequest.type, { dir, offset: have.pairs.length, limit: PAGE });
    have.pairs.push(...r.pairs);
    have.total = r.total;
    this.ctx.masks.rememberAll(r.pairs);
    this.changed.fire(undefined);
  }

  getTreeItem(n: Node): vscode.TreeItem {
    switch (n.kind) {
      case 'dataset': {
        const t = new vscode.TreeItem(path.basename(n.dir), vscode.TreeItemCollapsibleState.Collapsed);
        t.id = `dataset:${n.dir}`;
        // workspace-relative where it can be (the absolute path only for a folder outside the workspace)
        const inWorkspace = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(n.dir)) !== undefined;
        t.description = inWorkspace ? vscode.workspace.asRelativePath(n.dir, false) : n.dir;
        t.tooltip = n.dir;
        t.iconPath = new vscode.ThemeIcon('database');
        t.contextValue = 'certseg.dataset';
        t.resourceUri = vscode.Uri.file(n.dir);
        return t;
      }
      case 'runs': {
        const t = new vscode.TreeItem('Runs', vscode.TreeItemCollapsibleState.Expanded);
        t.id = `runs:${n.dir}`;
        t.iconPath = new vscode.ThemeIcon('history');
        return t;
      }
      case 'run': {
        const t = new vscode.TreeItem(path.basename(n.runDir), vscode.TreeItemCollapsibleState.None);
        t.id = `run:${n.runDir}`;
        t.iconPath = new vscode.ThemeIcon('graph');
        t.contextValue = 'certseg.datasetRun';
        t.tooltip = n.runDir;
        t.command = { command: 'certseg.openDatasetReport', title: 'Open Report', arguments: [n] };
        return t;
      }
      case 'sample': {
        const t = new vscode.TreeItem(n.id, vscode.TreeItemCollapsibleState.None);
        t.id = `sample:${n.image}`;
        t.resourceUri = vscode.Uri.file(n.image);
        t.description = n.mask ? `mask ${path.basename(n.mask)}` : 'no mask';
        t.tooltip = `${n.image}\n${n.mask ?? 'no mask'}`;
        t.contextValue = 'certseg.datasetSample';
        t.command = { command: 'certseg.openDatasetSample', title: 'Open in Segmentation Preview', arguments: [n] };
        return t;
      }
      case 'more': {
        const t = new vscode.TreeItem(`Show more (${n.shown} of ${n.total})…`, vscode.TreeItemCollapsibleState.None);
        t.command = { command: 'certseg.datasetShowMore', title: 'Show more', arguments: [n] };
        t.iconPath = new vscode.ThemeIcon('ellipsis');
        return t;
      }
      case 'message': {
        const t = new vscode.TreeItem(n.text, vscode.TreeItemCollapsibleState.None);
        t.iconPath = new vscode.ThemeIcon('info');
        return t;
      }
    }
  }

  async getChildren(n?: Node): Promise<Node[]> {
    if (!n) {
      const roots = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
      this.datasets ??= findDatasets(roots);
      return (await this.datasets).map((dir) => ({ kind: 'dataset', dir }));
    }
    if (n.kind === 'runs') return this.runs(n.dir);
    if (n.kind !== 'dataset') return [];
    const out: Node[] = [];
    if ((await this.runs(n.dir)).length) out.push({ kind: 'runs', dir: n.dir });
    let page = this.pages.get(n.dir);
    if (!page) {
      try {
        const client = await this.ctx.worker.ensureStarted();
        const r = await client.sendRequest(ListDatasetRequest.type, { dir: n.dir, limit: PAGE });
        page = { total: r.total, pairs: r.pairs };
        this.pages.set(n.dir, page);
        this.ctx.masks.rememberAll(r.pairs);
      } catch (e) {
        return [...out, { kind: 'message', text: errorMessage(e) }];
      }
    }
    out.push(...page.pairs.map((p): Node => ({ kind: 'sample', dir: n.dir, ...p })));
    if (page.pairs.length < page.total) out.push({ kind: 'more', dir: n.dir, shown: page.pairs.length, total: page.total });
    if (page.total === 0) out.push({ kind: 'message', text: 'no images' });
    return out;
  }

  private async runs(dir: string): Promise<Node[]> {
    const root = runsRootFor(this.ctx.context, dir);
    if (!existsSync(root)) return [];
    const names = (await readdir(root, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    return names.map((name) => ({ kind: 'run', dir, runDir: path.join(root, name) }));
  }

  /** A run's description: σ, images, certified Dice; or how far an interrupted run got. */
  async resolveTreeItem(item: vscode.TreeItem, n: Node): Promise<vscode.TreeItem> {
    if (n.kind !== 'run') return item;
    let r: Awaited<ReturnType<typeof readRun>>;
    try {
      r = await readRun(n.runDir);
    } catch (e) {
      item.tooltip = `${n.runDir}\n${(e as Error).message}`; // an invalid summary is named, not shown
      return item;
    }
    if (r) {
      const s = r.summary;
      item.tooltip = `${n.runDir}\nσ ${s.params?.sigma}, ${s.images} images, certified foreground Dice ${s.certified?.meanOverImages.meanDice?.toFixed(3) ?? '–'} (mean over images), abstain ${(100 * s.abstainRate.pooled).toFixed(1)}%`;
    } else {
      let done = 0;
      try {
        done = (await readdir(path.join(n.runDir, 'images'), { withFileTypes: true })).filter(
          (e) => e.isDirectory() && existsSync(path.join(n.runDir, 'images', e.name, 'report.json')),
        ).length;
      } catch {
        /* nothing yet */
      }
      item.tooltip = `${n.runDir}\nincomplete: ${done} images done; Certify all resumes it`;
    }
    return item;
  }
}

/** The Datasets view (its commands are in commands/datasets.ts). */
export function createDatasetsView(ctx: Ctx): { provider: DatasetsProvider; disposables: vscode.Disposable[] } {
  const provider = new DatasetsProvider(ctx);
  const view = vscode.window.createTreeView('certseg.datasets', { treeDataProvider: provider, showCollapseAll: true });
  return { provider, disposables: [view, vscode.workspace.onDidChangeWorkspaceFolders(() => provider.refresh())] };
}
