import { mulberry32 } from '../../server/src/core/rng';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CertsegError } from '../../server/src/core/errors';
import { ABSTAIN } from '../../server/src/core/labels';
import { addConfusion, aggregate, confusionMatrix, segMetrics, type SegMetrics } from '../../server/src/core/metrics';

const A = ABSTAIN;

/** Deterministic PRNG so failures reproduce. */
const rng = mulberry32;

test('hand-computed example with abstain, ignore label and an absent class', () => {
  const pred = Uint8Array.of(0, 0, 1, A, 1, A, 0);
  const gt = Uint8Array.of(0, 1, 1, 0, 1, 9, 9);
  const cm = confusionMatrix(pred, gt, 3, 9);
  assert.equal(cm.total, 7);
  assert.equal(cm.ignored, 2);
  assert.equal(cm.ignoredAbstained, 1);
  // rows: pred 0,1,2,abstain; cols: gt 0,1,2
  assert.deepEqual([...cm.counts], [1, 1, 0, 0, 2, 0, 0, 0, 0, 1, 0, 0]);
  const m = segMetrics(cm);
  assert.equal(m.pixelAccuracy, 3 / 5); // abstained gt-0 pixel counts as wrong
  assert.equal(m.abstainRate, 2 / 7); // over all 7 pixels, the ignored abstention included
  // class 0: TP 1, GT 2 (one abstained), Pred 2; class 1: TP 2, GT 3, Pred 2; class 2 absent.
  assert.deepEqual(m.iou, [1 / 3, 2 / 3, null]);
  assert.deepEqual(m.dice, [2 / 4, 4 / 5, null]);
  // foreground: classes 1 and 2; class 2 is absent from the ground truth, so undefined and left out
  assert.equal(m.meanIoU, 2 / 3);
  assert.equal(m.meanDice, 0.8);
});

test('zero denominators: all ignored, empty image', () => {
  const m = segMetrics(confusionMatrix(Uint8Array.of(A, 0), Uint8Array.of(7, 7), 2, 7));
  assert.ok(Number.isNaN(m.pixelAccuracy));
  assert.equal(m.abstainRate, 1 / 2);
  assert.deepEqual(m.iou, [null, null]);
  assert.equal(m.meanIoU, null);
  assert.equal(m.meanDice, null);
  const e = segMetrics(confusionMatrix(new Uint8Array(0), new Uint8Array(0), 2));
  assert.ok(Number.isNaN(e.abstainRate));
  // A class absent from the ground truth is undefined whatever the prediction says (the rule depends on the
  // ground truth only, so clean and certified maps are averaged over the same classes).
  const fp = segMetrics(confusionMatrix(Uint8Array.of(1, 0), Uint8Array.of(0, 0), 2));
  assert.deepEqual(fp.iou, [1 / 2, null]);
  assert.deepEqual(fp.dice, [2 / 3, null]);
  assert.equal(fp.meanDice, null, 'no foreground class in the ground truth: no foreground Dice');
});

test('invalid labels are reported', () => {
  assert.throws(
    () => confusionMatrix(Uint8Array.of(0), Uint8Array.of(5), 2),
    (e: unknown) => e instanceof CertsegError && e.code === 'input',
  );
  assert.throws(
    () => confusionMatrix(Uint8Array.of(3), Uint8Array.of(0), 2),
    (e: unknown) => e instanceof CertsegError && e.code === 'model',
  );
  assert.throws(() => confusionMatrix(Uint8Array.of(0), Uint8Array.of(0, 1), 2), CertsegError);
  assert.throws(
    () => addConfusion(confusionMatrix(Uint8Array.of(0), Uint8Array.of(0), 2), confusionMatrix(Uint8Array.of(0), Uint8Array.of(0), 3)),
    RangeError,
  );
});

/** Metrics straight from the definitions, one pixel at a time. */
function bruteMetrics(pred: Uint8Array, gt: Uint8Array, C: number, ignore: number): SegMetrics {
  let nonIgnored = 0;
  let correct = 0;
  let abstained = 0;
  const tp = new Array<number>(C).fill(0);
  const gtC = new Array<number>(C).fill(0);
  const prC = new Array<number>(C).fill(0);
  for (let i = 0; i < pred.length; i++) {
    if (pred[i] === ABSTAIN) abstained++;
    if (gt[i] === ignore) continue;
    nonIgnored++;
    gtC[gt[i]]++;
    if (pred[i] !== ABSTAIN) prC[pred[i]]++;
    if (pred[i] === gt[i]) {
      correct++;
      tp[gt[i]]++;
    }
  }
  const iou = tp.map((t, c) => (gtC[c] > 0 ? t / (gtC[c] + prC[c] - t) : null));
  const dice = tp.map((t, c) => (gtC[c] > 0 ? (2 * t) / (gtC[c] + prC[c]) : null));
  const mean = (v: (number | null)[]) => {
    const d = v.filter((x): x is number => x !== null);
    return d.length ? d.reduce((s, x) => s + x, 0) / d.length : null;
  };
  const fg = (v: (number | null)[]) => mean(C > 1 ? v.slice(1) : v);
  return { pixelAccuracy: correct / nonIgnored, abstainRate: abstained / pred.length, iou, dice, meanIoU: fg(iou), meanDice: fg(dice) };
}

function randomImage(r: () => number, C: number, ignore: number): { pred: Uint8Array; gt: Uint8Array } {
  const K = 50 + Math.floor(r() * 400);
  const pred = new Uint8Array(K);
  const gt = new Uint8Array(K);
  for (let i = 0; i < K; i++) {
    gt[i] = r() < 0.1 ? ignore : Math.floor(r() * C);
    // Mostly right, sometimes wrong, sometimes abstained.
    const u = r();
    pred[i] = u < 0.2 ? ABSTAIN : u < 0.4 ? Math.floor(r() * C) : gt[i] === ignore ? 0 : gt[i];
  }
  return { pred, gt };
}

