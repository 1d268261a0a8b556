/**
 * The DOM around the canvases, drawn from the state: the view (layer visibility, zoom/pan transform), the
 * hover readout, legend, metrics, translation-consistency table, status line, progress bar and run buttons.
 */
import { h, type Ui } from './dom';
import { drawFlips, drawLayers } from './render';
import { LAYERS, contentSize, fit, isBackground, layerAvailable, selectFlipVariant, type FlipVariant, type PreviewState } from './state';
import { consistencyTable, pixelReadout, provisionalRows, reportRows, statusText } from './text';

/** Layer visibility and toggles, opacity, and the zoom/pan transform (refitted while the view follows the panel). */
export function applyView(ui: Ui, s: PreviewState) {
  const size = contentSize(s);
  ui.provisionalBadge.classList.toggle('hidden', !s.cur?.partial);
  renderStatus(ui, s);
  ui.img.classList.toggle('hidden', !s.showImage);
  for (const l of LAYERS) {
    const c = ui.canvases.get(l.id)!;
    const available = layerAvailable(s, l.id);
    const toggle = ui.layerToggles.get(l.id)!;
    toggle.disabled = !available;
    toggle.checked = s.layers[l.id];
    c.classList.toggle('hidden', !available || !s.layers[l.id]);
    c.style.opacity = String(s.opacity);
  }
  if (!size) return;
  if (s.zoom <= 0 || s.autoFit) fit(s, ui.stage.getBoundingClientRect());
  ui.stack.style.width = `${size.w}px`;
  ui.stack.style.height = `${size.h}px`;
  ui.stack.style.transform = `translate(${s.panX}px, ${s.panY}px) scale(${s.zoom})`;
  ui.zoomLabel.textContent = `${size.w}×${size.h} · ${Math.round(s.zoom * 100)}%`;
}

/** The result layers with their legend, the metrics, and the view: after the result or the partial picture changed. */
export function redraw(ui: Ui, s: PreviewState) {
  const rmax = drawLayers(ui, s);
  if (rmax !== null) renderLegend(ui, s, rmax);
  renderMetrics(ui, s);
  applyView(ui, s);
}

export function showPixel(ui: Ui, s: PreviewState, x: number, y: number) {
  ui.readout.textContent = pixelReadout(s, x, y);
}

function swatch(color: string | null, cls = ''): HTMLElement {
  const sw = h('span', { class: `swatch ${cls}` });
  if (color) sw.style.background = color;
  return sw;
}

export function renderLegend(ui: Ui, s: PreviewState, rmax: number) {
  const { legend } = ui;
  const cur = s.cur;
  legend.replaceChildren();
  const classes = cur?.classes.length ? cur.classes : [];
  classes.forEach((c, k) =>
    legend.append(
      h(
        'div',
        {},
        swatch(isBackground(k) ? null : c.color, isBackground(k) ? 'transparent' : ''),
        `${k} ${c.name}${isBackground(k) ? ' (transparent)' : ''}`,
      ),
    ),
  );
  if (cur?.partial) {
    // the provisional picture: exact early decisions, never "certified"
    const estimating = !!cur.partial.thresholds;
    legend.append(h('div', { class: 'provisional-note' }, 'PROVISIONAL: nothing is certified until the run ends'));
    if (estimating) legend.append(h('div', {}, swatch(null, 'solid-class'), 'provisional: will be certified (class colour)'));
    if (estimating) legend.append(h('div', {}, swatch(null, 'hatched'), 'provisional: can no longer be certified'));
    legend.append(
      h(
        'div',
        {},
        swatch(null, 'dotted'),
        estimating
          ? 'undecided (mode shown; opacity = vote fraction)'
          : cur.partial.phase === 'clean'
            ? 'undecided (clean prediction shown)'
            : 'undecided (running mode shown)',
      ),
    );
    return;
  }
  legend.append(h('div', {}, swatch(null, 'hatched'), 'abstain'));
  if (cur?.radiusMap) {
    const bar = h('span', { class: 'colorbar' });
    legend.append(h('div', {}, 'radius 0 ', bar, ` ${rmax.toFixed(3)}`));
  }
  if (cur?.mask)
    legend.append(
      h('div', {}, swatch(null, 'outline'), 'ground truth (outline)'),
      h('div', {}, swatch('#ff00ff'), 'certified & wrong'),
      h('div', {}, swatch('#ffd200'), 'prediction wrong'),
    );
}

