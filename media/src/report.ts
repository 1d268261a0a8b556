/**
 * The dataset report page's script (bundled as dist/webview/report.js; the page itself is built by
 * client/src/reportHtml.ts): sortable per-image table, a row opens that sample's result, the run picker,
 * "Open summary.json". The run folder comes from the page (body data-run-dir) and is kept with setState for
 * the panel serializer.
 */
import type { FromReport, ReportState } from '../../protocol/webview';

const api = (
  globalThis as unknown as { acquireVsCodeApi(): { postMessage(m: FromReport): void; setState(s: ReportState): void } }
).acquireVsCodeApi();
const state: ReportState = { runDir: document.body.dataset.runDir ?? '' };
api.setState(state);
const table = document.getElementById('per-image') as HTMLTableElement | null;
if (table) {
  const tbody = table.tBodies[0];
  table.querySelectorAll('th').forEach((th, col) => {
    const sort = () => {
      const asc = th.getAttribute('aria-sort') !== 'ascending';
      table.querySelectorAll('th').forEach((o) => o.removeAttribute('aria-sort'));
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      const rows = Array.from(tbody.rows);
      const key = (r: HTMLTableRowElement) => r.cells[col].getAttribute('data-v') ?? '';
      const numeric = rows.every((r) => key(r) === '' || !Number.isNaN(Number(key(r))));
      rows.sort((a, b) => {
        const x = key(a),
          y = key(b);
        if (x === '' || y === '') return x === y ? 0 : x === '' ? 1 : -1; // empty (no mask) last
        const c = numeric ? Number(x) - Number(y) : x.localeCompare(y, undefined, { numeric: true });
        return asc ? c : -c;
      });
      tbody.append(...rows);
    };
    th.addEventListener('click', sort);
    th.addEventListener('keydown', (e) => (e.key === 'Enter' || e.key === ' ') && sort());
  });
  const open = (tr: HTMLTableRowElement) =>
    api.postMessage({ type: 'openSample', dir: tr.getAttribute('data-dir') ?? '', id: tr.getAttribute('data-id') ?? '' });
  tbody.addEventListener('click', (e) => {
    const tr = (e.target as HTMLElement).closest('tr');
    if (tr) open(tr);
  });
  tbody.addEventListener('keydown', (e) => {
    const tr = (e.target as HTMLElement).closest('tr');
    if (tr && e.key === 'Enter') open(tr);
  });
}
document
  .querySelectorAll('#runs button')
  .forEach((b) => b.addEventListener('click', () => api.postMessage({ type: 'openRun', runDir: b.getAttribute('data-run') ?? '' })));
document.getElementById('open-summary')?.addEventListener('click', () => api.postMessage({ type: 'openSummary' }));