function assertMetricsClose(a: SegMetrics, b: SegMetrics): void {
  const close = (x: number | null, y: number | null, what: string) => {
    if (x === null || y === null) return assert.equal(x, y, what);
    assert.ok(Math.abs(x - y) <= 1e-12, `${what}: ${x} vs ${y}`);
  };
  close(a.pixelAccuracy, b.pixelAccuracy, 'pixelAccuracy');
  close(a.abstainRate, b.abstainRate, 'abstainRate');
  a.iou.forEach((v, c) => close(v, b.iou[c], `iou[${c}]`));
  a.dice.forEach((v, c) => close(v, b.dice[c], `dice[${c}]`));
  close(a.meanIoU, b.meanIoU, 'meanIoU');
  close(a.meanDice, b.meanDice, 'meanDice');
}

test('segMetrics equals per-pixel brute force on random data', () => {
  const r = rng(42);
  for (let trial = 0; trial < 200; trial++) {
    const C = 1 + Math.floor(r() * 6);
    const { pred, gt } = randomImage(r, C, 200);
    assertMetricsClose(segMetrics(confusionMatrix(pred, gt, C, 200)), bruteMetrics(pred, gt, C, 200));
  }
});

test('aggregate: pooled = metrics of the concatenation, meanOverImages = mean of per-image metrics', () => {
  const r = rng(7);
  const C = 4;
  const images = Array.from({ length: 5 }, () => randomImage(r, C, 200));
  // Image 0 lacks class 3 entirely: its per-class IoU for 3 must be skipped, not averaged as 0.
  for (let i = 0; i < images[0].gt.length; i++) {
    if (images[0].gt[i] === 3) images[0].gt[i] = 0;
    if (images[0].pred[i] === 3) images[0].pred[i] = 0;
  }
  const cms = images.map(({ pred, gt }) => confusionMatrix(pred, gt, C, 200));
  const agg = aggregate(cms);
  const allPred = Uint8Array.from(images.flatMap(({ pred }) => [...pred]));
  const allGt = Uint8Array.from(images.flatMap(({ gt }) => [...gt]));
  assertMetricsClose(agg.pooled, bruteMetrics(allPred, allGt, C, 200));
  const each = images.map(({ pred, gt }) => bruteMetrics(pred, gt, C, 200));
  const mean = (v: (number | null)[]) => {
    const d = v.filter((x): x is number => x !== null);
    return d.reduce((s, x) => s + x, 0) / d.length;
  };
  assert.equal(each[0].iou[3], null);
  assertMetricsClose(agg.meanOverImages, {
    pixelAccuracy: mean(each.map((m) => m.pixelAccuracy)),
    abstainRate: mean(each.map((m) => m.abstainRate)),
    iou: [0, 1, 2, 3].map((c) => mean(each.map((m) => m.iou[c]))),
    dice: [0, 1, 2, 3].map((c) => mean(each.map((m) => m.dice[c]))),
    meanIoU: mean(each.map((m) => m.meanIoU)),
    meanDice: mean(each.map((m) => m.meanDice)),
  });
  assert.throws(() => aggregate([]), RangeError);
});

test('certified Dice cannot exceed clean Dice through the averaging rule: the same classes are averaged', () => {
  // The PH2 case: the clean map predicts lesion on an image without lesion, the certificate abstains there.
  const gt = Uint8Array.of(0, 0, 0, 0);
  const clean = segMetrics(confusionMatrix(Uint8Array.of(0, 0, 1, 1), gt, 2));
  const cert = segMetrics(confusionMatrix(Uint8Array.of(0, 0, A, A), gt, 2));
  assert.equal(clean.meanDice, null);
  assert.equal(cert.meanDice, null, 'both undefined: the image is left out of both means alike');
  // Random images; the certified map = the clean map with abstentions on correct pixels (so every class's
  // certified Dice is at most its clean Dice): the foreground mean keeps that order, per image and over images.
  const r = rng(11);
  const cleanCms = [];
  const certCms = [];
  for (let trial = 0; trial < 300; trial++) {
    const C = 2 + Math.floor(r() * 4);
    const { pred, gt: g } = randomImage(r, C, 200);
    const cleanPred = pred.map((p, i) => (p === ABSTAIN ? (g[i] === 200 ? 0 : g[i]) : p));
    const certPred = cleanPred.map((p, i) => (p === g[i] && r() < 0.5 ? ABSTAIN : p));
    const a = segMetrics(confusionMatrix(cleanPred, g, C, 200));
    const b = segMetrics(confusionMatrix(certPred, g, C, 200));
    a.dice.forEach((d, c) => assert.equal(d === null, b.dice[c] === null, `class ${c}: defined alike`));
    b.dice.forEach((d, c) => d !== null && assert.ok(d <= a.dice[c]! + 1e-15));
    if (b.meanDice !== null) assert.ok(b.meanDice <= a.meanDice! + 1e-15, `${b.meanDice} > ${a.meanDice}`);
    if (C === 4) {
      cleanCms.push(confusionMatrix(cleanPred, g, C, 200));
      certCms.push(confusionMatrix(certPred, g, C, 200));
    }
  }
  const ca = aggregate(cleanCms);
  const cb = aggregate(certCms);
  assert.ok(cb.meanOverImages.meanDice! <= ca.meanOverImages.meanDice! + 1e-15);
  assert.ok(cb.pooled.meanDice! <= ca.pooled.meanDice! + 1e-15);
});
