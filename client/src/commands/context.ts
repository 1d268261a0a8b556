/** The context commands take (below index.ts, so the command modules don't import the table that imports them). */
import type { ConfigLenses } from '../configLens';
import type { Ctx } from '../ctx';
import type { DatasetsProvider } from '../datasets';

/** What commands use: the shared context, the Datasets view, the config lenses. */
export interface CommandCtx extends Ctx {
  readonly datasets: DatasetsProvider;
  readonly configLenses: ConfigLenses;
}
