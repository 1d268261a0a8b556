/**
 * The host's messages (protocol/webview.ts ToWebview): a table from message type to a small named handler. Each
 * handler applies a state transition (state.ts) and redraws what it changed (render.ts, renderPanels.ts).
 */
import type { ToWebview } from '../../../protocol/webview';
import type { Ui } from './dom';
import { drawFlips } from './render';
import { applyView, redraw, renderConsistency, renderMetrics, renderRunning, setProgress, showError, showPixel } from './renderPanels';
import {
  applyConsistency,
  applyInit,
  applyPartial,
  applyRecertified,
  applyResult,
  endRun,
  type Msg,
  type PreviewState,
  type RunEnd,
} from './state';

/** What a handler works on: the state, the page, and setState. */
export interface PreviewContext {
  s: PreviewState;
  ui: Ui;
  persist(): void;
}

type Handler<T extends ToWebview['type']> = (ctx: PreviewContext, m: Msg<T>) => void;

function onInit({ s, ui, persist }: PreviewContext, m: Msg<'init'>) {
  ui.title.textContent = m.imageName;
  applyInit(s, m);
  if (m.imageUrl) {
    if (ui.img.getAttribute('src') !== m.imageUrl) ui.img.src = m.imageUrl;
  } else if (!ui.windowLevel.active()) ui.img.removeAttribute('src'); // a DICOM/NIfTI picture is drawn by windowLevel
  if (m.running) {
    ui.errorBox.classList.add('hidden');
    setProgress(ui, 0, 'queued…');
    document.body.dataset.state = 'running';
  }
  renderRunning(ui, s);
  persist();
}

function onProgress({ s, ui }: PreviewContext, m: Msg<'progress'>) {
  if (s.running) setProgress(ui, m.percent, `${Math.round(m.percent)}% · ${m.message}`);
}

function onPartial({ s, ui }: PreviewContext, m: Msg<'partial'>) {
  applyPartial(s, m);
  document.body.dataset.state = 'partial';
  redraw(ui, s);
}

function onResult({ s, ui, persist }: PreviewContext, m: Msg<'result'>) {
  ui.windowLevel.setResultSlice(m.report.image.intensity?.slice);
  applyResult(s, m);
  if (!s.runEnd) ui.errorBox.classList.add('hidden');
  setProgress(ui, m.fromCache ? null : 100, m.fromCache ? '' : `done in ${((m.report.timings?.total ?? 0) / 1000).toFixed(1)} s`);
  renderRunning(ui, s);
  redraw(ui, s);
  persist();
  document.body.dataset.state = 'result';
}

function onRecertified({ s, ui }: PreviewContext, m: Msg<'recertified'>) {
  if (applyRecertified(s, m)) redraw(ui, s);
}

/** A run of this panel ended without a result: drop its partial picture and say how it ended. */
function showRunEnded({ s, ui }: PreviewContext, how: RunEnd) {
  if (!endRun(s, how)) return;
  setProgress(ui, null, '');
  renderRunning(ui, s);
  ui.legend.replaceChildren();
  renderMetrics(ui, s);
  applyView(ui, s);
  showPixel(ui, s, -1, -1);
  document.body.dataset.state = how;
}

function onError(ctx: PreviewContext, m: Msg<'error'>) {
  const { s, ui } = ctx;
  showError(ui, m.message);
  if (m.runEnded) showRunEnded(ctx, 'failed');
  else {
    setProgress(ui, null, '');
    s.running = false;
    renderRunning(ui, s);
  }
}

function onCancelled(ctx: PreviewContext) {
  showRunEnded(ctx, 'cancelled');
}

function onConsistency({ s, ui }: PreviewContext, m: Msg<'consistency'>) {
  applyConsistency(s, m);
  ui.consistencyBtn.disabled = false;
  drawFlips(ui, s);
  renderConsistency(ui, s);
  applyView(ui, s);
  document.body.dataset.consistency = 'shown';
}

function onConsistencyRunning({ s, ui }: PreviewContext, m: Msg<'consistencyRunning'>) {
  ui.consistencyBtn.disabled = m.running || !s.canRun;
  ui.consistencyBtn.textContent = m.running ? 'Checking translation consistency…' : 'Check translation consistency';
  if (m.error) showError(ui, m.error);
}

function onMedicalImage({ ui }: PreviewContext, m: Msg<'medicalImage'>) {
  ui.windowLevel.show(m);
}

export const handlers: { [T in ToWebview['type']]: Handler<T> } = {
  init: onInit,
  progress: onProgress,
  partial: onPartial,
  result: onResult,
  recertified: onRecertified,
  error: onError,
  cancelled: onCancelled,
  consistency: onConsistency,
  consistencyRunning: onConsistencyRunning,
  medicalImage: onMedicalImage,
};

/** Hands a host message to its handler; unknown types are ignored. */
export function dispatch(ctx: PreviewContext, m: ToWebview) {
  if (!Object.hasOwn(handlers, m.type)) return;
  (handlers[m.type] as Handler<typeof m.type>)(ctx, m);
}
