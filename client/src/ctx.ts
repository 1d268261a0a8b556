/**
 * What the extension's parts share for its whole lifetime (as rust-analyzer's `Ctx`): the extension
 * context, the worker (the lifecycle object: start, stop, restart; worker.ts) and the masks known from the
 * Datasets view. Made once in `activate` (extension.ts) and handed to the commands, views and panels.
 */
import type * as vscode from 'vscode';
import type { MaskRegistry } from './maskRegistry';
import type { Worker } from './worker';

export interface Ctx {
  readonly context: vscode.ExtensionContext;
  readonly worker: Worker;
  readonly masks: MaskRegistry;
}
