/**
 * Segmentation metrics with abstention: the one definition used everywhere (console, preview, report,
 * dataset summary, docs/results.md; docs/metrics.md explains it). Abstain is an extra prediction label: an
 * abstained pixel is a false negative for its true class and a false positive for none, and counts as
 * wrong for pixel accuracy. Ground-truth pixels equal to ignoreLabel are skipped, except that the abstain
 * rate is per image over all pixels, so abstentions on ignored pixels are kept aside for it.
 *
 * Absent classes: a class's IoU/Dice is undefined (null) exactly when the class is absent from the ground
 * truth. The rule depends on the ground truth only, so the clean and the certified maps of an image are
 * averaged over the same classes (before, a class that the certified map abstained on entirely dropped out
 * of its mean while it counted as 0 in the clean one, which let certified Dice exceed clean Dice).
 *
 * Foreground Dice (meanDice) and foreground IoU (meanIoU): the mean over the foreground classes (every
 * class but 0, the background) where defined; for a binary task that is the foreground class's Dice. A mean
 * over no class is null. pixelAccuracy with no non-ignored pixel, and abstainRate with no pixel, are NaN
 * (JSON.stringify writes null).
 */
import { CertsegError } from './errors';
import { ABSTAIN, MAX_CLASSES } from './labels';

export interface ConfusionMatrix {
  numClasses: number;
  /** Row-major (numClasses+1) × numClasses: counts[pred·numClasses + gt]; the last row is ABSTAIN. Non-ignored pixels only. */
  counts: Float64Array;
  /** Pixels whose ground truth is ignoreLabel. */
  ignored: number;
  /** Of the ignored pixels, how many were abstained (for the all-pixel abstain rate). */
  ignoredAbstained: number;
  /** All pixels, ignored included. */
  total: number;
}

import type { SegMetrics } from '../../../protocol/results';

export type { SegMetrics } from '../../../protocol/results';

export interface AggregateMetrics {
  /** One confusion matrix summed over all images. */
  pooled: SegMetrics;
  /** Each metric computed per image, then averaged over the images where it is defined. */
  meanOverImages: SegMetrics;
}

function emptyMatrix(numClasses: number): ConfusionMatrix {
  return { numClasses, counts: new Float64Array((numClasses + 1) * numClasses), ignored: 0, ignoredAbstained: 0, total: 0 };
}

export function confusionMatrix(pred: Uint8Array, gt: Uint8Array, numClasses: number, ignoreLabel?: number): ConfusionMatrix {
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > MAX_CLASSES) {
    throw new RangeError(`numClasses must be an integer in [1, ${MAX_CLASSES}], got ${numClasses}`);
  }
  if (pred.length !== gt.length) {
    throw new CertsegError(`prediction has ${pred.length} pixels but the ground-truth mask ${gt.length}`, 'input');
  }
  const cm = emptyMatrix(numClasses);
  const counts = cm.counts;
  const abstainRow = numClasses * numClasses;
  const ignore = ignoreLabel ?? -1;
  let ignored = 0;
  let ignoredAbstained = 0;
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i];
    const g = gt[i];
    if (p >= numClasses && p !== ABSTAIN) {
      throw new CertsegError(`prediction has label ${p} at pixel ${i}, but the model has ${numClasses} classes`, 'model');
    }
    if (g === ignore) {
      ignored++;
      if (p === ABSTAIN) ignoredAbstained++;
      continue;
    }
    if (g >= numClasses) {
      throw new CertsegError(
        `ground-truth mask has label ${g} at pixel ${i}, but the model has ${numClasses} classes` +
          (ignoreLabel === undefined ? ' (and no ignore label is set)' : ` (ignore label ${ignoreLabel})`),
        'input',
      );
    }
    counts[(p === ABSTAIN ? abstainRow : p * numClasses) + g]++;
  }
  cm.ignored = ignored;
  cm.ignoredAbstained = ignoredAbstained;
  cm.total = pred.length;
  return cm;
}

