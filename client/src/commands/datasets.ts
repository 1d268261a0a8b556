/**
 * Commands of the Datasets view (datasets.ts): refresh, show more, open/certify a sample, Certify all
 * (certseg/certifyDataset, progress + cancel, resumes an interrupted run), Certify all at σ…, open a run's
 * report, write a cluster job.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CertifyDatasetRequest } from '../../../protocol/messages';
import { EDITOR_VIEW_TYPE, PreviewController, refuseUntrusted } from '../preview';
import { errorMessage } from '../errors';
import { runWithProgress } from '../progress';
import { showReport } from '../report';
import { runConfig, settingsOverrides } from '../settings';
import { runDirFor } from '../datasets';
import { writeClusterJob as writeJob } from '../clusterJob';
import type { CommandCtx } from './context';

type Sample = { image: string; mask: string | null };

/** The dataset folder a command is for: an explorer folder (a Uri) or a node of the view. */
function datasetOf(arg: unknown): string | undefined {
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (arg && typeof arg === 'object' && 'dir' in arg) return String((arg as { dir: string }).dir);
  return undefined;
}

function sigmaOf(s: number | undefined): string {
  return s === undefined ? '' : ` at σ = ${s}`;
}

/** Certifies a whole dataset into its run folder for the config (and σ), resuming what an earlier run left. */
async function certifyAll(ctx: CommandCtx, arg: unknown, sigma?: number): Promise<void> {
  const { context, worker, datasets: provider } = ctx;
  if (!vscode.workspace.isTrusted) return refuseUntrusted();
  const dir =
    datasetOf(arg) ??
    (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Certify dataset' }))?.[0]?.fsPath;
  if (!dir) return;
  const configPath = await runConfig(context, (l) => worker.log.info(l));
  if (configPath === undefined) return; // the config question was dismissed
  const outDir = runDirFor(context, dir, sigma, configPath);
  const client = await worker.ensureStarted();
  const overrides = { ...settingsOverrides(), ...(sigma !== undefined ? { sigma } : {}) };
  worker.log.info(`certify dataset ${dir}${sigmaOf(sigma)} into ${outDir} (resume)`);
  const t0 = Date.now();
  const cancellation = new vscode.CancellationTokenSource();
  try {
    await runWithProgress(
      client,
      { title: `certseg: certifying ${path.basename(dir)}${sigmaOf(sigma)}`, cancellation },
      async (workDoneToken, token) => {
        const tick = setInterval(() => provider.refresh(dir), 5000);
        try {
          const summary = await client.sendRequest(
            CertifyDatasetRequest.type,
            { dir, outDir, configPath, overrides, resume: true, workDoneToken },
            token,
          );
          worker.log.info(`dataset ${path.basename(dir)}: ${String(summary.images)} images in ${Date.now() - t0} ms`);
          provider.refresh(dir);
          await showReport(ctx, outDir);
        } catch (e) {
          if (token.isCancellationRequested) {
            worker.log.info(`dataset ${path.basename(dir)}: cancelled after ${Date.now() - t0} ms; finished images are kept`);
            void vscode.window.showInformationMessage(
              `certseg: certification of ${path.basename(dir)} cancelled. Finished images are kept; Certify all resumes.`,
            );
          } else void vscode.window.showErrorMessage(`certseg: ${errorMessage(e)}`, 'Show Logs').then((a) => a && worker.log.show());
        } finally {
          clearInterval(tick);
          provider.refresh(dir);
        }
      },
    );
  } finally {
    cancellation.dispose();
  }
}

export function refreshDatasets(ctx: CommandCtx) {
  return () => ctx.datasets.refresh();
}

export function datasetShowMore(ctx: CommandCtx) {
  return (n: { dir: string }) => ctx.datasets.showMore(n.dir);
}

export function openDatasetSample(ctx: CommandCtx) {
  return async (n: Sample) => {
    ctx.masks.remember(n.image, n.mask);
    await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(n.image), EDITOR_VIEW_TYPE);
  };
}

export function certifyDatasetSample(ctx: CommandCtx) {
  return async (n?: Sample) => {
    if (!n?.image) return;
    if (!vscode.workspace.isTrusted) return refuseUntrusted();
    ctx.masks.remember(n.image, n.mask);
    await PreviewController.forImage(ctx, n.image).certify({ maskPath: n.mask });
  };
}

export function certifyDataset(ctx: CommandCtx) {
  return (arg?: unknown) => certifyAll(ctx, arg);
}

export function certifyDatasetAtSigma(ctx: CommandCtx) {
  return async (arg?: unknown) => {
    const v = await vscode.window.showInputBox({
      title: 'certseg: certify the dataset at σ',
      prompt: 'Noise level σ (one run folder per σ: the report plots certified Dice vs σ)',
      value: '0.25',
      validateInput: (s) => (Number.isFinite(Number(s)) && Number(s) > 0 ? null : 'a positive number'),
    });
    if (v) await certifyAll(ctx, arg, Number(v));
  };
}

export function openDatasetReport(ctx: CommandCtx) {
  return async (arg?: unknown) => {
    let runDir = arg && typeof arg === 'object' && 'runDir' in arg ? String((arg as { runDir: string }).runDir) : undefined;
    const dir = datasetOf(arg);
    if (!runDir && dir) {
      const runs = await ctx.datasets.getChildren({ kind: 'runs', dir });
      runDir = runs.length === 1 && runs[0].kind === 'run' ? runs[0].runDir : undefined;
      if (!runDir && runs.length) {
        const pick = await vscode.window.showQuickPick(
          runs.flatMap((r) => (r.kind === 'run' ? [{ label: path.basename(r.runDir), runDir: r.runDir }] : [])),
          { title: 'Dataset run' },
        );
        runDir = pick?.runDir;
      }
    }
    if (runDir) await showReport(ctx, runDir);
    else if (dir) void vscode.window.showInformationMessage(`certseg: ${path.basename(dir)} has no runs yet. Use Certify All.`);
  };
}

export function writeClusterJob(ctx: CommandCtx) {
  const { context, worker } = ctx;
  return (arg?: unknown) => writeJob(context, datasetOf(arg), (d, c) => runDirFor(context, d, undefined, c), worker.log);
}
