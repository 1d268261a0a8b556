/**
 * The dataset report page (no vscode import: the webview test renders it in headless Chromium as is):
 * pooled and per-image-mean metrics, the accuracy-vs-radius SVG written by certifyDataset (an <img> on the
 * run folder), "certified Dice vs σ" when the dataset was certified at several σ (lineChartSvg, as a data:
 * image), and the per-image table (sortable; a click on a row asks the host to open that sample's result).
 * The page's only script is its own bundle (media/src/report.ts → dist/webview/report.js), loaded with the nonce.
 */
import type { DatasetSummary } from '../../protocol/results';
import { lineChartSvg } from '../../common/plot';
import { escapeHtml, webviewCsp } from './html';

export type { FromReport, ReportState } from '../../protocol/webview';

export interface ReportRun {
  /** absolute run folder (holds summary.json) */
  runDir: string;
  /** short name of the run (its folder name) */
  label: string;
  summary: DatasetSummary;
  /** summary.json's mtime: the latest run wins when several share a σ */
  mtimeMs?: number;
}

export interface ReportPage {
  nonce: string;
  /** webview.cspSource */
  cspSource: string;
  /** the dataset's name */
  title: string;
  run: ReportRun;
  /** URL of the page's script, dist/webview/report.js (asWebviewUri) */
  scriptUrl: string;
  /** URL of the run's accuracy-vs-radius.svg (asWebviewUri), null when there is none */
  plotUrl: string | null;
  /** every run of the dataset with a summary (this one included), for the σ chart and the run picker */
  siblings: ReportRun[];
}

