/**
 * Messages from the webviews are untrusted like the pages that send them: each must match one entry of
 * a table of known types with typed fields, or it is dropped. What a message may then cause (which sample
 * or run it opens) is decided by the host from validated data, never from a path the page sends.
 */
import type { FromWebview } from '../../../protocol/webview';
import type { FromReport } from '../reportHtml';

type FieldType = 'string' | 'number' | 'correction';
type Table = Record<string, Record<string, { type: FieldType; optional?: boolean }>>;

const PREVIEW: Table = {
  ready: {},
  certify: {},
  cancel: {},
  recertify: {
    tau: { type: 'number', optional: true },
    alpha: { type: 'number', optional: true },
    correction: { type: 'correction', optional: true },
  },
  openReport: {},
  checkConsistency: {},
  slice: { axis: { type: 'string' }, index: { type: 'number' } },
};

const REPORT: Table = {
  openSample: { dir: { type: 'string' }, id: { type: 'string' } },
  openRun: { runDir: { type: 'string' } },
  openSummary: {},
};

function fieldOk(v: unknown, t: FieldType): boolean {
  if (t === 'string') return typeof v === 'string' && v.length <= 4096;
  if (t === 'number') return typeof v === 'number' && Number.isFinite(v);
  return v === 'holm' || v === 'bonferroni';
}

function check<T>(table: Table, raw: unknown): T | null {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const m = raw as Record<string, unknown>;
  const spec = typeof m.type === 'string' && Object.hasOwn(table, m.type) ? table[m.type] : null;
  if (!spec) return null;
  for (const key of Object.keys(m)) if (key !== 'type' && !Object.hasOwn(spec, key)) return null;
  for (const [key, f] of Object.entries(spec)) {
    if (m[key] === undefined ? !f.optional : !fieldOk(m[key], f.type)) return null;
  }
  return m as T;
}

export const checkPreviewMessage = (raw: unknown) => check<FromWebview>(PREVIEW, raw);
export const checkReportMessage = (raw: unknown) => check<FromReport>(REPORT, raw);
