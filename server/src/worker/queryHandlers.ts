/**
 * The requests answered outside the run queue: certseg/listDataset and certseg/displayImage (read files in
 * the worker itself) and certseg/engineInfo (asks a run process which runtimes load, once).
 */
import type { CancellationToken } from 'vscode-languageserver/node';
import type {
  DisplayImageParams,
  DisplayImageResult,
  EngineInfoResult,
  ListDatasetParams,
  ListDatasetResult,
} from '../../../protocol/messages';
import { displayImageQuery, listDatasetQuery, userError } from './params';
import { cancelled, type RunProcesses } from './runProcess';

export interface QueryHandlers {
  listDataset(params: ListDatasetParams): Promise<ListDatasetResult>;
  displayImage(params: DisplayImageParams): Promise<DisplayImageResult>;
  engineInfo(token: CancellationToken): Promise<EngineInfoResult>;
}

/** A certseg error (bad input) as a UserError answer; anything else is rethrown. */
async function asUserError(e: unknown): Promise<never> {
  const { isCertsegError } = await import('../core/errors');
  if (isCertsegError(e)) throw userError(e.message, e.code);
  throw e;
}

export function queryHandlers(processes: RunProcesses): QueryHandlers {
  /** engineInfo's answer: cached after the first success */
  let engineInfo: Promise<EngineInfoResult> | null = null;

  return {
    async listDataset(params) {
      const { dir, offset, limit, split } = listDatasetQuery(params);
      // Loaded on first use: image/dataset pulls in the image readers (sharp), which the idle loop does not need.
      const { findDatasetPairs } = await import('../image/dataset');
      const warnings: string[] = [];
      try {
        const pairs = await findDatasetPairs(dir, { split, onWarning: (w) => warnings.push(w) });
        return {
          total: pairs.length,
          pairs: pairs.slice(offset, offset + limit).map((x) => ({ id: x.id, image: x.image, mask: x.mask })),
          warnings,
        };
      } catch (e) {
        return asUserError(e);
      }
    },

    async displayImage(params) {
      const { imagePath, slice } = displayImageQuery(params);
      // Loaded on first use: the ITK WebAssembly readers are only needed once a medical file is previewed.
      const { displayImage } = await import('../image/display');
      try {
        return await displayImage(imagePath, slice);
      } catch (e) {
        return asUserError(e);
      }
    },

    async engineInfo(token) {
      // Not queued (it only loads the runtimes), cached after the first success.
      engineInfo ??= processes.run({ kind: 'engineInfo' }, undefined, {}).promise;
      try {
        const info = await engineInfo;
        if (token.isCancellationRequested) throw cancelled();
        return info;
      } catch (e) {
        engineInfo = null;
        throw e;
      }
    },
  };
}