const esc = escapeHtml;
// numbers are formatted only when they are finite numbers: anything else in a (tampered) summary shows as '–'
const pct = (x: unknown) => (typeof x !== 'number' || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(1)}%`);
const num = (x: unknown, d = 3) => (typeof x !== 'number' || !Number.isFinite(x) ? '–' : x.toFixed(d));
const val = (x: unknown) => (typeof x !== 'number' || !Number.isFinite(x) ? '–' : String(x));

/** One run per σ (the latest summary wins when several runs share a σ), sorted by σ. */
export function runsBySigma(runs: ReportRun[]): ReportRun[] {
  const by = new Map<number, ReportRun>();
  for (const r of runs) {
    const s = r.summary.params?.sigma;
    if (typeof s !== 'number') continue;
    const prev = by.get(s);
    if (!prev || (r.mtimeMs ?? 0) > (prev.mtimeMs ?? 0)) by.set(s, r);
  }
  return [...by.values()].sort((a, b) => a.summary.params!.sigma - b.summary.params!.sigma);
}

/** "certified Dice vs σ" (pooled and mean over images, clean Dice for reference); null with fewer than 2 σ. */
export function diceVsSigmaSvg(runs: ReportRun[]): string | null {
  const bySigma = runsBySigma(runs).filter((r) => r.summary.certified);
  if (bySigma.length < 2) return null;
  const pts = (f: (s: DatasetSummary) => number | null | undefined) =>
    bySigma.flatMap((r) => {
      const y = f(r.summary);
      return typeof y === 'number' && Number.isFinite(y) ? [{ x: r.summary.params!.sigma, y }] : [];
    });
  return lineChartSvg(
    [
      { label: 'certified foreground Dice (pooled)', points: pts((s) => s.certified?.pooled.meanDice) },
      { label: 'certified foreground Dice (mean over images)', points: pts((s) => s.certified?.meanOverImages.meanDice) },
      { label: 'clean foreground Dice (pooled)', points: pts((s) => s.clean?.pooled.meanDice) },
    ],
    {
      title: `Certified foreground Dice vs. σ (${bySigma.length} runs)`,
      xLabel: 'σ',
      yLabel: 'foreground Dice',
      yMin: 0,
      yMax: 1,
      markers: true,
      width: 560,
      height: 340,
    },
  );
}

function metricRows(s: DatasetSummary): string {
  type Block = NonNullable<DatasetSummary['certified']>['pooled'];
  const rows: [string, string, (m: Block) => string][] = [
    [
      'foreground Dice',
      'mean over the foreground classes present in the ground truth (the foreground class in a binary task)',
      (m) => num(m.meanDice),
    ],
    ['foreground IoU', 'mean IoU over the foreground classes present in the ground truth', (m) => num(m.meanIoU)],
  ];
  // per-class Dice beside the foreground Dice (class ids as in the model card)
  const classes = (s.certified ?? s.clean)?.pooled.dice.length ?? 0;
  for (let c = 0; c < classes; c++)
    rows.push([
      `Dice, class ${c}${c === 0 ? ' (background)' : ''}`,
      'undefined (–) where the class is absent from the ground truth',
      (m) => num(m.dice[c]),
    ]);
  rows.push(['pixel accuracy', 'correct certified pixels / all pixels (abstained = wrong)', (m) => pct(m.pixelAccuracy)]);
  const cell = (b: DatasetSummary['clean'], k: 'pooled' | 'meanOverImages', f: (m: Block) => string) =>
    `<td>${b ? esc(f(b[k])) : '–'}</td>`;
  const body = rows
    .map(
      ([name, title, f]) =>
        `<tr><th scope="row" title="${esc(title)}">${esc(name)}</th>${cell(s.certified, 'pooled', f)}${cell(s.certified, 'meanOverImages', f)}${cell(s.clean, 'pooled', f)}${cell(s.clean, 'meanOverImages', f)}</tr>`,
    )
    .join('');
  const abstain = `<tr><th scope="row">abstain rate</th><td>${pct(s.abstainRate.pooled)}</td><td>${pct(s.abstainRate.meanOverImages)}</td><td>–</td><td>–</td></tr>`;
  return `<table id="metrics" class="metrics"><thead><tr><th></th><th>certified, pooled</th><th>certified, mean over images</th><th>clean, pooled</th><th>clean, mean over images</th></tr></thead><tbody>${body}${abstain}</tbody></table>`;
}

function perImageTable(s: DatasetSummary): string {
  const cols: { key: string; label: string; title: string }[] = [
    { key: 'id', label: 'image', title: 'id in the dataset' },
    { key: 'abstainRate', label: 'abstain', title: 'share of pixels where the certificate abstains' },
    {
      key: 'certifiedDice',
      label: 'certified foreground Dice',
      title: "foreground Dice of the certified map (abstained = wrong); its mean over images is the summary's",
    },
    { key: 'cleanDice', label: 'clean foreground Dice', title: 'foreground Dice of the clean prediction' },
    { key: 'certifiedPixelAccuracy', label: 'certified pixel acc.', title: 'correct certified pixels / all pixels' },
    { key: 'totalMs', label: 'time', title: 'seconds for this image' },
  ];
  const head = cols.map((c) => `<th data-key="${c.key}" title="${esc(c.title)}" tabindex="0">${esc(c.label)}</th>`).join('');
  const sortVal = (v: number | null) => (v === null ? '' : String(v));
  const body = s.perImage
    .map(
      (p, i) =>
        `<tr data-dir="${esc(p.dir)}" data-id="${esc(p.id)}" data-index="${i}" tabindex="0" title="Open ${esc(p.id)} in the preview">` +
        `<td data-v="${esc(p.id)}">${esc(p.id)}</td>` +
        `<td data-v="${esc(p.abstainRate)}">${pct(p.abstainRate)}</td>` +
        `<td data-v="${esc(sortVal(p.certifiedDice))}">${num(p.certifiedDice)}</td>` +
        `<td data-v="${esc(sortVal(p.cleanDice))}">${num(p.cleanDice)}</td>` +
        `<td data-v="${esc(sortVal(p.certifiedPixelAccuracy))}">${pct(p.certifiedPixelAccuracy)}</td>` +
        `<td data-v="${esc(p.totalMs)}">${num(p.totalMs / 1000, 1)} s</td></tr>`,
    )
    .join('');
  return `<table id="per-image" class="per-image"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export function reportHtml(page: ReportPage): string {
  const { nonce, cspSource, run } = page;
  const s = run.summary;
  const csp = webviewCsp(cspSource, nonce, 'nonce');
  const p = s.params;
  const params = p
    ? `σ = ${val(p.sigma)}, n0 = ${val(p.n0)}, n = ${val(p.n)}, α = ${val(p.alpha)}, τ = ${val(p.tau)}, ${p.correction === 'holm' ? 'holm' : 'bonferroni'}${p.denoiser ? ', denoised' : ', no denoiser'}`
    : 'no images';
  const sigmaSvg = diceVsSigmaSvg(page.siblings);
  const runs =
    page.siblings.length > 1
      ? `<nav id="runs">${page.siblings
          .map(
            (r) =>
              `<button class="run${r.runDir === run.runDir ? ' current' : ''}" data-run="${esc(r.runDir)}" title="${esc(r.runDir)}">${esc(r.label)}${r.summary.params ? ` (σ ${val(r.summary.params.sigma)})` : ''}</button>`,
          )
          .join('')}</nav>`
      : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${esc(page.title)}</title>
<style nonce="${nonce}">
body { font-family: var(--vscode-font-family, sans-serif); font-size: var(--vscode-font-size, 13px); color: var(--vscode-foreground, #222); padding: 0 16px 24px; }
h1 { font-size: 1.3em; margin: 12px 0 2px; } h2 { font-size: 1.1em; margin: 18px 0 6px; }
.muted { opacity: 0.75; }
table { border-collapse: collapse; }
th, td { padding: 3px 10px; text-align: right; border-bottom: 1px solid var(--vscode-panel-border, #ccc); }
th:first-child, td:first-child { text-align: left; }
#per-image th { cursor: pointer; user-select: none; }
#per-image th[aria-sort="ascending"]::after { content: " ▲"; } #per-image th[aria-sort="descending"]::after { content: " ▼"; }
#per-image tbody tr { cursor: pointer; }
#per-image tbody tr:hover, #per-image tbody tr:focus { background: var(--vscode-list-hoverBackground, #eef); outline: none; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.charts img, .charts figure { max-width: 100%; margin: 0; background: #fff; border: 1px solid var(--vscode-panel-border, #ccc); }
nav button, .actions button { margin: 0 6px 6px 0; }
button.current { font-weight: bold; }
.partial { font-weight: bold; color: var(--vscode-errorForeground, #c00); }
</style>
</head>
<body data-run-dir="${esc(run.runDir)}">
<h1 id="title">${esc(page.title)}: ${esc(run.label)}</h1>
<div class="muted" id="params">${esc(s.images)} images (${esc(s.withMask)} with masks), ${params}; certified radius ${num(s.radius)}; ${num(s.timings.totalMs / 1000, 1)} s</div>
${s.partial ? `<p id="partial" class="partial">${esc(s.partial.note)}</p>` : ''}
${runs}
<div class="actions"><button id="open-summary">Open summary.json</button></div>
<h2>Metrics</h2>
${s.certified || s.clean ? metricRows(s) : '<p class="muted">No masks: no metrics.</p>'}
<h2>Plots</h2>
<div class="charts">
${page.plotUrl ? `<img id="accuracy-vs-radius" src="${esc(page.plotUrl)}" alt="certified pixel accuracy vs radius">` : '<p class="muted">No accuracy-vs-radius plot (no masks).</p>'}
${sigmaSvg ? `<figure id="dice-vs-sigma" aria-label="certified Dice vs sigma">${sigmaSvg}</figure>` : ''}
</div>
<h2>Per image <span class="muted">(click a row to open its result; click a header to sort)</span></h2>
${perImageTable(s)}
<script nonce="${nonce}" src="${esc(page.scriptUrl)}"></script>
</body>
</html>`;
}
