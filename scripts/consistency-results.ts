/**
 * Generates docs/consistency-results.md (never edit that file by hand):
 *   1. generated smooth images: crop-selection selection-change rate per score kind and M, beside the bound;
 *   2. Kvasir-SEG test split and CVC-ClinicDB (../shared/datasets) with models/polyp/segmenter.card.json
 *      (falls back to models/default with a note): one-pixel shift consistency without and with crop
 *      selection, Dice cost, circular-shift exactness.
 * Usage: node --import tsx scripts/consistency-results.ts [--limit N] [--rics 8,16,32] [--engine auto|onnx|tfjs]
 */
import { promises as fs, existsSync } from 'node:fs';
import * as path from 'node:path';
import { crop } from '../server/src/consistency/common';
import { evaluateConsistency, type ConsistencyEvaluation, type EvalItem } from '../server/src/consistency/evaluate';
import { ricsOnePixelBound, selectCrop, SCORE_KINDS } from '../server/src/consistency/rics';
import { DIRECTIONS } from '../server/src/consistency/shift';
import { smoothRandomImage } from '../server/src/consistency/synthetic';
import type { EnginePreference } from '../server/src/engines/engine';
import { loadSegmenter } from '../server/src/engines/load';
import { readImage, readMask } from '../server/src/image/read';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : dflt; };
const LIMIT = Number(opt('limit', '40'));
const RICS = opt('rics', '8,16,32').split(',').map(Number);
const ENGINE = opt('engine', 'auto') as EnginePreference;
const root = path.resolve(__dirname, '..');
const shared = path.resolve(root, '..', 'shared', 'datasets');
const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(1)}%`);
const f4 = (x: number | null | undefined) => (x === null || x === undefined ? '–' : x.toFixed(4));

function synthetic(): string[] {
  const H = 72, W = 72, vh = H - 2, vw = W - 2, N = 150;
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
      let ch = 0, tot = 0;
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

async function datasetItems(dir: string, ids: string[]): Promise<EvalItem[]> {
  const imgs = await fs.readdir(path.join(dir, 'images'));
  const byId = new Map(imgs.map((f) => [path.basename(f, path.extname(f)), f]));
  return ids.filter((id) => byId.has(id)).map((id) => ({
    id,
    async load() {
      const im = await readImage(path.join(dir, 'images', byId.get(id)!));
      const mask = await readMask(path.join(dir, 'masks', `${id}.png`), { numClasses: 2, expectWidth: im.width, expectHeight: im.height });
      return { image: im.data, height: im.height, width: im.width, mask };
    },
  }));
}

function table(name: string, ev: ConsistencyEvaluation, seconds: number): string[] {
  const out = [
    `### ${name} (${ev.images} images, ${seconds.toFixed(0)} s)`,
    '',
    '| variant | images changed (any pixel, any of 8 shifts) | images changed > 0.1% | (image, shift) pairs changed | mean changed pixels | selection changed | bound | exchangeable | coverage | Dice (uncovered = bg) | Dice (covered) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const v of ev.variants) {
    const pairs = v.shift.perDirectionShareChanged.reduce((a, x) => a + x, 0) / v.shift.perDirectionShareChanged.length;
    out.push(`| ${v.name} | ${pct(v.shift.shareChangedAny)} | ${pct(v.shift.shareChangedAboveThreshold)} | ${pct(pairs)} | ${pct(v.shift.meanChangedFraction)} | ${pct(v.shift.selectionChangeRate)} | ${pct(v.bound)} | ${pct(v.exchangeableRate)} | ${pct(v.coverage)} | ${f4(v.diceStrict)} | ${f4(v.diceCovered)} |`);
  }
  if (ev.circular) {
    out.push('', `Circular shifts (${ev.circular.shiftsPerImage} random integer shifts per image): exact ${pct(ev.circular.plainExactShare)} plain, ` +
      `**${pct(ev.circular.canonicalExactShare)} canonicalised**; changed pixels ${pct(ev.circular.plainChangedFraction)} plain, ${pct(ev.circular.canonicalChangedFraction)} canonicalised.`);
  }
  return out;
}

async function main() {
  const lines = [
    '# Translation consistency: results',
    '',
    `_Generated by \`node --import tsx scripts/consistency-results.ts --limit ${LIMIT} --rics ${RICS.join(',')}\` on ${new Date().toISOString().slice(0, 10)}; do not edit by hand. Method and bound: [consistency.md](consistency.md)._`,
    '',
    ...synthetic(),
    '',
  ];
  let card = path.join(root, 'models/polyp/segmenter.card.json');
  let note = '';
  if (!existsSync(card)) {
    card = path.join(root, 'models/default/segmenter.card.json');
    note = 'models/polyp/segmenter.card.json is missing: the shapes-domain default segmenter is used instead, so the Dice values are meaningless for polyps (only the consistency numbers are informative).';
  }
  if (!existsSync(card) || !existsSync(shared)) {
    lines.push('### Datasets', '', `Not run: ${!existsSync(card) ? 'no segmenter card' : `${shared} is absent`}.`);
  } else {
    const seg = await loadSegmenter(card, { engine: ENGINE });
    lines.push(`### Datasets`, '', `Segmenter: \`${path.relative(root, card)}\` (${seg.info.engine}/${seg.info.backend}/${seg.info.device}). Crop-selection score: hash. ${note}`, '',
      `One-pixel shifts: reference = the (h−2)×(w−2) view at (1,1), 8 views at (1±1, 1±1); predictions compared on the common content. Dice: reference view vs ground truth.`, '');
    try {
      const kv = path.join(shared, 'kvasir-seg-256');
      const kvIds = (await fs.readFile(path.join(kv, 'splits', 'test.txt'), 'utf8')).split('\n').map((s) => s.trim()).filter(Boolean).slice(0, LIMIT);
      const cvc = path.join(shared, 'cvc-clinicdb-256');
      const cvcIds = (await fs.readdir(path.join(cvc, 'images'))).map((f) => path.basename(f, path.extname(f))).sort((a, b) => Number(a) - Number(b)).slice(0, LIMIT);
      for (const [name, dir, ids] of [[`Kvasir-SEG test split (first ${kvIds.length} ids of splits/test.txt)`, kv, kvIds], [`CVC-ClinicDB (ids ${cvcIds[0]}..${cvcIds[cvcIds.length - 1]})`, cvc, cvcIds]] as const) {
        const t0 = Date.now();
        const ev = await evaluateConsistency(seg, await datasetItems(dir, [...ids]), {
          rics: RICS, circular: true, circularShifts: 2,
          onImage: (i, n, id) => { if (i % 10 === 0) console.error(`${name}: ${i + 1}/${n} ${id}`); },
        });
        lines.push(...table(name, ev, (Date.now() - t0) / 1000), '');
      }
    } finally {
      await seg.dispose();
    }
  }
  await fs.writeFile(path.join(root, 'docs', 'consistency-results.md'), lines.join('\n') + '\n');
  console.log(lines.join('\n'));
}

main().catch((e) => { console.error(e); process.exit(1); });
