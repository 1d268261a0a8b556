/**
 * Generates docs/consistency-results.md (never edit that file by hand):
 *   1. generated smooth images: crop-selection selection-change rate per score kind and M, beside the bound;
 *   2. Kvasir-SEG test split and CVC-ClinicDB (../shared/datasets) with models/polyp/segmenter.card.json
 *      (falls back to models/default with a note): one-pixel shift consistency without and with crop
 *      selection, Dice cost, circular-shift exactness.
 * Usage: node --import tsx scripts/consistency-results.ts [--limit N] [--rics 8,16,32] [--engine auto|onnx|tfjs]
 *          [--segmenter CARD] [--out FILE]   (another segmenter, e.g. one trained with --crop-aug; another output file)
 */
import { promises as fs, existsSync } from 'node:fs';
import * as path from 'node:path';
import { crop, cropInto } from '../server/src/consistency/common';
import { evaluateConsistency, type ConsistencyEvaluation, type EvalItem } from '../server/src/consistency/evaluate';
import { ricsAnyShiftRate, ricsOnePixelBound, ricsWindowFor, selectCrop, SCORE_KINDS } from '../server/src/consistency/rics';
import { DIRECTIONS, measureShiftConsistency, summarizeShift, type ShiftReport, type ViewPredictor } from '../server/src/consistency/shift';
import { smoothRandomImage } from '../server/src/consistency/synthetic';
import type { Segmenter } from '../server/src/engines/engine';
import type { EnginePreference } from '../protocol/results';
import { loadSegmenter } from '../server/src/engines/load';
import { readImage, readMask } from '../server/src/image/read';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const LIMIT = Number(opt('limit', '40'));
const RICS = opt('rics', '8,16,32,64').split(',').map(Number);
const ENGINE = opt('engine', 'auto') as EnginePreference;
const root = path.resolve(__dirname, '..');
const SEGMENTER = opt('segmenter', '');
const OUT = path.resolve(opt('out', path.join(root, 'docs', 'consistency-results.md')));
if (SEGMENTER && !existsSync(SEGMENTER)) {
  console.error(`consistency-results: --segmenter ${SEGMENTER}: no such model card`);
  process.exit(2);
}
const shared = path.resolve(root, '..', 'shared', 'datasets');
const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(1)}%`);
const f4 = (x: number | null | undefined) => (x === null || x === undefined ? '–' : x.toFixed(4));

function synthetic(): string[] {
  const H = 72,
    W = 72,
    vh = H - 2,
    vw = W - 2,
    N = 150;
  const out = [
    `### Generated smooth images (${N} images ${H}×${W}, 8 one-pixel shifts each, ${N * 8} pairs)`,
    '',
    'Selection-change rate of crop selection (selected content differs between the reference view and the shifted view). ' +
      'Bound: 2·(1 − |I|/M²) averaged over the 8 directions (assumes a uniformly distributed argmax); exchangeable: the exact rate for i.i.d. scores.',
    '',
    `| M | bound | exchangeable | ${SCORE_KINDS.join(' | ')} |`,
    `|---|---|---|${SCORE_KINDS.map(() => '---').join('|')}|`,
  ];
  for (const M of [4, 8, 16, 32]) {
    const rates = SCORE_KINDS.map((score) => {
      let ch = 0,
        tot = 0;
      for (let s = 0; s < N; s++) {
        const img = smoothRandomImage(H, W, 5000 + s);
        const ref = selectCrop(crop(img, 3, H, W, 1, 1, vh, vw), vh, vw, M, { score });
        for (const [dy, dx] of DIRECTIONS) {
          const sel = selectCrop(crop(img, 3, H, W, 1 + dy, 1 + dx, vh, vw), vh, vw, M, { score });
          if (ref.y !== dy + sel.y || ref.x !== dx + sel.x) ch++;
          tot++;
        }
      }
      return ch / tot;
    });
    const b = ricsOnePixelBound(M);
    out.push(`| ${M} | ${pct(b.bound)} | ${pct(b.exchangeable)} | ${rates.map(pct).join(' | ')} |`);
  }
  return out;
}

