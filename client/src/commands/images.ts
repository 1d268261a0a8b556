/** Commands on one image: certify (plain, with a mask, with a config), open the preview, check consistency. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EDITOR_VIEW_TYPE, PreviewController, refuseUntrusted } from '../preview';
import { IMAGE_EXTENSIONS } from '../store';
import { DIALOG_EXTENSIONS, MEDICAL_EXTENSIONS, isCertifiableImage } from '../medical';
import { imagesInPathOrder } from '../imageFiles';
import type { Ctx } from '../ctx';

/** The image a command is for: its argument, else the active tab's or editor's file. */
function imageOf(uri?: vscode.Uri): vscode.Uri | undefined {
  if (uri instanceof vscode.Uri) return uri;
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (tab instanceof vscode.TabInputCustom || tab instanceof vscode.TabInputText) return tab.uri;
  return vscode.window.activeTextEditor?.document.uri;
}

/**
 * The image to run on: `uri` (or the active file) when certseg can certify it (DICOM and NIfTI too, by
 * name or, extensionless, by the DICOM preamble: medical.ts), else one picked in a file dialog.
 */
async function pickImage(uri: vscode.Uri | undefined, openLabel: string): Promise<vscode.Uri | undefined> {
  const image = imageOf(uri);
  if (image && isCertifiableImage(image.fsPath)) return image;
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { Images: DIALOG_EXTENSIONS }, openLabel });
  return picked?.[0];
}

async function certify(ctx: Ctx, uri?: vscode.Uri, configPath?: string | null): Promise<void> {
  const image = await pickImage(uri, 'Certify');
  if (!image) return;
  if (!vscode.workspace.isTrusted) return refuseUntrusted();
  await PreviewController.forImage(ctx, image.fsPath).certify(configPath !== undefined ? { configPath } : {});
}

export function certifyImage(ctx: Ctx) {
  return (uri?: vscode.Uri) => certify(ctx, uri);
}

export function certifyWithMask(ctx: Ctx) {
  return async (uri?: vscode.Uri) => {
    if (!vscode.workspace.isTrusted) return refuseUntrusted();
    const image = uri ?? vscode.window.activeTextEditor?.document.uri;
    if (!image) return certify(ctx, undefined);
    const mask = await vscode.window.showOpenDialog({
      canSelectMany: false,
      defaultUri: vscode.Uri.file(path.dirname(image.fsPath)),
      filters: { Masks: DIALOG_EXTENSIONS },
      openLabel: 'Use as ground truth',
      title: `certseg: the ground-truth mask of ${path.basename(image.fsPath)}`,
    });
    if (!mask?.[0]) return;
    await PreviewController.forImage(ctx, image.fsPath).certify({ maskPath: mask[0].fsPath });
  };
}

export function certifyWithConfig(ctx: Ctx) {
  return async (configUri?: vscode.Uri) => {
    const config = configUri ?? vscode.window.activeTextEditor?.document.uri;
    const found = await vscode.workspace.findFiles(
      `**/*.{${[...IMAGE_EXTENSIONS, ...MEDICAL_EXTENSIONS].join(',')}}`,
      '{**/node_modules/**,**/.certseg/**}',
      2000,
    );
    // images only (masks by the naming rule of common/imageNaming.ts are left out), in path order
    const images = imagesInPathOrder(
      found,
      (u) => u.fsPath,
      (u) => vscode.workspace.asRelativePath(u),
    );
    const pick = await vscode.window.showQuickPick(
      images.map((u) => ({ label: path.basename(u.fsPath), description: vscode.workspace.asRelativePath(u), uri: u })),
      { title: `Certify with ${config ? path.basename(config.fsPath) : 'config'}`, placeHolder: 'Image to certify' },
    );
    if (pick) await certify(ctx, pick.uri, config?.fsPath ?? null);
  };
}

export function openPreview(_ctx: Ctx) {
  return async (uri?: vscode.Uri) => {
    const image = imageOf(uri);
    if (image) await vscode.commands.executeCommand('vscode.openWith', image, EDITOR_VIEW_TYPE);
  };
}

export function checkConsistency(ctx: Ctx) {
  return async (arg?: vscode.Uri | { image: string }) => {
    // from the explorer (a Uri), the Datasets view (a sample node) or the palette (the active image)
    const sample = arg && !(arg instanceof vscode.Uri) && typeof arg.image === 'string' ? vscode.Uri.file(arg.image) : undefined;
    const image = await pickImage(sample ?? (arg instanceof vscode.Uri ? arg : undefined), 'Check consistency');
    if (!image) return;
    if (!vscode.workspace.isTrusted) return refuseUntrusted();
    await PreviewController.forImage(ctx, image.fsPath).checkConsistency();
  };
}