/** Element-wise sum, for pooling over images. */
export function addConfusion(a: ConfusionMatrix, b: ConfusionMatrix): ConfusionMatrix {
  if (a.numClasses !== b.numClasses) throw new RangeError(`cannot add ${a.numClasses}- and ${b.numClasses}-class matrices`);
  const counts = new Float64Array(a.counts.length);
  for (let i = 0; i < counts.length; i++) counts[i] = a.counts[i] + b.counts[i];
  return {
    numClasses: a.numClasses,
    counts,
    ignored: a.ignored + b.ignored,
    ignoredAbstained: a.ignoredAbstained + b.ignoredAbstained,
    total: a.total + b.total,
  };
}

function meanDefined(values: (number | null)[]): number | null {
  let sum = 0;
  let k = 0;
  for (const v of values) {
    if (v === null || Number.isNaN(v)) continue;
    sum += v;
    k++;
  }
  return k === 0 ? null : sum / k;
}

export function segMetrics(cm: ConfusionMatrix): SegMetrics {
  const C = cm.numClasses;
  const gtCount = new Float64Array(C); // column sums, abstain row included (false negatives)
  const predCount = new Float64Array(C); // row sums over real classes only
  let nonIgnored = 0;
  let abstained = cm.ignoredAbstained;
  for (let p = 0; p <= C; p++) {
    for (let g = 0; g < C; g++) {
      const v = cm.counts[p * C + g];
      gtCount[g] += v;
      nonIgnored += v;
      if (p < C) predCount[p] += v;
      else abstained += v;
    }
  }
  let correct = 0;
  const iou: (number | null)[] = [];
  const dice: (number | null)[] = [];
  for (let c = 0; c < C; c++) {
    const tp = cm.counts[c * C + c];
    correct += tp;
    const present = gtCount[c] > 0; // the absent-class rule: by the ground truth alone
    iou.push(present ? tp / (gtCount[c] + predCount[c] - tp) : null);
    dice.push(present ? (2 * tp) / (gtCount[c] + predCount[c]) : null);
  }
  return {
    pixelAccuracy: nonIgnored > 0 ? correct / nonIgnored : NaN,
    abstainRate: cm.total > 0 ? abstained / cm.total : NaN,
    iou,
    dice,
    meanIoU: foregroundMean(iou),
    meanDice: foregroundMean(dice),
  };
}

/** Mean over the foreground classes (all but class 0) where defined; a one-class model has only class 0. */
export function foregroundMean(perClass: (number | null)[]): number | null {
  return meanDefined(perClass.length > 1 ? perClass.slice(1) : perClass);
}

/** Dataset figures both ways: pooled (one matrix) and mean over images (the MICCAI paper's per-image average). */
export function aggregate(perImage: ConfusionMatrix[]): AggregateMetrics {
  if (perImage.length === 0) throw new RangeError('aggregate needs at least one image');
  const C = perImage[0].numClasses;
  let pooled = emptyMatrix(C);
  for (const cm of perImage) pooled = addConfusion(pooled, cm);
  const each = perImage.map(segMetrics);
  const orNaN = (v: number | null): number => (v === null ? NaN : v);
  const meanOverImages: SegMetrics = {
    pixelAccuracy: orNaN(meanDefined(each.map((m) => m.pixelAccuracy))),
    abstainRate: orNaN(meanDefined(each.map((m) => m.abstainRate))),
    iou: Array.from({ length: C }, (_, c) => meanDefined(each.map((m) => m.iou[c]))),
    dice: Array.from({ length: C }, (_, c) => meanDefined(each.map((m) => m.dice[c]))),
    meanIoU: meanDefined(each.map((m) => m.meanIoU)),
    meanDice: meanDefined(each.map((m) => m.meanDice)),
  };
  return { pooled: segMetrics(pooled), meanOverImages };
}