/** Crop selection on real frames (no segmenter needed): share of images whose selection moves under some shift, per score kind. */
async function scoreKindsOnFrames(name: string, items: EvalItem[], Ms: number[]): Promise<string[]> {
  const out = [
    `### Score kinds on real frames: ${name}`,
    '',
    'Share of images whose selected crop moves under some of the 8 one-pixel shifts (when it does not move, the prediction cannot change). ' +
      'Chosen on the validation split, so that the test numbers above are not tuned on the test images. Exchangeable: 1 − ((M−2)/(M+2))², exact for i.i.d. scores.',
    '',
    `| M | exchangeable | ${SCORE_KINDS.join(' | ')} |`,
    `|---|---|${SCORE_KINDS.map(() => '---').join('|')}|`,
  ];
  const frames = await Promise.all(items.map((it) => it.load()));
  for (const M of Ms) {
    const rates = SCORE_KINDS.map((score) => {
      let moved = 0;
      for (const { image, height: H, width: W } of frames) {
        const vh = H - 2,
          vw = W - 2;
        const ref = selectCrop(crop(image, 3, H, W, 1, 1, vh, vw), vh, vw, M, { score });
        if (
          DIRECTIONS.some(([dy, dx]) => {
            const s = selectCrop(crop(image, 3, H, W, 1 + dy, 1 + dx, vh, vw), vh, vw, M, { score });
            return ref.y !== dy + s.y || ref.x !== dx + s.x;
          })
        )
          moved++;
      }
      return moved / frames.length;
    });
    out.push(`| ${M} | ${pct(ricsAnyShiftRate(M))} | ${rates.map(pct).join(' | ')} |`);
  }
  return out;
}

/**
 * Why crop selection crops instead of padding: (1) shift the view by the network's total stride (32 px:
 * no aliasing at all) and count changed pixels far from the border; (2) keep the whole view, pad it to a
 * multiple of the stride and place it so that a content anchor (hash argmax over the whole view) sits at
 * a fixed phase: full coverage, no aliasing, but the border rows still differ between the views.
 */
async function paddingExperiment(seg: Segmenter, fill: number[], items: EvalItem[]): Promise<string[]> {
  const P = 32;
  const up = (n: number) => Math.ceil(n / P) * P;
  const phasePredictor: ViewPredictor = async (views, b, h, w) => {
    const Hc = up(h + P - 1),
      Wc = up(w + P - 1),
      per = 3 * h * w;
    const canvas = new Float32Array(b * 3 * Hc * Wc);
    const at: [number, number][] = [];
    for (let i = 0; i < b; i++) {
      const v = views.subarray(i * per, (i + 1) * per);
      // anchor: the hash-score argmax over every 9×9 patch of the view (a crop selection with a 9×9 crop)
      const a = selectCrop(v, h, w, h - 8, { cropH: 9, cropW: 9 });
      const ty = ((-a.y % P) + P) % P,
        tx = ((-a.x % P) + P) % P;
      at.push([ty, tx]);
      for (let c = 0; c < 3; c++) {
        const base = (i * 3 + c) * Hc * Wc;
        canvas.fill(fill[c], base, base + Hc * Wc);
        for (let r = 0; r < h; r++) canvas.set(v.subarray(c * h * w + r * w, c * h * w + (r + 1) * w), base + (ty + r) * Wc + tx);
      }
    }
    const pred = await seg.segment(canvas, b, Hc, Wc);
    const labels = new Uint8Array(b * h * w);
    at.forEach(([ty, tx], i) => {
      for (let r = 0; r < h; r++)
        labels.set(pred.subarray(i * Hc * Wc + (ty + r) * Wc + tx, i * Hc * Wc + (ty + r) * Wc + tx + w), i * h * w + r * w);
    });
    return { labels };
  };
  const phase: ShiftReport[] = [];
  let strideChanged = 0,
    strideTotal = 0,
    deepChanged = 0,
    deepTotal = 0,
    strideImages = 0;
  for (const it of items) {
    const { image, height: H, width: W } = await it.load();
    phase.push(await measureShiftConsistency(seg, image, H, W, { predictor: phasePredictor }));
    // views of (H−P)×W at rows 0 and P: the second is the first moved by exactly one stride
    const vh = H - P,
      views = new Float32Array(2 * 3 * vh * W);
    cropInto(image, 3, H, W, 0, 0, vh, W, views, 0);
    cropInto(image, 3, H, W, P, 0, vh, W, views, 3 * vh * W);
    const pr = await seg.segment(views, 2, vh, W);
    let changedHere = 0;
    for (let Y = P; Y < vh; Y++) {
      for (let X = 0; X < W; X++) {
        const d = pr[Y * W + X] !== pr[vh * W + (Y - P) * W + X];
        strideTotal++;
        if (d) {
          strideChanged++;
          changedHere++;
        }
        if (Math.min(Y - P, vh - 1 - Y, X, W - 1 - X) >= 64) {
          deepTotal++;
          if (d) deepChanged++;
        }
      }
    }
    if (changedHere) strideImages++;
  }
  const s = summarizeShift(phase);
  const pairs = s.perDirectionShareChanged.reduce((a, x) => a + x, 0) / s.perDirectionShareChanged.length;
  return [
    `### Why crop and not pad (${items.length} Kvasir-SEG test images)`,
    '',
    `* A shift by exactly the segmenter's total stride (${P} px; no aliasing possible) changes ${pct(strideChanged / strideTotal)} of the common pixels ` +
      `(${pct(strideImages / items.length)} of images), and ${pct(deepChanged / Math.max(1, deepTotal))} of the pixels more than 64 px from every border: ` +
      'new content at the border changes the prediction far inside (the U-Net sees the whole frame).',
    `* Phase-aligned padding (whole view kept, padded to a multiple of ${P} with the card's mean colour, placed so that a content anchor sits at a fixed phase; ` +
      `100% coverage): images changed by some shift ${pct(s.shareChangedAny)} (> 0.1%: ${pct(s.shareChangedAboveThreshold)}), (image, shift) pairs ${pct(pairs)}, ` +
      `mean changed pixels ${pct(s.meanChangedFraction)}.`,
    '',
    'So only identical input pixels give an identical prediction with this segmenter: the crop has to lie inside the content both views share, which is what crop selection does.',
  ];
}

