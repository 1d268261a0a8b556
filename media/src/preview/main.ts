/**
 * The segmentation preview webview (bundled as dist/webview/preview.js): stacked canvas layers over the image
 * (prediction, certified map with abstentions hatched, radius heatmap, ground truth, errors), layer toggles,
 * overlay opacity, zoom/pan with crisp pixels, a per-pixel hover readout (class, votes, p-value, radius),
 * legend, metrics, and a progress bar that sharpens the overlay as partial results stream in.
 *
 * This file wires the parts: the state (state.ts), the page (dom.ts), the renderers (render.ts,
 * renderPanels.ts), the user's controls (below) and the host's messages (dispatch.ts). Talks to the host
 * with the messages in protocol/webview.ts; keeps only small view state in setState.
 */
import type { FromWebview, ToWebview, WebviewState } from '../../../protocol/webview';
import { buildUi, h } from './dom';
import { dispatch, type PreviewContext } from './dispatch';
import { applyView, renderConsistency, renderRunning, showPixel } from './renderPanels';
import { initialState, panTo, pixelAt, resetFit, savedState, zoomAt } from './state';

declare function acquireVsCodeApi(): {
  postMessage(m: FromWebview): void;
  getState(): WebviewState | undefined;
  setState(s: WebviewState): void;
};

const vscode = acquireVsCodeApi();
const s = initialState(vscode.getState());
const app = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
const ui = buildUi(app, (m) => vscode.postMessage(m));
const persist = () => vscode.setState(savedState(s));
const ctx: PreviewContext = { s, ui, persist };

// ---------------------------------------------------------------------------------------------------
// Zoom and pan
// ---------------------------------------------------------------------------------------------------

const { stage } = ui;
function zoomView(factor: number, cx: number, cy: number) {
  zoomAt(s, factor, cx, cy);
  applyView(ui, s);
  persist();
}

stage.addEventListener(
  'wheel',
  (e) => {
    e.preventDefault();
    const r = stage.getBoundingClientRect();
    zoomView(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - r.left, e.clientY - r.top);
  },
  { passive: false },
);
let drag: { x: number; y: number; panX: number; panY: number } | null = null;
stage.addEventListener('pointerdown', (e) => {
  drag = { x: e.clientX, y: e.clientY, panX: s.panX, panY: s.panY };
  stage.setPointerCapture(e.pointerId);
});
stage.addEventListener('pointerup', () => {
  if (drag) persist();
  drag = null;
});
stage.addEventListener('pointermove', (e) => {
  if (drag && (e.clientX !== drag.x || e.clientY !== drag.y)) {
    panTo(s, drag.panX + e.clientX - drag.x, drag.panY + e.clientY - drag.y);
    applyView(ui, s);
  }
  const r = stage.getBoundingClientRect();
  const { x, y } = pixelAt(s, e.clientX - r.left, e.clientY - r.top);
  showPixel(ui, s, x, y);
});
stage.addEventListener('pointerleave', () => showPixel(ui, s, -1, -1));
stage.addEventListener('keydown', (e) => {
  const r = stage.getBoundingClientRect();
  if (e.key === '+' || e.key === '=') zoomView(1.25, r.width / 2, r.height / 2);
  else if (e.key === '-') zoomView(0.8, r.width / 2, r.height / 2);
  else if (e.key === '0') ui.fitBtn.click();
  else if (e.key === '1') ui.oneBtn.click();
});
ui.fitBtn.addEventListener('click', () => {
  resetFit(s);
  applyView(ui, s);
  persist();
});
ui.oneBtn.addEventListener('click', () => {
  const r = stage.getBoundingClientRect();
  zoomView(1 / s.zoom, r.width / 2, r.height / 2);
});
window.addEventListener('resize', () => applyView(ui, s));
// the editor group can change size without a window resize (a sash dragged, a panel opened): refit then
new ResizeObserver(() => applyView(ui, s)).observe(stage);

// ---------------------------------------------------------------------------------------------------
// Controls
// ---------------------------------------------------------------------------------------------------

ui.imageToggle.checked = s.showImage;
ui.imageToggle.addEventListener('change', () => {
  s.showImage = ui.imageToggle.checked;
  applyView(ui, s);
});
for (const [id, cb] of ui.layerToggles) {
  cb.checked = s.layers[id];
  cb.addEventListener('change', () => {
    s.layers[id] = cb.checked;
    applyView(ui, s);
    persist();
  });
}
ui.opacity.value = String(s.opacity);
ui.opacity.addEventListener('input', () => {
  s.opacity = Number(ui.opacity.value);
  applyView(ui, s);
  persist();
});
ui.certifyBtn.addEventListener('click', () => vscode.postMessage({ type: 'certify' }));
ui.cancelBtn.addEventListener('click', () => vscode.postMessage({ type: 'cancel' }));
ui.reportBtn.addEventListener('click', () => vscode.postMessage({ type: 'openReport' }));
ui.consistencyBtn.addEventListener('click', () => vscode.postMessage({ type: 'checkConsistency' }));
ui.recertBtn.addEventListener('click', () => {
  const tau = Number(ui.tauIn.value);
  const alpha = Number(ui.alphaIn.value);
  vscode.postMessage({
    type: 'recertify',
    tau: Number.isFinite(tau) ? tau : undefined,
    alpha: Number.isFinite(alpha) ? alpha : undefined,
    correction: ui.corrIn.value as 'holm' | 'bonferroni',
  });
});
ui.img.addEventListener('load', () => {
  s.imageSize = { w: ui.img.naturalWidth, h: ui.img.naturalHeight };
  applyView(ui, s);
});

// ---------------------------------------------------------------------------------------------------
// Messages from the host
// ---------------------------------------------------------------------------------------------------

window.addEventListener('message', (e: MessageEvent<ToWebview>) => dispatch(ctx, e.data));
renderConsistency(ui, s);
renderRunning(ui, s);
applyView(ui, s);
vscode.postMessage({ type: 'ready' });
