/**
 * The segmentation preview webview: stacked canvas layers over the image (prediction, certified map with
 * abstentions hatched, radius heatmap, ground truth, errors), layer toggles, overlay opacity, zoom/pan
 * with crisp pixels, a per-pixel hover readout (class, votes, p-value, radius), legend, metrics, and a
 * progress bar that sharpens the overlay as partial results stream in.
 *
 * Talks to the host with the messages in ./messages.ts; keeps only small view state in setState.
 */
import type { ClassInfo, ConsistencyView, FromWebview, ResultArrays, ToWebview, WebviewState } from './messages';
import type { ImageReport } from '../../server/src/pipeline/types';
import { createWindowLevel } from './windowLevel';
import { CANNOT_CERTIFY, UNDECIDED, WILL_CERTIFY, provisionalState, type ProvisionalThresholds } from '../../common/provisional';

declare function acquireVsCodeApi(): { postMessage(m: FromWebview): void; getState(): WebviewState | undefined; setState(s: WebviewState): void };

const vscode = acquireVsCodeApi();
const ABSTAIN = 255;
/** outside the certified crop (robust inference by crop selection): not a class, not tested */
const NOT_COVERED = 254;

type LayerId = 'prediction' | 'certified' | 'radius' | 'groundTruth' | 'errors' | 'flips';
const LAYERS: { id: LayerId; label: string; title: string }[] = [
  { id: 'prediction', label: 'Prediction', title: 'Clean (σ = 0) prediction; while sampling: the running majority of the noisy samples' },
  { id: 'certified', label: 'Certified', title: 'Certified class per pixel; hatched = the certificate abstains' },
  { id: 'radius', label: 'Radius', title: 'Per-pixel certified L2 radius (Clopper-Pearson), 0 = abstain' },
  { id: 'groundTruth', label: 'Ground truth', title: 'The mask given with the image: cyan outline of its foreground regions' },
  { id: 'errors', label: 'Errors', title: 'Magenta: certified but wrong. Yellow: clean prediction wrong' },
  { id: 'flips', label: 'Shift flips', title: 'Translation consistency: pixels whose label changes under one-pixel camera shifts (yellow: 1 of the 8 shifts … red: all 8)' },
];

const FALLBACK_COLORS = ['#000000', '#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#46f0f0', '#f032e6', '#bcf60c', '#fabebe'];

// ---------------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------------

interface Current extends ResultArrays {
  report: ImageReport | null;
  classes: ClassInfo[];
  /** a run in progress: what its partial results say so far (never shown as certified) */
  partial: Provisional | null;
}

/** A partial result read through core/provisional.ts: per pixel undecided / will be certified / cannot be. */
interface Provisional {
  phase: string;
  samplesDone: number;
  samplesTotal: number;
  thresholds: ProvisionalThresholds | null;
  /** per pixel, estimation only (selection: every pixel undecided, its running mode shown) */
  states: Uint8Array | null;
  will: number;
  cannot: number;
  undecided: number;
}

function provisionalOf(m: Extract<ToWebview, { type: 'partial' }>): Provisional {
  const t = m.phase === 'estimation' ? m.thresholds : null;
  const states = t ? new Uint8Array(m.selected.length) : null;
  let will = 0, cannot = 0, undecided = 0;
  for (let i = 0; i < m.selected.length; i++) {
    if (m.selected[i] === NOT_COVERED) continue;
    const s = t ? provisionalState(m.counts[i], m.samplesDone, t) : UNDECIDED;
    if (states) states[i] = s;
    if (s === WILL_CERTIFY) will++;
    else if (s === CANNOT_CERTIFY) cannot++;
    else undecided++;
  }
  return { phase: m.phase, samplesDone: m.samplesDone, samplesTotal: m.samplesTotal, thresholds: t, states, will, cannot, undecided };
}

const saved = vscode.getState();
/** how the last run of this panel ended when it produced no result: its partial picture is gone */
type RunEnd = 'cancelled' | 'failed';
const state = {
  imagePath: saved?.imagePath ?? '',
  resultDir: saved?.resultDir ?? null,
  zoom: saved?.view?.zoom ?? 0,
  panX: saved?.view?.panX ?? 0,
  panY: saved?.view?.panY ?? 0,
  opacity: saved?.view?.opacity ?? 0.6,
  layers: { prediction: false, certified: true, radius: false, groundTruth: false, errors: false, flips: false, ...(saved?.view?.layers ?? {}) } as Record<LayerId, boolean>,
  showImage: true,
  running: false,
  canRun: true,
  firstPartialMs: null as number | null,
  runEnd: null as RunEnd | null,
  /** the view follows the panel's size until the user zooms or pans */
  autoFit: !(saved?.view?.zoom && saved.view.zoom > 0),
};
let cur: Current | null = null;
/** the last translation-consistency measurement, and which of its flip maps is drawn */
let flips: ConsistencyView | null = null;
let flipVariant: 'plain' | 'cropSelection' = 'plain';
let imageSize: { w: number; h: number } | null = null;

function persist() {
  vscode.setState({
    imagePath: state.imagePath,
    resultDir: state.resultDir,
    view: { zoom: state.autoFit ? 0 : state.zoom, panX: state.panX, panY: state.panY, layers: { ...state.layers }, opacity: state.opacity },
  });
}

// ---------------------------------------------------------------------------------------------------
// DOM
// ---------------------------------------------------------------------------------------------------