/** What the paper's target (under 5% of images changed) costs with crop selection on v×v views. */
function targetSection(v: number): string[] {
  const M = ricsWindowFor(0.05),
    cropSide = v - M + 1;
  const rows = [8, 16, 32, 64, 128, M].map(
    (m) => `| ${m} | ${pct(ricsAnyShiftRate(m))} | ${v - m + 1}×${v - m + 1} | ${pct(((v - m + 1) / v) ** 2)} |`,
  );
  return [
    '### The target: under 5% of images changed at ≤ 1 point of Dice',
    '',
    `Not reachable with crop selection on these ${v}×${v} views. A moved crop changes pixels (every selection change above changed pixels), so the share of images ` +
      'changed by some one-pixel shift is the share whose selection moves: 1 − ((M−2)/(M+2))² for exchangeable scores (hash measured close to it; the smooth scores are worse on real frames). ' +
      `Under 5% needs M ≥ ${M}, which leaves a ${cropSide}×${cropSide} crop: ${pct((cropSide / v) ** 2)} of the view.`,
    '',
    '| M | images whose crop moves (exchangeable) | crop | coverage |',
    '|---|---|---|---|',
    ...rows,
  ];
}

async function datasetItems(dir: string, ids: string[]): Promise<EvalItem[]> {
  const imgs = await fs.readdir(path.join(dir, 'images'));
  const byId = new Map(imgs.map((f) => [path.basename(f, path.extname(f)), f]));
  return ids
    .filter((id) => byId.has(id))
    .map((id) => ({
      id,
      async load() {
        const im = await readImage(path.join(dir, 'images', byId.get(id)!));
        const mask = await readMask(path.join(dir, 'masks', `${id}.png`), {
          numClasses: 2,
          expectWidth: im.width,
          expectHeight: im.height,
        });
        return { image: im.data, height: im.height, width: im.width, mask };
      },
    }));
}

function table(name: string, ev: ConsistencyEvaluation, seconds: number): string[] {
  const out = [
    `### ${name} (${ev.images} images, ${seconds.toFixed(0)} s)`,
    '',
    '| variant | images changed (any pixel, some of the 8 shifts) | same, exchangeable scores (exact) | images changed > 0.1% | (image, shift) pairs changed | mean changed pixels | pairs: selection changed | pairs: bound | pairs: exchangeable | coverage | Dice (uncovered = bg) | Dice (covered) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const v of ev.variants) {
    const pairs = v.shift.perDirectionShareChanged.reduce((a, x) => a + x, 0) / v.shift.perDirectionShareChanged.length;
    out.push(
      `| ${v.name} | ${pct(v.shift.shareChangedAny)} | ${pct(v.anyShiftRate)} | ${pct(v.shift.shareChangedAboveThreshold)} | ${pct(pairs)} | ${pct(v.shift.meanChangedFraction)} | ${pct(v.shift.selectionChangeRate)} | ${pct(v.bound)} | ${pct(v.exchangeableRate)} | ${pct(v.coverage)} | ${f4(v.diceStrict)} | ${f4(v.diceCovered)} |`,
    );
  }
  if (ev.circular) {
    out.push(
      '',
      `Circular shifts (${ev.circular.shiftsPerImage} random integer shifts per image): exact ${pct(ev.circular.plainExactShare)} plain, ` +
        `**${pct(ev.circular.canonicalExactShare)} canonicalised**; changed pixels ${pct(ev.circular.plainChangedFraction)} plain, ${pct(ev.circular.canonicalChangedFraction)} canonicalised.`,
    );
  }
  return out;
}

