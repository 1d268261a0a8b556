/**
 * The canvas layers: prediction, certified map (abstentions hatched; a run in progress as its provisional
 * picture), radius heatmap, ground-truth outline, errors and shift flips, drawn from the state.
 */
import { CANNOT_CERTIFY, UNDECIDED, WILL_CERTIFY } from '../../../common/provisional';
import { viridis } from '../../../common/colormap';
import type { Ui } from './dom';
import { ABSTAIN, NOT_COVERED, isBackground, shownFlips, type LayerId, type PreviewState, type Provisional } from './state';

type Rgb = [number, number, number];

const FALLBACK_COLORS = ['#000000', '#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#46f0f0', '#f032e6', '#bcf60c', '#fabebe'];

function hexToRgb(hex: string): Rgb {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(hex.trim());
  return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : [255, 0, 255];
}
function classColor(s: PreviewState, k: number): Rgb {
  const c = s.cur?.classes[k]?.color ?? FALLBACK_COLORS[k % FALLBACK_COLORS.length];
  return hexToRgb(c);
}

function paint(
  ui: Ui,
  id: LayerId,
  w: number,
  hgt: number,
  fill: (i: number, x: number, y: number, px: Uint8ClampedArray, o: number) => void,
) {
  const c = ui.canvases.get(id)!;
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
function put(px: Uint8ClampedArray, o: number, rgb: Rgb, a = 255) {
  px[o] = rgb[0];
  px[o + 1] = rgb[1];
  px[o + 2] = rgb[2];
  px[o + 3] = a;
}
const HATCH: Rgb = [40, 40, 40];
const HATCH_LIGHT: Rgb = [200, 200, 200];
function hatch(px: Uint8ClampedArray, o: number, x: number, y: number) {
  // diagonal stripes, 2 px dark / 2 px light: reads as "abstain" at any zoom
  put(px, o, (x + y) % 4 < 2 ? HATCH : HATCH_LIGHT, 255);
}

/** undecided background pixels: a light dot, so they differ from background that will be certified (transparent) */
const UNDECIDED_BACKGROUND: Rgb = [235, 235, 235];
const GROUND_TRUTH: Rgb = [0, 229, 255]; // cyan: apart from every error colour
const CERTIFIED_WRONG: Rgb = [255, 0, 255]; // magenta: apart from class reds (polyp #ff3030)
const PREDICTION_WRONG: Rgb = [255, 210, 0];

/**
 * A run in progress, on the Certified layer. Exact states only (core/provisional.ts): "will be certified"
 * is drawn like a certified pixel, "can no longer be certified" hatched like an abstention, and an
 * undecided pixel as a dotted pattern (every other pixel) of its running mode, its opacity the vote
 * fraction so far: the dots mark everything that is still provisional.
 */
function drawProvisional(ui: Ui, s: PreviewState, p: Provisional, w: number, hgt: number) {
  const { selected, counts } = s.cur!;
  const estimating = p.phase === 'estimation' && p.samplesDone > 0;
  paint(ui, 'certified', w, hgt, (i, x, y, px, o) => {
    const k = selected[i];
    if (k === NOT_COVERED) return;
    const st = p.states ? p.states[i] : UNDECIDED;
    if (st === WILL_CERTIFY) {
      if (!isBackground(k)) put(px, o, classColor(s, k));
    } else if (st === CANNOT_CERTIFY) hatch(px, o, x, y);
    else if ((x + y) % 2 === 0) {
      const fraction = estimating ? counts[i] / p.samplesDone : 0.75;
      put(px, o, isBackground(k) ? UNDECIDED_BACKGROUND : classColor(s, k), Math.round(70 + 185 * fraction));
    }
  });
}

/**
 * Draws the result layers of the current result (or partial picture).
 * @returns the largest finite pixel radius (the radius colour bar's top), or null when nothing is shown
 */
export function drawLayers(ui: Ui, s: PreviewState): number | null {
  const cur = s.cur;
  if (!cur) return null;
  const { width: w, height: hgt } = cur;
  const pred = cur.partial ? cur.selected : (cur.clean ?? cur.selected);
  paint(ui, 'prediction', w, hgt, (i, _x, _y, px, o) => {
    const k = pred[i];
    if (!isBackground(k) && k !== ABSTAIN && k !== NOT_COVERED) put(px, o, classColor(s, k));
  });
  const certified = cur.certified;
  if (cur.partial) drawProvisional(ui, s, cur.partial, w, hgt);
  else {
    paint(ui, 'certified', w, hgt, (i, x, y, px, o) => {
      const k = certified[i];
      if (k === ABSTAIN) hatch(px, o, x, y);
      else if (!isBackground(k) && k !== NOT_COVERED) put(px, o, classColor(s, k));
    });
  }
  const rm = cur.radiusMap;
  let rmax = 0;
  if (rm) for (let i = 0; i < rm.length; i++) if (Number.isFinite(rm[i]) && rm[i] > rmax) rmax = rm[i];
  paint(ui, 'radius', w, hgt, (i, _x, _y, px, o) => {
    if (rm && rm[i] > 0) put(px, o, viridis(rmax > 0 ? rm[i] / rmax : 0));
  });
  const mask = cur.mask;
  // the mask as an outline (a foreground pixel with a 4-neighbour of another label), so it never hides the
  // prediction below it, in a colour no class or error uses
  const fgLabel = (i: number) => (mask![i] === ABSTAIN || isBackground(mask![i]) ? -1 : mask![i]);
  paint(ui, 'groundTruth', w, hgt, (i, x, y, px, o) => {
    if (!mask) return;
    const k = fgLabel(i);
    if (k < 0) return;
    const edge =
      x === 0 ||
      y === 0 ||
      x === w - 1 ||
      y === hgt - 1 ||
      fgLabel(i - 1) !== k ||
      fgLabel(i + 1) !== k ||
      fgLabel(i - w) !== k ||
      fgLabel(i + w) !== k;
    if (edge) put(px, o, GROUND_TRUTH);
  });
  paint(ui, 'errors', w, hgt, (i, _x, _y, px, o) => {
    if (!mask || mask[i] === ABSTAIN || cur.partial) return;
    if (certified[i] !== ABSTAIN && certified[i] !== mask[i]) put(px, o, CERTIFIED_WRONG);
    else if (pred[i] !== mask[i]) put(px, o, PREDICTION_WRONG);
  });
  return rmax;
}

/** Flip counts 1..8: yellow → red; 0 transparent. */
export function drawFlips(ui: Ui, s: PreviewState) {
  const flips = s.flips;
  const m = shownFlips(s);
  if (!flips || !m) return;
  paint(ui, 'flips', flips.width, flips.height, (i, _x, _y, px, o) => {
    const v = m.flipMap[i];
    if (v > 0) put(px, o, [255, Math.round(230 * (1 - Math.min(1, (v - 1) / 7))), 0]);
  });
}