function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<string, string>> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) el.setAttribute(k, v);
  for (const c of children) el.append(c);
  return el;
}

const app = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
const certifyBtn = h('button', { id: 'certify', title: 'Certify this image (runs in the certseg worker)' }, 'Certify');
const cancelBtn = h('button', { id: 'cancel', class: 'secondary', title: 'Cancel the run' }, 'Cancel');
const imageToggle = h('input', { type: 'checkbox', id: 'toggle-image' });
const layerToggles = new Map<LayerId, HTMLInputElement>();
const toolbar = h('div', { class: 'toolbar' }, certifyBtn, cancelBtn, h('label', { title: 'The image itself' }, imageToggle, 'Image'));
for (const l of LAYERS) {
  const cb = h('input', { type: 'checkbox', id: `toggle-${l.id}` });
  layerToggles.set(l.id, cb);
  toolbar.append(h('label', { title: l.title }, cb, l.label));
}
const opacity = h('input', { type: 'range', id: 'opacity', min: '0', max: '1', step: '0.05', title: 'Overlay opacity' });
const zoomLabel = h('span', { id: 'zoom-label', class: 'muted' }, '');
const fitBtn = h('button', { id: 'fit', class: 'secondary', title: 'Fit to window (0)' }, 'Fit');
const oneBtn = h('button', { id: 'one', class: 'secondary', title: 'Actual pixels (1)' }, '1:1');
toolbar.append(h('label', { class: 'opacity' }, 'Opacity', opacity), fitBtn, oneBtn, zoomLabel);

const progressBar = h('div', { class: 'bar' });
const progressText = h('span', { id: 'progress-text' }, '');
const progress = h('div', { id: 'progress', class: 'progress hidden' }, h('div', { class: 'track' }, progressBar), progressText);
const errorBox = h('div', { id: 'error', class: 'error hidden' });
/** what the panel shows and why (no result yet, provisional, cancelled): a line in the header, never over the image */
const statusLine = h('div', { id: 'status-line', class: 'status-line muted' }, '');

const img = h('img', { id: 'layer-image', class: 'layer', alt: '' });
const canvases = new Map<LayerId, HTMLCanvasElement>();
const stack = h('div', { class: 'stack', id: 'stack' }, img);
for (const l of LAYERS) {
  const c = h('canvas', { id: `layer-${l.id}`, class: 'layer' });
  canvases.set(l.id, c);
  stack.append(c);
}
const stage = h('div', { class: 'stage', id: 'stage', tabindex: '0' }, stack);
/** DICOM/NIfTI: window/level and the slice slider (display only), drawing into the image layer */
const windowLevel = createWindowLevel({ img, stage, post: (m) => vscode.postMessage(m) });
const provisionalBadge = h('div', { id: 'provisional', class: 'provisional hidden', title: 'A run is in progress: nothing on this picture is certified yet' }, 'PROVISIONAL');

const readout = h('div', { id: 'readout', class: 'readout' }, 'Hover a pixel');
const legend = h('div', { id: 'legend', class: 'legend' });
const metrics = h('div', { id: 'metrics', class: 'metrics' });
const tauIn = h('input', { type: 'number', id: 'tau', min: '0.51', max: '0.999', step: '0.01' });
const alphaIn = h('input', { type: 'number', id: 'alpha', min: '0.000001', max: '0.5', step: '0.0001' });
const corrIn = h('select', { id: 'correction' }, h('option', { value: 'holm' }, 'Holm'), h('option', { value: 'bonferroni' }, 'Bonferroni'));
const recertBtn = h('button', { id: 'recertify', class: 'secondary', title: 'Re-apply the test to the stored votes (exploratory)' }, 'Re-certify');
const reportBtn = h('button', { id: 'open-report', class: 'secondary' }, 'Open report.json');
const consistencyBtn = h('button', { id: 'check-consistency', class: 'secondary', title: 'Measure how the segmentation changes under one-pixel camera shifts, plain and with crop selection (M = 8)' }, 'Check translation consistency');
const consistencyBox = h('div', { id: 'consistency', class: 'metrics' });
const recert = h(
  'details',
  { class: 'recert' },
  h('summary', {}, 'Re-certify (exploratory)'),
  h('label', {}, 'τ', tauIn),
  h('label', {}, 'α', alphaIn),
  h('label', {}, 'correction', corrIn),
  recertBtn,
  h('p', { class: 'muted' }, 'Choosing τ/α after looking at the votes voids the family-wise guarantee: the result is marked exploratory.'),
);
const side = h('aside', { class: 'side' }, h('h3', {}, 'Pixel'), readout, h('h3', {}, 'Legend'), legend, h('h3', {}, 'Metrics'), metrics, recert, reportBtn, h('h3', {}, 'Translation consistency'), consistencyBox, consistencyBtn);
const title = h('div', { class: 'title', id: 'title' }, app.getAttribute('data-image-name') ?? '');
app.append(h('header', {}, title, toolbar, windowLevel.element, statusLine, progress, errorBox), h('main', {}, h('div', { class: 'viewer' }, stage, provisionalBadge), side));

// ---------------------------------------------------------------------------------------------------
// Colors and drawing
// ---------------------------------------------------------------------------------------------------

function hexToRgb(hex: string): [number, number, number] {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(hex.trim());
  return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : [255, 0, 255];
}
function classColor(k: number): [number, number, number] {
  const c = cur?.classes[k]?.color ?? FALLBACK_COLORS[k % FALLBACK_COLORS.length];
  return hexToRgb(c);
}
function className(k: number): string {
  if (k === ABSTAIN) return 'abstain';
  return cur?.classes[k]?.name ?? `class ${k}`;
}
/** Class 0 is the background: drawn transparent in the class layers. */
const isBackground = (k: number) => k === 0;

