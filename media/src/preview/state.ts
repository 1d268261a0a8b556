/**
 * The preview's state and its pure transitions (no DOM: unit-tested in Node, test/webview/previewState.test.ts).
 * The message handlers (dispatch.ts) change the state only through these functions, then ask the renderers
 * (render.ts, renderPanels.ts) to draw it.
 */
import type { ClassInfo, ConsistencyView, ResultArrays, ToWebview, WebviewState } from '../../../protocol/webview';
import type { ImageReport } from '../../../protocol/results';
import { CANNOT_CERTIFY, UNDECIDED, WILL_CERTIFY, provisionalState, type ProvisionalThresholds } from '../../../common/provisional';

export const ABSTAIN = 255;
/** outside the certified crop (robust inference by crop selection): not a class, not tested */
export const NOT_COVERED = 254;

export type LayerId = 'prediction' | 'certified' | 'radius' | 'groundTruth' | 'errors' | 'flips';
export const LAYERS: { id: LayerId; label: string; title: string }[] = [
  { id: 'prediction', label: 'Prediction', title: 'Clean (σ = 0) prediction; while sampling: the running majority of the noisy samples' },
  { id: 'certified', label: 'Certified', title: 'Certified class per pixel; hatched = the certificate abstains' },
  { id: 'radius', label: 'Radius', title: 'Per-pixel certified L2 radius (Clopper-Pearson), 0 = abstain' },
  { id: 'groundTruth', label: 'Ground truth', title: 'The mask given with the image: cyan outline of its foreground regions' },
  { id: 'errors', label: 'Errors', title: 'Magenta: certified but wrong. Yellow: clean prediction wrong' },
  {
    id: 'flips',
    label: 'Shift flips',
    title: 'Translation consistency: pixels whose label changes under one-pixel camera shifts (yellow: 1 of the 8 shifts … red: all 8)',
  },
];

/** Class 0 is the background: drawn transparent in the class layers. */
export const isBackground = (k: number) => k === 0;

export interface Current extends ResultArrays {
  report: ImageReport | null;
  classes: ClassInfo[];
  /** a run in progress: what its partial results say so far (never shown as certified) */
  partial: Provisional | null;
}

