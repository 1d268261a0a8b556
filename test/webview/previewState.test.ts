/**
 * The preview's state transitions (media/src/preview/state.ts) and its words (text.ts), in Node without a DOM:
 * what the message handlers of dispatch.ts apply before they draw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ABSTAIN,
  NOT_COVERED,
  applyConsistency,
  applyInit,
  applyPartial,
  applyRecertified,
  applyResult,
  endRun,
  fit,
  initialState,
  layerAvailable,
  pixelAt,
  resetFit,
  savedState,
  selectFlipVariant,
  shownFlips,
  zoomAt,
  type Msg,
} from '../../media/src/preview/state';
import { pixelReadout, statusText } from '../../media/src/preview/text';
import type { ImageReport } from '../../protocol/results';

const W = 4;
const H = 2;

function partial(samplesDone: number): Msg<'partial'> {
  // thresholds for n = 10: 8 votes certain, a final count under 6 never certified
  const counts = Uint16Array.from([samplesDone, 0, 5, 3, 0, 0, 0, 0]);
  const selected = Uint8Array.from([1, 1, 1, 0, NOT_COVERED, 0, 0, 0]);
  return {
    type: 'partial',
    width: W,
    height: H,
    phase: 'estimation',
    samplesDone,
    selected,
    counts,
    certifiedSoFar: null,
    samplesTotal: 10,
    thresholds: { n: 10, certainAt: 8, reachableAt: 6 },
    elapsedMs: 42,
  };
}

function result(fromCache = false): Msg<'result'> {
  const report = { params: { n: 10, tau: 0.75 }, minCertifiedCount: 8, radius: 0.5 } as unknown as ImageReport;
  const z = () => new Uint8Array(W * H);
  return {
    type: 'result',
    report,
    classes: [
      { name: 'bg', color: '#000000' },
      { name: 'polyp', color: '#ff3030' },
    ],
    resultDir: '/r',
    fromCache,
    width: W,
    height: H,
    clean: z(),
    selected: z(),
    counts: new Uint16Array(W * H),
    certified: z().fill(ABSTAIN),
    radiusMap: null,
    mask: null,
  };
}

test('previewState: a fresh panel and one revived from setState', () => {
  const s = initialState(undefined);
  assert.equal(s.autoFit, true);
  assert.deepEqual(s.layers, { prediction: false, certified: true, radius: false, groundTruth: false, errors: false, flips: false });
  assert.equal(statusText(s), 'No result yet. Click Certify to run.');
  const revived = initialState({
    imagePath: '/a.png',
    resultDir: '/r',
    view: { zoom: 2, panX: 3, panY: 4, layers: { radius: true }, opacity: 0.3 },
  });
  assert.equal(revived.autoFit, false);
  assert.equal(revived.layers.radius, true);
  assert.equal(revived.layers.certified, true);
  assert.deepEqual(savedState(revived), {
    imagePath: '/a.png',
    resultDir: '/r',
    view: { zoom: 2, panX: 3, panY: 4, layers: { ...revived.layers }, opacity: 0.3 },
  });
  // while the view follows the panel, the saved zoom is 0 (refit on revival)
  resetFit(revived);
  assert.equal(savedState(revived).view!.zoom, 0);
});

test('previewState: a partial result becomes the provisional picture on the Certified layer; a cancel drops it', () => {
  const s = initialState({
    imagePath: '/a.png',
    resultDir: null,
    view: { zoom: 0, panX: 0, panY: 0, layers: { certified: false, prediction: false }, opacity: 0.6 },
  });
  applyInit(s, { type: 'init', imageUrl: null, imageName: 'a.png', imagePath: '/a.png', running: true, canRun: true });
  assert.equal(s.running, true);
  assert.equal(statusText(s), 'Running: the picture appears with the first samples.');
  applyPartial(s, partial(7));
  assert.equal(s.layers.certified, true, 'something shows');
  assert.equal(s.firstPartialMs, 42);
  const p = s.cur!.partial!;
  // pixel 0: 7 votes, not yet 8; pixels 2, 3: 5 or 3 + 3 left reach 6 (undecided); the zeros cannot; pixel 4 not covered
  assert.deepEqual([p.will, p.cannot, p.undecided], [0, 4, 3]);
  assert.deepEqual(Array.from(s.cur!.certified), new Array(W * H).fill(ABSTAIN));
  assert.equal(layerAvailable(s, 'certified'), true);
  assert.equal(layerAvailable(s, 'groundTruth'), false);
  assert.match(statusText(s), /^Provisional \(estimation 7\/10\): 0 will be certified, 4 can no longer be, 3 undecided/);
  assert.match(
    pixelReadout(s, 0, 0),
    /PROVISIONAL \(estimation 7\/10\)\nmode so far: class 1\nvotes: 7\/7 \(100.0%\)\nundecided \(certain at 8 of 10 votes\)/,
  );
  applyPartial(s, partial(8));
  assert.equal(s.cur!.partial!.will, 1);
  assert.equal(s.firstPartialMs, 42, 'the first partial only');
  assert.equal(endRun(s, 'cancelled'), true);
  assert.equal(s.cur, null);
  assert.equal(s.running, false);
  assert.equal(statusText(s), 'Cancelled — nothing certified.');
  assert.equal(endRun(s, 'failed'), false, 'no run in flight: nothing changes');
  assert.equal(s.runEnd, 'cancelled');
});

test('previewState: a stored result after a cancelled run keeps saying so; a fresh one clears it; re-certify', () => {
  const s = initialState(undefined);
  s.running = true;
  endRun(s, 'cancelled');
  applyResult(s, result(true));
  assert.equal(s.runEnd, 'cancelled');
  assert.equal(statusText(s), 'Cancelled: showing the stored result of an earlier run.');
  applyResult(s, result(false));
  assert.equal(s.runEnd, null);
  assert.equal(s.resultDir, '/r');
  assert.equal(
    pixelReadout(s, 1, 0),
    '(1, 0)\ncertified: abstain (selected bg)\nclean prediction: bg\nvotes: 0/10 (needs ≥ 8)\np-value: 1.0000 (τ = 0.75)\nradius: 0 (abstain)',
  );
  assert.equal(pixelReadout(s, W, 0), 'Hover a pixel');
  const certified = new Uint8Array(W * H).fill(1);
  assert.equal(applyRecertified(s, { type: 'recertified', report: s.cur!.report!, certified }), true);
  assert.equal(s.cur!.certified, certified);
  assert.equal(applyRecertified(initialState(undefined), { type: 'recertified', report: s.cur!.report!, certified }), false);
});

test('previewState: zoom about a point, fit, and the pixel under the pointer', () => {
  const s = initialState(undefined);
  s.imageSize = { w: 100, h: 50 };
  fit(s, { width: 316, height: 216 });
  assert.deepEqual([s.zoom, s.panX, s.panY], [3, 8, 33]);
  zoomAt(s, 2, 8, 33);
  assert.deepEqual([s.zoom, s.panX, s.panY, s.autoFit], [6, 8, 33, false]);
  assert.deepEqual(pixelAt(s, 8 + 6 * 10 + 5, 33 + 6 * 2), { x: 10, y: 2 });
});

test('previewState: a consistency measurement shows the flips layer; the crop-selection map only when measured', () => {
  const s = initialState(undefined);
  const m = {
    flipMap: new Uint8Array(W * H),
    changedAnyFraction: 0,
    meanFraction: 0,
    worst: { dy: 1, dx: 0, fraction: 0 },
    coverage: 1,
    selectionChangeRate: null,
  };
  applyConsistency(s, {
    type: 'consistency',
    width: W,
    height: H,
    plain: m,
    cropSelection: null,
    segmenter: 'x',
  } as unknown as Msg<'consistency'>);
  assert.equal(s.layers.flips, true);
  assert.equal(layerAvailable(s, 'flips'), true);
  selectFlipVariant(s, 'cropSelection');
  assert.equal(s.flipVariant, 'plain');
  assert.equal(shownFlips(s), s.flips!.plain);
});