/** viridis-like ramp for t in [0,1] */
function ramp(t: number): [number, number, number] {
  const stops: [number, number, number][] = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const x = Math.max(0, Math.min(1, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  return [0, 1, 2].map((j) => Math.round(stops[i][j] + f * (stops[i + 1][j] - stops[i][j]))) as [number, number, number];
}

function paint(id: LayerId, w: number, hgt: number, fill: (i: number, x: number, y: number, px: Uint8ClampedArray, o: number) => void) {
  const c = canvases.get(id)!;
  if (c.width !== w || c.height !== hgt) {
    c.width = w;
    c.height = hgt;
  }
  const ctx = c.getContext('2d')!;
  const data = ctx.createImageData(w, hgt);
  const px = data.data;
  for (let y = 0, i = 0; y < hgt; y++) for (let x = 0; x < w; x++, i++) fill(i, x, y, px, i * 4);
  ctx.putImageData(data, 0, 0);
}
function put(px: Uint8ClampedArray, o: number, rgb: [number, number, number], a = 255) {
  px[o] = rgb[0];
  px[o + 1] = rgb[1];
  px[o + 2] = rgb[2];
  px[o + 3] = a;
}
const HATCH: [number, number, number] = [40, 40, 40];
const HATCH_LIGHT: [number, number, number] = [200, 200, 200];
function hatch(px: Uint8ClampedArray, o: number, x: number, y: number) {
  // diagonal stripes, 2 px dark / 2 px light: reads as "abstain" at any zoom
  put(px, o, (x + y) % 4 < 2 ? HATCH : HATCH_LIGHT, 255);
}

/** undecided background pixels: a light dot, so they differ from background that will be certified (transparent) */
const UNDECIDED_BACKGROUND: [number, number, number] = [235, 235, 235];
const GROUND_TRUTH: [number, number, number] = [0, 229, 255]; // cyan: apart from every error colour
const CERTIFIED_WRONG: [number, number, number] = [255, 0, 255]; // magenta: apart from class reds (polyp #ff3030)
const PREDICTION_WRONG: [number, number, number] = [255, 210, 0];

/**
 * A run in progress, on the Certified layer. Exact states only (core/provisional.ts): "will be certified"
 * is drawn like a certified pixel, "can no longer be certified" hatched like an abstention, and an
 * undecided pixel as a dotted pattern (every other pixel) of its running mode, its opacity the vote
 * fraction so far: the dots mark everything that is still provisional.
 */
function drawProvisional(p: Provisional, w: number, hgt: number) {
  const { selected, counts } = cur!;
  const estimating = p.phase === 'estimation' && p.samplesDone > 0;
  paint('certified', w, hgt, (i, x, y, px, o) => {
    const k = selected[i];
    if (k === NOT_COVERED) return;
    const s = p.states ? p.states[i] : UNDECIDED;
    if (s === WILL_CERTIFY) {
      if (!isBackground(k)) put(px, o, classColor(k));
    } else if (s === CANNOT_CERTIFY) hatch(px, o, x, y);
    else if ((x + y) % 2 === 0) {
      const fraction = estimating ? counts[i] / p.samplesDone : 0.75;
      put(px, o, isBackground(k) ? UNDECIDED_BACKGROUND : classColor(k), Math.round(70 + 185 * fraction));
    }
  });
}

function drawAll() {
  if (!cur) return;
  const { width: w, height: hgt } = cur;
  const pred = cur.partial ? cur.selected : (cur.clean ?? cur.selected);
  paint('prediction', w, hgt, (i, _x, _y, px, o) => {
    const k = pred[i];
    if (!isBackground(k) && k !== ABSTAIN && k !== NOT_COVERED) put(px, o, classColor(k));
  });
  const certified = cur.certified;
  if (cur.partial) drawProvisional(cur.partial, w, hgt);
  else {
    paint('certified', w, hgt, (i, x, y, px, o) => {
      const k = certified[i];
      if (k === ABSTAIN) hatch(px, o, x, y);
      else if (!isBackground(k) && k !== NOT_COVERED) put(px, o, classColor(k));
    });
  }
  const rm = cur.radiusMap;
  let rmax = 0;
  if (rm) for (let i = 0; i < rm.length; i++) if (Number.isFinite(rm[i]) && rm[i] > rmax) rmax = rm[i];
  paint('radius', w, hgt, (i, _x, _y, px, o) => {
    if (rm && rm[i] > 0) put(px, o, ramp(rmax > 0 ? rm[i] / rmax : 0));
  });
  const mask = cur.mask;
  // the mask as an outline (a foreground pixel with a 4-neighbour of another label), so it never hides the
  // prediction below it, in a colour no class or error uses
  const fgLabel = (i: number) => (mask![i] === ABSTAIN || isBackground(mask![i]) ? -1 : mask![i]);
  paint('groundTruth', w, hgt, (i, x, y, px, o) => {
    if (!mask) return;
    const k = fgLabel(i);
    if (k < 0) return;
    const edge = x === 0 || y === 0 || x === w - 1 || y === hgt - 1 || fgLabel(i - 1) !== k || fgLabel(i + 1) !== k || fgLabel(i - w) !== k || fgLabel(i + w) !== k;
    if (edge) put(px, o, GROUND_TRUTH);
  });
  paint('errors', w, hgt, (i, _x, _y, px, o) => {
    if (!mask || mask[i] === ABSTAIN || cur!.partial) return;
    if (certified[i] !== ABSTAIN && certified[i] !== mask[i]) put(px, o, CERTIFIED_WRONG);
    else if (pred[i] !== mask[i]) put(px, o, PREDICTION_WRONG);
  });
  renderLegend(rmax);
}

// ---------------------------------------------------------------------------------------------------
// View: visibility, zoom, pan
// ---------------------------------------------------------------------------------------------------

function contentSize(): { w: number; h: number } | null {
  if (cur) return { w: cur.width, h: cur.height };
  if (flips) return { w: flips.width, h: flips.height };
  return imageSize;
}

function applyView() {
  const size = contentSize();
  provisionalBadge.classList.toggle('hidden', !cur?.partial);
  renderStatus();
  img.classList.toggle('hidden', !state.showImage);
  for (const l of LAYERS) {
    const c = canvases.get(l.id)!;
    const available = l.id === 'flips' ? !!flips : !!cur && (l.id !== 'radius' || !!cur.radiusMap) && ((l.id !== 'groundTruth' && l.id !== 'errors') || !!cur.mask);
    layerToggles.get(l.id)!.disabled = !available;
    c.classList.toggle('hidden', !available || !state.layers[l.id]);
    c.style.opacity = String(state.opacity);
  }
  if (!size) return;
  if (state.zoom <= 0 || state.autoFit) fit();
  stack.style.width = `${size.w}px`;
  stack.style.height = `${size.h}px`;
  stack.style.transform = `translate(${state.panX}px, ${state.panY}px) scale(${state.zoom})`;
  zoomLabel.textContent = `${size.w}×${size.h} · ${Math.round(state.zoom * 100)}%`;
}

function fit() {
  const size = contentSize();
  if (!size) return;
  const r = stage.getBoundingClientRect();
  const z = Math.max(0.05, Math.min((r.width - 16) / size.w, (r.height - 16) / size.h));
  state.zoom = z >= 2 ? Math.floor(z) : z; // integer zoom when enlarging 2x or more: every pixel the same size
  state.panX = Math.round((r.width - size.w * state.zoom) / 2);
  state.panY = Math.round((r.height - size.h * state.zoom) / 2);
}

function zoomAt(factor: number, cx: number, cy: number) {
  state.autoFit = false;
  const z = Math.max(0.05, Math.min(64, state.zoom * factor));
  state.panX = cx - ((cx - state.panX) * z) / state.zoom;
  state.panY = cy - ((cy - state.panY) * z) / state.zoom;
  state.zoom = z;
  applyView();
  persist();
}

stage.addEventListener(
  'wheel',
  (e) => {
    e.preventDefault();
    const r = stage.getBoundingClientRect();
    zoomAt(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - r.left, e.clientY - r.top);
  },
  { passive: false },
);
let drag: { x: number; y: number; panX: number; panY: number } | null = null;
stage.addEventListener('pointerdown', (e) => {
  drag = { x: e.clientX, y: e.clientY, panX: state.panX, panY: state.panY };
  stage.setPointerCapture(e.pointerId);
});
stage.addEventListener('pointerup', () => {
  if (drag) persist();
  drag = null;
});
stage.addEventListener('pointermove', (e) => {
  if (drag && (e.clientX !== drag.x || e.clientY !== drag.y)) {
    state.autoFit = false;
    state.panX = drag.panX + e.clientX - drag.x;
    state.panY = drag.panY + e.clientY - drag.y;
    applyView();
  }
  const r = stage.getBoundingClientRect();
  const x = Math.floor((e.clientX - r.left - state.panX) / state.zoom);
  const y = Math.floor((e.clientY - r.top - state.panY) / state.zoom);
  showPixel(x, y);
});
stage.addEventListener('pointerleave', () => showPixel(-1, -1));
stage.addEventListener('keydown', (e) => {
  const r = stage.getBoundingClientRect();
  if (e.key === '+' || e.key === '=') zoomAt(1.25, r.width / 2, r.height / 2);
  else if (e.key === '-') zoomAt(0.8, r.width / 2, r.height / 2);
  else if (e.key === '0') fitBtn.click();
  else if (e.key === '1') oneBtn.click();
});
fitBtn.addEventListener('click', () => {
  state.zoom = 0;
  state.autoFit = true;
  applyView();
  persist();
});
oneBtn.addEventListener('click', () => {
  const r = stage.getBoundingClientRect();
  zoomAt(1 / state.zoom, r.width / 2, r.height / 2);
});
window.addEventListener('resize', () => applyView());
// the editor group can change size without a window resize (a sash dragged, a panel opened): refit then
new ResizeObserver(() => applyView()).observe(stage);

// ---------------------------------------------------------------------------------------------------
// Hover readout: class, votes, p-value, radius
// ---------------------------------------------------------------------------------------------------

const lgammaCache: number[] = [0, 0];
function logFactorial(n: number): number {
  for (let i = lgammaCache.length; i <= n; i++) lgammaCache[i] = lgammaCache[i - 1] + Math.log(i);
  return lgammaCache[n];
}
/** One-sided binomial p-value P(X ≥ c) for X ~ Bin(n, τ): the per-pixel test of SegCertify. */
export function binomialPValue(c: number, n: number, tau: number): number {
  if (c <= 0) return 1;
  let s = 0;
  const lt = Math.log(tau);
  const l1 = Math.log1p(-tau);
  for (let k = c; k <= n; k++) s += Math.exp(logFactorial(n) - logFactorial(k) - logFactorial(n - k) + k * lt + (n - k) * l1);
  return Math.min(1, s);
}

function fmtP(p: number): string {
  return p >= 0.001 ? p.toFixed(4) : p.toExponential(2);
}

function flipLine(x: number, y: number): string | null {
  if (!flips || x < 0 || y < 0 || x >= flips.width || y >= flips.height) return null;
  const m = flipVariant === 'cropSelection' && flips.cropSelection ? flips.cropSelection : flips.plain;
  return `shift flips${m === flips.plain ? '' : ` (M = ${flips.cropSelection!.M})`}: ${m.flipMap[y * flips.width + x]}/8`;
}

function showPixel(x: number, y: number) {
  if (!cur || x < 0 || y < 0 || x >= cur.width || y >= cur.height) {
    const f = flipLine(x, y);
    readout.textContent = f ? `(${x}, ${y})\n${f}` : cur || flips ? 'Hover a pixel' : '';
    return;
  }
  const i = y * cur.width + x;
  const lines: string[] = [`(${x}, ${y})`];
  const rep = cur.report;
  const n = rep?.params.n;
  const p = cur.partial;
  if (p) {
    lines.push(`PROVISIONAL (${phaseLabel(p)})`);
    lines.push(`${p.phase === 'clean' ? 'clean prediction' : 'mode so far'}: ${cur.selected[i] === NOT_COVERED ? 'not covered' : className(cur.selected[i])}`);
    if (p.phase === 'estimation' && p.samplesDone > 0) lines.push(`votes: ${cur.counts[i]}/${p.samplesDone} (${pct(cur.counts[i] / p.samplesDone)})`);
    const s = p.states?.[i];
    if (s === WILL_CERTIFY) lines.push('will be certified');
    else if (s === CANNOT_CERTIFY) lines.push(`can no longer be certified (needs ${p.thresholds!.reachableAt} of ${p.thresholds!.n})`);
    else if (p.thresholds) lines.push(`undecided (certain at ${p.thresholds.certainAt} of ${p.thresholds.n} votes)`);
    else lines.push(`undecided (${p.phase === 'clean' ? 'sampling starts' : 'selection: choosing the class'})`);
  } else {
    const k = cur.certified[i];
    lines.push(k === ABSTAIN ? `certified: abstain (selected ${className(cur.selected[i])})` : `certified: ${className(k)}`);
    if (cur.clean) lines.push(`clean prediction: ${className(cur.clean[i])}`);
    if (n !== undefined && rep) {
      lines.push(`votes: ${cur.counts[i]}/${n} (needs ≥ ${rep.minCertifiedCount})`);
      lines.push(`p-value: ${fmtP(binomialPValue(cur.counts[i], n, rep.params.tau))} (τ = ${rep.params.tau})`);
      lines.push(`radius: ${k === ABSTAIN ? '0 (abstain)' : rep.radius.toFixed(4)}`);
    }
    if (cur.radiusMap) lines.push(`pixel radius (CP): ${cur.radiusMap[i].toFixed(4)}`);
  }
  if (cur.mask) lines.push(`ground truth: ${className(cur.mask[i])}`);
  const f = flipLine(x, y);
  if (f) lines.push(f);
  readout.textContent = lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Legend, metrics, progress
// ---------------------------------------------------------------------------------------------------

function swatch(color: string | null, cls = ''): HTMLElement {
  const s = h('span', { class: `swatch ${cls}` });
  if (color) s.style.background = color;
  return s;
}

function renderLegend(rmax: number) {
  legend.replaceChildren();
  const classes = cur?.classes.length ? cur.classes : [];
  classes.forEach((c, k) => legend.append(h('div', {}, swatch(isBackground(k) ? null : c.color, isBackground(k) ? 'transparent' : ''), `${k} ${c.name}${isBackground(k) ? ' (transparent)' : ''}`)));
  if (cur?.partial) {
    // the provisional picture: exact early decisions, never "certified"
    const estimating = !!cur.partial.thresholds;
    legend.append(h('div', { class: 'provisional-note' }, 'PROVISIONAL: nothing is certified until the run ends'));
    if (estimating) legend.append(h('div', {}, swatch(null, 'solid-class'), 'provisional: will be certified (class colour)'));
    if (estimating) legend.append(h('div', {}, swatch(null, 'hatched'), 'provisional: can no longer be certified'));
    legend.append(h('div', {}, swatch(null, 'dotted'), estimating ? 'undecided (mode shown; opacity = vote fraction)' : cur.partial.phase === 'clean' ? 'undecided (clean prediction shown)' : 'undecided (running mode shown)'));
    return;
  }
  legend.append(h('div', {}, swatch(null, 'hatched'), 'abstain'));
  if (cur?.radiusMap) {
    const bar = h('span', { class: 'colorbar' });
    legend.append(h('div', {}, 'radius 0 ', bar, ` ${rmax.toFixed(3)}`));
  }
  if (cur?.mask) legend.append(h('div', {}, swatch(null, 'outline'), 'ground truth (outline)'), h('div', {}, swatch('#ff00ff'), 'certified & wrong'), h('div', {}, swatch('#ffd200'), 'prediction wrong'));
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(1)}%`);
const num = (x: number | null | undefined, d = 3) => (x === null || x === undefined ? '–' : x.toFixed(d));

function renderMetrics() {
  metrics.replaceChildren();
  const rep = cur?.report;
  if (!cur || !rep) {
    const p = cur?.partial;
    if (p) {
      const covered = p.will + p.cannot + p.undecided;
      const rows: [string, string][] = [['PROVISIONAL', phaseLabel(p)]];
      if (p.thresholds) {
        rows.push(
          ['will be certified', `${p.will} (${pct(p.will / covered)})`],
          ['can no longer be certified', `${p.cannot} (${pct(p.cannot / covered)})`],
          ['undecided', `${p.undecided} (${pct(p.undecided / covered)})`],
          ['certain at / needs', `${p.thresholds.certainAt} / ${p.thresholds.reachableAt} of ${p.thresholds.n} votes`],
        );
      } else rows.push(['undecided', `${covered} (class being chosen)`]);
      const table = h('table', { id: 'provisional-table' });
      for (const [k, v] of rows) table.append(h('tr', {}, h('th', {}, k), h('td', {}, v)));
      metrics.append(table);
    }
    return;
  }
  const rows: [string, string][] = [
    ['certified pixels', `${rep.certifiedPixels} (${pct(1 - rep.abstainRate)})`],
    ['abstain rate', pct(rep.abstainRate)],
    ['radius σ·Φ⁻¹(τ)', num(rep.radius, 4)],
    ['σ / n0 / n', `${rep.params.sigma} / ${rep.params.n0} / ${rep.params.n}`],
    ['τ / α / correction', `${rep.params.tau} / ${rep.params.alpha} / ${rep.params.correction}`],
    ['denoiser', rep.params.denoiser ? `${rep.params.denoiser.convention}, t* = ${rep.params.denoiser.timestep ?? '–'}` : 'none'],
  ];
  // what ran: the config and the models (from report.json)
  const base = (p: string) => p.split(/[\\/]/).pop() ?? p;
  rows.push(['config', rep.config ? base(rep.config) : rep.config === null ? 'shipped defaults' : '–']);
  rows.push(['models', `${base(rep.provenance.segmenter.card)} + ${rep.params.denoiser ? base(rep.params.denoiser.card) : 'no denoiser'}`]);
  // where the models saw the image and the samples per batch (the memory plan, docs/memory.md)
  const wk = rep.working;
  if (wk) {
    const shape = (x: { width: number; height: number; how: string }) => `${x.width}×${x.height} ${x.how}`;
    rows.push(['working size', `${shape(wk.segmenter)}${wk.denoiser ? ` / ${shape(wk.denoiser)}` : ''}, batch ${wk.batchSize}`]);
  }
  // the names of core/metrics.ts: foreground Dice (mean over foreground classes), per-class Dice beside it
  const perClass = (d: (number | null)[]) => d.map((x) => num(x)).join(' · ');
  if (rep.clean) rows.push(['clean foreground Dice / IoU', `${num(rep.clean.meanDice)} / ${num(rep.clean.meanIoU)}`], ['clean Dice per class', perClass(rep.clean.dice)], ['clean pixel acc.', pct(rep.clean.pixelAccuracy)]);
  if (rep.certified) rows.push(['certified foreground Dice / IoU', `${num(rep.certified.meanDice)} / ${num(rep.certified.meanIoU)}`], ['certified Dice per class', perClass(rep.certified.dice)], ['certified pixel acc.', pct(rep.certified.pixelAccuracy)]);
  const seg = rep.provenance?.segmenter;
  if (seg) rows.push(['engine', `${seg.engine} (${seg.backend}, ${seg.device})`]);
  if (rep.timings) rows.push(['time', `${(rep.timings.total / 1000).toFixed(2)} s`]);
  if (state.firstPartialMs !== null) rows.push(['first partial', `${state.firstPartialMs} ms`]);
  const table = h('table', {});
  for (const [k, v] of rows) table.append(h('tr', {}, h('th', {}, k), h('td', {}, v)));
  if (rep.exploratory) metrics.append(h('div', { class: 'badge', id: 'exploratory' }, 'exploratory (re-certified)'));
  metrics.append(table);
  tauIn.value = String(rep.params.tau);
  alphaIn.value = String(rep.params.alpha);
  corrIn.value = rep.params.correction;
}

/** Flip counts 1..8: yellow → red; 0 transparent. */
function drawFlips() {
  if (!flips) return;
  const m = flipVariant === 'cropSelection' && flips.cropSelection ? flips.cropSelection : flips.plain;
  paint('flips', flips.width, flips.height, (i, _x, _y, px, o) => {
    const v = m.flipMap[i];
    if (v > 0) put(px, o, [255, Math.round(230 * (1 - Math.min(1, (v - 1) / 7))), 0]);
  });
}

const dir = (d: { dy: number; dx: number }) => `(${d.dy > 0 ? '+' : ''}${d.dy}, ${d.dx > 0 ? '+' : ''}${d.dx})`;

function renderConsistency() {
  consistencyBox.replaceChildren();
  if (!flips) {
    consistencyBox.append(h('div', { class: 'muted' }, 'Not measured yet.'));
    return;
  }
  const variants = [{ key: 'plain' as const, name: 'plain', m: flips.plain }, ...(flips.cropSelection ? [{ key: 'cropSelection' as const, name: `crop selection M = ${flips.cropSelection.M}`, m: flips.cropSelection }] : [])];
  const table = h('table', { id: 'consistency-table' });
  table.append(h('tr', {}, h('th', {}, ''), ...variants.map((v) => h('th', {}, v.name))));
  const row = (label: string, title: string, f: (m: (typeof variants)[number]['m']) => string) =>
    table.append(h('tr', { title }, h('th', {}, label), ...variants.map((v) => h('td', {}, f(v.m)))));
  row('changed by any shift', 'share of the pixels whose label changes under at least one of the 8 one-pixel shifts', (m) => pct(m.changedAnyFraction));
  row('changed, mean of 8', 'mean over the 8 shift directions of the share of changed pixels', (m) => pct(m.meanFraction));
  row('worst direction', 'the shift (dy, dx) that changes the most pixels', (m) => `${dir(m.worst)} ${pct(m.worst.fraction)}`);
  row('coverage', 'share of the view the prediction covers (crop selection leaves a border uncovered)', (m) => pct(m.coverage));
  if (flips.cropSelection) {
    const cs = flips.cropSelection;
    row('selection moved', 'share of the 8 shifts whose selected crop content changed', (m) => (m.selectionChangeRate === null ? '–' : pct(m.selectionChangeRate)));
    row('bound, one shift', 'bound on the probability that a random one-pixel shift moves the selected crop, if the argmax is uniform over the window (docs/consistency.md)', (m) => (m === cs ? pct(cs.bound) : '–'));
    row('some shift, i.i.d. scores', 'probability that at least one of the 8 one-pixel shifts moves the selected crop when the scores are exchangeable: 1 − ((M−2)/(M+2))² (docs/consistency.md)', (m) => (m === cs ? pct(cs.anyShift) : '–'));
  }
  consistencyBox.append(table);
  if (flips.cropSelection) {
    const sel = h('select', { id: 'flip-variant', title: 'Which flip map the Shift flips layer shows' }, ...variants.map((v) => h('option', { value: v.key }, v.name)));
    (sel as HTMLSelectElement).value = flipVariant;
    sel.addEventListener('change', () => {
      flipVariant = (sel as HTMLSelectElement).value as typeof flipVariant;
      drawFlips();
    });
    consistencyBox.append(h('label', {}, 'flip map ', sel));
  }
  consistencyBox.append(h('div', { class: 'muted' }, `segmenter: ${flips.segmenter}`));
}

/** What a partial picture is, in words ("clean prediction, before any noisy sample", "estimation 8/64"). */
function phaseLabel(p: Provisional): string {
  return p.phase === 'clean' ? 'clean prediction, before any noisy sample' : `${p.phase} ${p.samplesDone}/${p.samplesTotal}`;
}

/** The header's status line: what the picture is (nothing yet, provisional, a stored result after a cancelled run). */
function renderStatus() {
  let text = '';
  const p = cur?.partial;
  if (p) {
    text = p.thresholds
      ? `Provisional (${phaseLabel(p)}): ${p.will} will be certified, ${p.cannot} can no longer be, ${p.undecided} undecided — nothing is certified yet.`
      : `Provisional (${phaseLabel(p)}): ${p.phase === 'clean' ? 'the prediction without noise' : 'the running mode per pixel'} — nothing is certified yet.`;
  } else if (state.runEnd) {
    const what = state.runEnd === 'cancelled' ? 'Cancelled' : 'The run failed';
    text = cur?.report ? `${what}: showing the stored result of an earlier run.` : `${what} — nothing certified.`;
  } else if (!cur && !flips && !state.running) text = state.canRun ? 'No result yet. Click Certify to run.' : 'No result yet.';
  else if (!cur && state.running) text = 'Running: the picture appears with the first samples.';
  statusLine.textContent = text;
  statusLine.classList.toggle('hidden', !text);
  if (p) {
    provisionalBadge.dataset.phase = p.phase;
    provisionalBadge.dataset.will = String(p.will);
    provisionalBadge.dataset.cannot = String(p.cannot);
    provisionalBadge.dataset.undecided = String(p.undecided);
    // informative: some pixel is drawn as something other than an abstention
    provisionalBadge.dataset.informative = String(p.will + p.undecided > 0);
  }
}

/** A run of this panel ended without a result: its partial picture must not stay as if it were one. */
function endRun(how: RunEnd) {
  if (!state.running && !cur?.partial) return;
  if (cur?.partial) cur = null;
  state.runEnd = how;
  setProgress(null, '');
  setRunning(false);
  legend.replaceChildren();
  renderMetrics();
  applyView();
  showPixel(-1, -1);
  document.body.dataset.state = how;
}

function setProgress(percent: number | null, text: string) {
  progress.classList.toggle('hidden', percent === null && !text);
  progressBar.style.width = `${Math.max(0, Math.min(100, percent ?? 0))}%`;
  progressText.textContent = text;
}

function setRunning(running: boolean) {
  state.running = running;
  certifyBtn.disabled = running || !state.canRun;
  certifyBtn.title = state.canRun ? 'Certify this image (runs in the certseg worker)' : 'Runs are disabled in Restricted Mode: trust the workspace to certify';
  cancelBtn.classList.toggle('hidden', !running);
  recertBtn.disabled = running || !state.canRun || !cur?.report;
  renderStatus();
}

// ---------------------------------------------------------------------------------------------------
// Controls
// ---------------------------------------------------------------------------------------------------

imageToggle.checked = state.showImage;
imageToggle.addEventListener('change', () => {
  state.showImage = imageToggle.checked;
  applyView();
});
for (const [id, cb] of layerToggles) {
  cb.checked = state.layers[id];
  cb.addEventListener('change', () => {
    state.layers[id] = cb.checked;
    applyView();
    persist();
  });
}
opacity.value = String(state.opacity);
opacity.addEventListener('input', () => {
  state.opacity = Number(opacity.value);
  applyView();
  persist();
});
certifyBtn.addEventListener('click', () => vscode.postMessage({ type: 'certify' }));
cancelBtn.addEventListener('click', () => vscode.postMessage({ type: 'cancel' }));
reportBtn.addEventListener('click', () => vscode.postMessage({ type: 'openReport' }));
consistencyBtn.addEventListener('click', () => vscode.postMessage({ type: 'checkConsistency' }));
recertBtn.addEventListener('click', () => {
  const tau = Number(tauIn.value);
  const alpha = Number(alphaIn.value);
  vscode.postMessage({ type: 'recertify', tau: Number.isFinite(tau) ? tau : undefined, alpha: Number.isFinite(alpha) ? alpha : undefined, correction: corrIn.value as 'holm' | 'bonferroni' });
});
img.addEventListener('load', () => {
  imageSize = { w: img.naturalWidth, h: img.naturalHeight };
  applyView();
});

// ---------------------------------------------------------------------------------------------------
// Messages from the host
// ---------------------------------------------------------------------------------------------------

function onMessage(m: ToWebview) {
  switch (m.type) {
    case 'init':
      title.textContent = m.imageName;
      state.imagePath = m.imagePath;
      state.canRun = m.canRun;
      if (m.imageUrl) {
        if (img.getAttribute('src') !== m.imageUrl) img.src = m.imageUrl;
      } else if (!windowLevel.active()) img.removeAttribute('src'); // a DICOM/NIfTI picture is drawn by windowLevel
      if (m.running) {
        errorBox.classList.add('hidden');
        state.firstPartialMs = null;
        state.runEnd = null;
        setProgress(0, 'queued…');
        document.body.dataset.state = 'running';
      }
      setRunning(m.running);
      persist();
      break;
    case 'progress':
      if (state.running) setProgress(m.percent, `${Math.round(m.percent)}% · ${m.message}`);
      break;
    case 'partial': {
      if (state.firstPartialMs === null) state.firstPartialMs = m.elapsedMs;
      cur = {
        width: m.width,
        height: m.height,
        clean: null,
        selected: m.selected,
        counts: m.counts,
        certified: m.certifiedSoFar ?? m.selected.map(() => ABSTAIN),
        radiusMap: null,
        mask: null,
        report: null,
        classes: cur?.classes ?? [],
        partial: provisionalOf(m),
      };
      // the provisional picture is drawn on the Certified layer: make sure something shows
      if (!state.layers.prediction && !state.layers.certified) {
        state.layers.certified = true;
        layerToggles.get('certified')!.checked = true;
      }
      document.body.dataset.state = 'partial';
      drawAll();
      renderMetrics();
      applyView();
      break;
    }
    case 'result':
      windowLevel.setResultSlice(m.report.image.intensity?.slice);
      cur = { width: m.width, height: m.height, clean: m.clean, selected: m.selected, counts: m.counts, certified: m.certified, radiusMap: m.radiusMap, mask: m.mask, report: m.report, classes: m.classes, partial: null };
      state.resultDir = m.resultDir;
      // a fresh result; a stored one after a cancelled or failed run keeps saying so (and the failure's message)
      if (!m.fromCache) state.runEnd = null;
      if (!state.runEnd) errorBox.classList.add('hidden');
      setProgress(m.fromCache ? null : 100, m.fromCache ? '' : `done in ${((m.report.timings?.total ?? 0) / 1000).toFixed(1)} s`);
      setRunning(false);
      drawAll();
      renderMetrics();
      applyView();
      persist();
      document.body.dataset.state = 'result';
      break;
    case 'recertified':
      if (cur) {
        cur.certified = m.certified;
        cur.report = m.report;
        drawAll();
        renderMetrics();
        applyView();
      }
      break;
    case 'error':
      errorBox.textContent = m.message;
      errorBox.classList.remove('hidden');
      if (m.runEnded) endRun('failed');
      else {
        setProgress(null, '');
        setRunning(false);
      }
      break;
    case 'cancelled':
      endRun('cancelled');
      break;
    case 'consistency':
      flips = { width: m.width, height: m.height, plain: m.plain, cropSelection: m.cropSelection, segmenter: m.segmenter };
      if (flipVariant === 'cropSelection' && !m.cropSelection) flipVariant = 'plain';
      state.layers.flips = true;
      layerToggles.get('flips')!.checked = true;
      consistencyBtn.disabled = false;
      drawFlips();
      renderConsistency();
      applyView();
      document.body.dataset.consistency = 'shown';
      break;
    case 'medicalImage':
      windowLevel.show(m);
      break;
    case 'consistencyRunning':
      consistencyBtn.disabled = m.running || !state.canRun;
      consistencyBtn.textContent = m.running ? 'Checking translation consistency…' : 'Check translation consistency';
      if (m.error) {
        errorBox.textContent = m.error;
        errorBox.classList.remove('hidden');
      }
      break;
  }
}

window.addEventListener('message', (e: MessageEvent<ToWebview>) => onMessage(e.data));
renderConsistency();
setRunning(false);
applyView();
vscode.postMessage({ type: 'ready' });