function rowsTable(rows: [string, string][], props: Partial<Record<string, string>> = {}): HTMLTableElement {
  const table = h('table', props);
  for (const [k, v] of rows) table.append(h('tr', {}, h('th', {}, k), h('td', {}, v)));
  return table;
}

export function renderMetrics(ui: Ui, s: PreviewState) {
  const { metrics } = ui;
  metrics.replaceChildren();
  const cur = s.cur;
  const rep = cur?.report;
  if (!cur || !rep) {
    if (cur?.partial) metrics.append(rowsTable(provisionalRows(cur.partial), { id: 'provisional-table' }));
    return;
  }
  const table = rowsTable(reportRows(rep, s.firstPartialMs));
  if (rep.exploratory) metrics.append(h('div', { class: 'badge', id: 'exploratory' }, 'exploratory (re-certified)'));
  metrics.append(table);
  ui.tauIn.value = String(rep.params.tau);
  ui.alphaIn.value = String(rep.params.alpha);
  ui.corrIn.value = rep.params.correction;
}

export function renderConsistency(ui: Ui, s: PreviewState) {
  const box = ui.consistencyBox;
  box.replaceChildren();
  const flips = s.flips;
  if (!flips) {
    box.append(h('div', { class: 'muted' }, 'Not measured yet.'));
    return;
  }
  const { variants, rows } = consistencyTable(flips);
  const table = h('table', { id: 'consistency-table' });
  table.append(h('tr', {}, h('th', {}, ''), ...variants.map((v) => h('th', {}, v.name))));
  for (const r of rows) table.append(h('tr', { title: r.title }, h('th', {}, r.label), ...r.cells.map((c) => h('td', {}, c))));
  box.append(table);
  if (flips.cropSelection) {
    const sel = h(
      'select',
      { id: 'flip-variant', title: 'Which flip map the Shift flips layer shows' },
      ...variants.map((v) => h('option', { value: v.key }, v.name)),
    );
    sel.value = s.flipVariant;
    sel.addEventListener('change', () => {
      selectFlipVariant(s, sel.value as FlipVariant);
      drawFlips(ui, s);
    });
    box.append(h('label', {}, 'flip map ', sel));
  }
  box.append(h('div', { class: 'muted' }, `segmenter: ${flips.segmenter}`));
}

/** The header's status line and the PROVISIONAL badge's data (what the picture is). */
export function renderStatus(ui: Ui, s: PreviewState) {
  const text = statusText(s);
  ui.statusLine.textContent = text;
  ui.statusLine.classList.toggle('hidden', !text);
  const p = s.cur?.partial;
  if (p) {
    const badge = ui.provisionalBadge;
    badge.dataset.phase = p.phase;
    badge.dataset.will = String(p.will);
    badge.dataset.cannot = String(p.cannot);
    badge.dataset.undecided = String(p.undecided);
    // informative: some pixel is drawn as something other than an abstention
    badge.dataset.informative = String(p.will + p.undecided > 0);
  }
}

export function setProgress(ui: Ui, percent: number | null, text: string) {
  ui.progress.classList.toggle('hidden', percent === null && !text);
  ui.progressBar.style.width = `${Math.max(0, Math.min(100, percent ?? 0))}%`;
  ui.progressText.textContent = text;
}

/** The run buttons (Certify, Cancel, Re-certify) for s.running and s.canRun. */
export function renderRunning(ui: Ui, s: PreviewState) {
  ui.certifyBtn.disabled = s.running || !s.canRun;
  ui.certifyBtn.title = s.canRun
    ? 'Certify this image (runs in the certseg worker)'
    : 'Runs are disabled in Restricted Mode: trust the workspace to certify';
  ui.cancelBtn.classList.toggle('hidden', !s.running);
  ui.recertBtn.disabled = s.running || !s.canRun || !s.cur?.report;
  renderStatus(ui, s);
}

export function showError(ui: Ui, message: string) {
  ui.errorBox.textContent = message;
  ui.errorBox.classList.remove('hidden');
}
