/**
 * "certseg: Write Cluster Job…": the Slurm array script (+ merge) or the Kubernetes Indexed Job (+ merge
 * Job) for a dataset of the Datasets view, with the config runs use; written by the bundled CLI
 * (`certseg cluster`), opened in the editor, with the line that submits them.
 * The output folder is the dataset's run folder, so the merged run appears in the Datasets view.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { clusterArgs, parseClusterOutput, type ClusterJobChoice } from './clusterArgs';
import { refuseUntrusted } from './preview';
import { runConfig, settingsOverrides } from './settings';
import { findDatasets } from './datasetDiscovery';

/** From the palette: the workspace's dataset folders (as the Datasets view finds them), or any folder. */
async function pickDataset(): Promise<string | undefined> {
  const roots = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  const found = await findDatasets(roots);
  const browse = { label: 'Browse…', description: 'another folder', dir: '' };
  const pick = await vscode.window.showQuickPick(
    [...found.map((dir) => ({ label: path.basename(dir), description: vscode.workspace.asRelativePath(dir), dir })), browse],
    {
      title: 'certseg: dataset for the cluster job',
    },
  );
  if (!pick) return undefined;
  if (pick !== browse) return pick.dir;
  return (
    await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Dataset for the cluster job' })
  )?.[0]?.fsPath;
}

const positiveInt = (min: number) => (s: string) =>
  /^\d+$/.test(s.trim()) && Number(s) >= min ? null : min ? 'a positive integer' : 'a non-negative integer';

export async function writeClusterJob(
  context: vscode.ExtensionContext,
  dataset: string | undefined,
  runDir: (dir: string, config: string | null) => string,
  log: vscode.LogOutputChannel,
): Promise<void> {
  if (!vscode.workspace.isTrusted) return refuseUntrusted();
  const dir = dataset ?? (await pickDataset());
  if (!dir) return;
  const kind = await vscode.window.showQuickPick(
    [
      { label: 'Slurm', description: 'sbatch job array + dependent merge job', scheduler: 'slurm' as const },
      { label: 'Kubernetes', description: 'Indexed Job + merge Job', scheduler: 'k8s' as const },
    ],
    { title: `certseg: cluster job for ${path.basename(dir)}` },
  );
  if (!kind) return;
  const shards = await vscode.window.showInputBox({
    title: 'certseg: number of shards (array tasks or pods)',
    value: '4',
    validateInput: positiveInt(1),
  });
  if (!shards) return;
  const gpus = await vscode.window.showInputBox({
    title: 'certseg: GPUs per shard (0 for CPU nodes)',
    value: '1',
    validateInput: positiveInt(0),
  });
  if (gpus === undefined) return;
  const configPath = await runConfig(context, (l) => log.info(l));
  if (configPath === undefined) return;
  const root = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(dir))?.uri.fsPath ?? path.dirname(dir);
  const choice: ClusterJobChoice = {
    kind: kind.scheduler,
    dataset: dir,
    configPath,
    overrides: settingsOverrides(),
    out: runDir(dir, configPath),
    jobDir: path.join(root, 'certseg-jobs'),
    shards: Number(shards),
    gpusPerTask: Number(gpus),
  };
  if (kind.scheduler === 'k8s') {
    choice.image = await vscode.window.showInputBox({
      title: 'certseg: container image (built from the Dockerfile)',
      placeHolder: 'registry.example/certseg:0.1',
      validateInput: (s) => (s.trim() ? null : 'an image name'),
    });
    if (!choice.image) return;
    const mount = await vscode.window.showInputBox({
      title: `certseg: where the pods see this workspace folder (${root})`,
      value: '/data',
      validateInput: (s) => (s.startsWith('/') ? null : 'an absolute path'),
    });
    if (!mount) return;
    const pvc = await vscode.window.showInputBox({
      title: 'certseg: PersistentVolumeClaim holding it (empty: add the volume yourself)',
      value: '',
    });
    if (pvc === undefined) return;
    Object.assign(choice, { root, mount, pvc: pvc.trim() || undefined });
  }
  let args: string[];
  try {
    args = clusterArgs(choice);
  } catch (e) {
    return void vscode.window.showErrorMessage(`certseg: ${(e as Error).message}`);
  }
  // The bundled CLI under the extension host's Node (Electron's, as plain Node).
  const cli = context.asAbsolutePath('dist/server/cli.js');
  log.info(`certseg ${args.join(' ')}`);
  const r = await new Promise<{ ok: boolean; stdout: string; stderr: string }>((resolve) =>
    execFile(
      process.execPath,
      [cli, ...args],
      { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ ok: !err, stdout, stderr }),
    ),
  );
  if (!r.ok)
    return void vscode.window
      .showErrorMessage(r.stderr.trim().split('\n')[0] || 'certseg: writing the cluster job failed', 'Show Logs')
      .then((a) => a && log.show());
  log.info(r.stdout.trim());
  const { files, submitLine } = parseClusterOutput(r.stdout);
  for (const f of files.reverse()) await vscode.window.showTextDocument(vscode.Uri.file(f), { preview: false });
  const action = await vscode.window.showInformationMessage(
    `certseg: wrote the ${kind.label} job for ${path.basename(dir)}; the merged result goes to ${choice.out}.`,
    'Submit in Terminal',
    'Copy Submit Line',
  );
  if (action === 'Copy Submit Line') await vscode.env.clipboard.writeText(submitLine);
  else if (action === 'Submit in Terminal') {
    // a terminal, not a hidden process: sbatch/kubectl answer (or fail) where the user sees it
    const t = vscode.window.createTerminal({ name: 'certseg cluster', cwd: root });
    t.show();
    t.sendText(submitLine);
  }
}
