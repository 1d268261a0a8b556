/**
 * Every command of the extension, by id (package.json contributes.commands), as named factories that take
 * the context they need (as rust-analyzer's editors/code commands): registered from this one table.
 */
import * as vscode from 'vscode';
import type { CommandCtx } from './context';
import * as datasets from './datasets';
import * as images from './images';
import * as worker from './worker';

export type { CommandCtx };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command takes its own arguments
type Factory = (ctx: CommandCtx) => (...args: any[]) => unknown;

export const COMMANDS: Record<string, Factory> = {
  'certseg.certifyImage': images.certifyImage,
  'certseg.certifyWithMask': images.certifyWithMask,
  'certseg.certifyWithConfig': images.certifyWithConfig,
  'certseg.openPreview': images.openPreview,
  'certseg.checkConsistency': images.checkConsistency,
  'certseg.selectConfig': worker.selectConfig,
  'certseg.restartWorker': worker.restartWorker,
  'certseg.showLogs': worker.showLogs,
  'certseg.showStatusMenu': worker.showStatusMenu,
  'certseg.refreshDatasets': datasets.refreshDatasets,
  'certseg.datasetShowMore': datasets.datasetShowMore,
  'certseg.openDatasetSample': datasets.openDatasetSample,
  'certseg.certifyDatasetSample': datasets.certifyDatasetSample,
  'certseg.certifyDataset': datasets.certifyDataset,
  'certseg.certifyDatasetAtSigma': datasets.certifyDatasetAtSigma,
  'certseg.openDatasetReport': datasets.openDatasetReport,
  'certseg.writeClusterJob': datasets.writeClusterJob,
};

export function registerCommands(ctx: CommandCtx): vscode.Disposable[] {
  return Object.entries(COMMANDS).map(([id, factory]) => vscode.commands.registerCommand(id, factory(ctx)));
}