/** A partial result read through core/provisional.ts: per pixel undecided / will be certified / cannot be. */
export interface Provisional {
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

/** how the last run of this panel ended when it produced no result: its partial picture is gone */
export type RunEnd = 'cancelled' | 'failed';
export type FlipVariant = 'plain' | 'cropSelection';

export type Msg<T extends ToWebview['type']> = Extract<ToWebview, { type: T }>;

export interface PreviewState {
  imagePath: string;
  resultDir: string | null;
  zoom: number;
  panX: number;
  panY: number;
  opacity: number;
  layers: Record<LayerId, boolean>;
  showImage: boolean;
  running: boolean;
  canRun: boolean;
  firstPartialMs: number | null;
  runEnd: RunEnd | null;
  /** the view follows the panel's size until the user zooms or pans */
  autoFit: boolean;
  /** the result (or the partial picture of a run) shown */
  cur: Current | null;
  /** the last translation-consistency measurement, and which of its flip maps is drawn */
  flips: ConsistencyView | null;
  flipVariant: FlipVariant;
  /** natural size of the image layer once it has loaded */
  imageSize: { w: number; h: number } | null;
}

/** The state of a fresh panel, or of one revived from its setState (view only: the host resends the arrays). */
export function initialState(saved: WebviewState | undefined): PreviewState {
  return {
    imagePath: saved?.imagePath ?? '',
    resultDir: saved?.resultDir ?? null,
    zoom: saved?.view?.zoom ?? 0,
    panX: saved?.view?.panX ?? 0,
    panY: saved?.view?.panY ?? 0,
    opacity: saved?.view?.opacity ?? 0.6,
    layers: {
      prediction: false,
      certified: true,
      radius: false,
      groundTruth: false,
      errors: false,
      flips: false,
      ...(saved?.view?.layers ?? {}),
    } as Record<LayerId, boolean>,
    showImage: true,
    running: false,
    canRun: true,
    firstPartialMs: null,
    runEnd: null,
    autoFit: !(saved?.view?.zoom && saved.view.zoom > 0),
    cur: null,
    flips: null,
    flipVariant: 'plain',
    imageSize: null,
  };
}

/** What the panel keeps with setState. */
export function savedState(s: PreviewState): WebviewState {
  return {
    imagePath: s.imagePath,
    resultDir: s.resultDir,
    view: { zoom: s.autoFit ? 0 : s.zoom, panX: s.panX, panY: s.panY, layers: { ...s.layers }, opacity: s.opacity },
  };
}

export function provisionalOf(m: Msg<'partial'>): Provisional {
  const t = m.phase === 'estimation' ? m.thresholds : null;
  const states = t ? new Uint8Array(m.selected.length) : null;
  let will = 0,
    cannot = 0,
    undecided = 0;
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

// ---------------------------------------------------------------------------------------------------
// Transitions for the host's messages
// ---------------------------------------------------------------------------------------------------

export function applyInit(s: PreviewState, m: Msg<'init'>): void {
  s.imagePath = m.imagePath;
  s.canRun = m.canRun;
  if (m.running) {
    s.firstPartialMs = null;
    s.runEnd = null;
  }
  s.running = m.running;
}

/** A partial result of the run in flight: the provisional picture replaces what was shown. */
export function applyPartial(s: PreviewState, m: Msg<'partial'>): void {
  if (s.firstPartialMs === null) s.firstPartialMs = m.elapsedMs;
  s.cur = {
    width: m.width,
    height: m.height,
    clean: null,
    selected: m.selected,
    counts: m.counts,
    certified: m.certifiedSoFar ?? m.selected.map(() => ABSTAIN),
    radiusMap: null,
    mask: null,
    report: null,
    classes: s.cur?.classes ?? [],
    partial: provisionalOf(m),
  };
  // the provisional picture is drawn on the Certified layer: make sure something shows
  if (!s.layers.prediction && !s.layers.certified) s.layers.certified = true;
}

export function applyResult(s: PreviewState, m: Msg<'result'>): void {
  s.cur = {
    width: m.width,
    height: m.height,
    clean: m.clean,
    selected: m.selected,
    counts: m.counts,
    certified: m.certified,
    radiusMap: m.radiusMap,
    mask: m.mask,
    report: m.report,
    classes: m.classes,
    partial: null,
  };
  s.resultDir = m.resultDir;
  // a fresh result; a stored one after a cancelled or failed run keeps saying so (and the failure's message)
  if (!m.fromCache) s.runEnd = null;
  s.running = false;
}

/** @returns false when there is no result to re-certify (nothing changed) */
export function applyRecertified(s: PreviewState, m: Msg<'recertified'>): boolean {
  if (!s.cur) return false;
  s.cur.certified = m.certified;
  s.cur.report = m.report;
  return true;
}

export function applyConsistency(s: PreviewState, m: Msg<'consistency'>): void {
  s.flips = { width: m.width, height: m.height, plain: m.plain, cropSelection: m.cropSelection, segmenter: m.segmenter };
  if (s.flipVariant === 'cropSelection' && !m.cropSelection) s.flipVariant = 'plain';
  s.layers.flips = true;
}

/**
 * A run of this panel ended without a result: its partial picture must not stay as if it were one.
 * @returns false when no run was in flight (nothing changed)
 */
export function endRun(s: PreviewState, how: RunEnd): boolean {
  if (!s.running && !s.cur?.partial) return false;
  if (s.cur?.partial) s.cur = null;
  s.runEnd = how;
  s.running = false;
  return true;
}

// ---------------------------------------------------------------------------------------------------
// View: what is available, zoom, pan
// ---------------------------------------------------------------------------------------------------

export function contentSize(s: PreviewState): { w: number; h: number } | null {
  if (s.cur) return { w: s.cur.width, h: s.cur.height };
  if (s.flips) return { w: s.flips.width, h: s.flips.height };
  return s.imageSize;
}

/** Whether a layer has something to draw (its toggle is disabled otherwise). */
export function layerAvailable(s: PreviewState, id: LayerId): boolean {
  if (id === 'flips') return !!s.flips;
  const cur = s.cur;
  return !!cur && (id !== 'radius' || !!cur.radiusMap) && ((id !== 'groundTruth' && id !== 'errors') || !!cur.mask);
}

/** The flip map the Shift flips layer shows. */
export function shownFlips(s: PreviewState): ConsistencyView['plain'] | null {
  if (!s.flips) return null;
  return s.flipVariant === 'cropSelection' && s.flips.cropSelection ? s.flips.cropSelection : s.flips.plain;
}

/** Which flip map the Shift flips layer shows (the crop-selection one only when it was measured). */
export function selectFlipVariant(s: PreviewState, v: FlipVariant): void {
  s.flipVariant = v === 'cropSelection' && !s.flips?.cropSelection ? 'plain' : v;
}

/** Fits the content into a stage of the given size, centred. */
export function fit(s: PreviewState, stage: { width: number; height: number }): void {
  const size = contentSize(s);
  if (!size) return;
  const z = Math.max(0.05, Math.min((stage.width - 16) / size.w, (stage.height - 16) / size.h));
  s.zoom = z >= 2 ? Math.floor(z) : z; // integer zoom when enlarging 2x or more: every pixel the same size
  s.panX = Math.round((stage.width - size.w * s.zoom) / 2);
  s.panY = Math.round((stage.height - size.h * s.zoom) / 2);
}

/** Zooms by a factor about the stage point (cx, cy); the view stops following the panel's size. */
export function zoomAt(s: PreviewState, factor: number, cx: number, cy: number): void {
  s.autoFit = false;
  const z = Math.max(0.05, Math.min(64, s.zoom * factor));
  s.panX = cx - ((cx - s.panX) * z) / s.zoom;
  s.panY = cy - ((cy - s.panY) * z) / s.zoom;
  s.zoom = z;
}

export function panTo(s: PreviewState, panX: number, panY: number): void {
  s.autoFit = false;
  s.panX = panX;
  s.panY = panY;
}

/** "Fit": follow the panel's size again. */
export function resetFit(s: PreviewState): void {
  s.zoom = 0;
  s.autoFit = true;
}

/** The image pixel under a stage point. */
export function pixelAt(s: PreviewState, sx: number, sy: number): { x: number; y: number } {
  return { x: Math.floor((sx - s.panX) / s.zoom), y: Math.floor((sy - s.panY) / s.zoom) };
}