async function main() {
  const lines = [
    '# Translation consistency: results',
    '',
    `_Generated by \`node --import tsx scripts/consistency-results.ts --limit ${LIMIT} --rics ${RICS.join(',')}${SEGMENTER ? ` --segmenter ${path.relative(root, path.resolve(SEGMENTER))}` : ''}\` on ${new Date().toISOString().slice(0, 10)}; do not edit by hand. Method and bound: [consistency.md](consistency.md)._`,
    '',
    ...synthetic(),
    '',
  ];
  let card = SEGMENTER ? path.resolve(SEGMENTER) : path.join(root, 'models/polyp/segmenter.card.json');
  let note = '';
  if (!existsSync(card)) {
    card = path.join(root, 'models/default/segmenter.card.json');
    note =
      'models/polyp/segmenter.card.json is missing: the shapes-domain default segmenter is used instead, so the Dice values are meaningless for polyps (only the consistency numbers are informative).';
  }
  if (!existsSync(card) || !existsSync(shared)) {
    lines.push('### Datasets', '', `Not run: ${!existsSync(card) ? 'no segmenter card' : `${shared} is absent`}.`);
  } else {
    const seg = await loadSegmenter(card, { engine: ENGINE });
    lines.push(
      `### Datasets`,
      '',
      `Segmenter: \`${path.relative(root, card)}\` (${seg.info.engine}/${seg.info.backend}/${seg.info.device}). Crop-selection score: hash. ${note}`,
      '',
      `One-pixel shifts: reference = the (h−2)×(w−2) view at (1,1), 8 views at (1±1, 1±1); predictions compared on the common content. Dice: reference view vs ground truth.`,
      '',
    );
    try {
      const kv = path.join(shared, 'kvasir-seg-256');
      const kvIds = (await fs.readFile(path.join(kv, 'splits', 'test.txt'), 'utf8'))
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean)
        .slice(0, LIMIT);
      const cvc = path.join(shared, 'cvc-clinicdb-256');
      const cvcIds = (await fs.readdir(path.join(cvc, 'images')))
        .map((f) => path.basename(f, path.extname(f)))
        .sort((a, b) => Number(a) - Number(b))
        .slice(0, LIMIT);
      for (const [name, dir, ids] of [
        [`Kvasir-SEG test split (first ${kvIds.length} ids of splits/test.txt)`, kv, kvIds],
        [`CVC-ClinicDB (ids ${cvcIds[0]}..${cvcIds[cvcIds.length - 1]})`, cvc, cvcIds],
      ] as const) {
        const t0 = Date.now();
        const ev = await evaluateConsistency(seg, await datasetItems(dir, [...ids]), {
          rics: RICS,
          circular: true,
          circularShifts: 2,
          onImage: (i, n, id) => {
            if (i % 10 === 0) console.error(`${name}: ${i + 1}/${n} ${id}`);
          },
        });
        lines.push(...table(name, ev, (Date.now() - t0) / 1000), '');
      }
      const valIds = (await fs.readFile(path.join(kv, 'splits', 'val.txt'), 'utf8'))
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean)
        .slice(0, 2 * LIMIT);
      lines.push(
        ...(await scoreKindsOnFrames(
          `Kvasir-SEG validation split (first ${valIds.length} ids of splits/val.txt)`,
          await datasetItems(kv, valIds),
          [16, 32, 64],
        )),
        '',
      );
      const fill = (JSON.parse(await fs.readFile(card, 'utf8')) as { input: { mean?: number[] } }).input.mean ?? [0.5, 0.5, 0.5];
      lines.push(...(await paddingExperiment(seg, fill, await datasetItems(kv, kvIds.slice(0, 20)))), '');
      lines.push(...targetSection(254), '');
    } finally {
      await seg.dispose();
    }
  }
  await fs.writeFile(OUT, lines.join('\n') + '\n');
  console.log(lines.join('\n'));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
