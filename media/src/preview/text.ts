/**
 * The preview's words (no DOM): the hover readout, the header's status line, the metrics and consistency
 * tables as rows. renderPanels.ts puts them on the page.
 */
import type { ImageReport } from '../../../protocol/results';
import { CANNOT_CERTIFY, WILL_CERTIFY } from '../../../common/provisional';
import { binomialPValue, formatPValue as fmtP } from '../../../common/pValue';
import { ABSTAIN, NOT_COVERED, shownFlips, type PreviewState, type Provisional } from './state';

export const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(1)}%`);
export const num = (x: number | null | undefined, d = 3) => (x === null || x === undefined ? '–' : x.toFixed(d));

/** The per-pixel p-value and its format: one implementation, shared with certification (common/pValue.ts). */
export { binomialPValue, formatPValue as fmtP } from '../../../common/pValue';

export function className(s: PreviewState, k: number): string {
  if (k === ABSTAIN) return 'abstain';
  return s.cur?.classes[k]?.name ?? `class ${k}`;
}

/** What a partial picture is, in words ("clean prediction, before any noisy sample", "estimation 8/64"). */
export function phaseLabel(p: Provisional): string {
  return p.phase === 'clean' ? 'clean prediction, before any noisy sample' : `${p.phase} ${p.samplesDone}/${p.samplesTotal}`;
}

function flipLine(s: PreviewState, x: number, y: number): string | null {
  const flips = s.flips;
  if (!flips || x < 0 || y < 0 || x >= flips.width || y >= flips.height) return null;
  const m = shownFlips(s)!;
  return `shift flips${m === flips.plain ? '' : ` (M = ${flips.cropSelection!.M})`}: ${m.flipMap[y * flips.width + x]}/8`;
}

/** The hover readout of pixel (x, y): class, votes, p-value, radius (outside the picture: a hint or nothing). */
export function pixelReadout(s: PreviewState, x: number, y: number): string {
  const cur = s.cur;
  if (!cur || x < 0 || y < 0 || x >= cur.width || y >= cur.height) {
    const f = flipLine(s, x, y);
    return f ? `(${x}, ${y})\n${f}` : cur || s.flips ? 'Hover a pixel' : '';
  }
  const i = y * cur.width + x;
  const lines: string[] = [`(${x}, ${y})`];
  const rep = cur.report;
  const n = rep?.params.n;
  const p = cur.partial;
  if (p) {
    lines.push(`PROVISIONAL (${phaseLabel(p)})`);
    lines.push(
      `${p.phase === 'clean' ? 'clean prediction' : 'mode so far'}: ${cur.selected[i] === NOT_COVERED ? 'not covered' : className(s, cur.selected[i])}`,
    );
    if (p.phase === 'estimation' && p.samplesDone > 0)
      lines.push(`votes: ${cur.counts[i]}/${p.samplesDone} (${pct(cur.counts[i] / p.samplesDone)})`);
    const st = p.states?.[i];
    if (st === WILL_CERTIFY) lines.push('will be certified');
    else if (st === CANNOT_CERTIFY) lines.push(`can no longer be certified (needs ${p.thresholds!.reachableAt} of ${p.thresholds!.n})`);
    else if (p.thresholds) lines.push(`undecided (certain at ${p.thresholds.certainAt} of ${p.thresholds.n} votes)`);
    else lines.push(`undecided (${p.phase === 'clean' ? 'sampling starts' : 'selection: choosing the class'})`);
  } else {
    const k = cur.certified[i];
    lines.push(k === ABSTAIN ? `certified: abstain (selected ${className(s, cur.selected[i])})` : `certified: ${className(s, k)}`);
    if (cur.clean) lines.push(`clean prediction: ${className(s, cur.clean[i])}`);
    if (n !== undefined && rep) {
      lines.push(`votes: ${cur.counts[i]}/${n} (needs ≥ ${rep.minCertifiedCount})`);
      lines.push(`p-value: ${fmtP(binomialPValue(cur.counts[i], n, rep.params.tau))} (τ = ${rep.params.tau})`);
      lines.push(`radius: ${k === ABSTAIN ? '0 (abstain)' : rep.radius.toFixed(4)}`);
    }
    if (cur.radiusMap) lines.push(`pixel radius (CP): ${cur.radiusMap[i].toFixed(4)}`);
  }
  if (cur.mask) lines.push(`ground truth: ${className(s, cur.mask[i])}`);
  const f = flipLine(s, x, y);
  if (f) lines.push(f);
  return lines.join('\n');
}

/** The header's status line: what the picture is (nothing yet, provisional, a stored result after a cancelled run). */
export function statusText(s: PreviewState): string {
  const cur = s.cur;
  const p = cur?.partial;
  if (p) {
    return p.thresholds
      ? `Provisional (${phaseLabel(p)}): ${p.will} will be certified, ${p.cannot} can no longer be, ${p.undecided} undecided — nothing is certified yet.`
      : `Provisional (${phaseLabel(p)}): ${p.phase === 'clean' ? 'the prediction without noise' : 'the running mode per pixel'} — nothing is certified yet.`;
  }
  if (s.runEnd) {
    const what = s.runEnd === 'cancelled' ? 'Cancelled' : 'The run failed';
    return cur?.report ? `${what}: showing the stored result of an earlier run.` : `${what} — nothing certified.`;
  }
  if (!cur && !s.flips && !s.running) return s.canRun ? 'No result yet. Click Certify to run.' : 'No result yet.';
  if (!cur && s.running) return 'Running: the picture appears with the first samples.';
  return '';
}

/** The metrics table of a run in progress. */
export function provisionalRows(p: Provisional): [string, string][] {
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
  return rows;
}

/** The metrics table of a result (report.json). */
export function reportRows(rep: ImageReport, firstPartialMs: number | null): [string, string][] {
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
  if (rep.clean)
    rows.push(
      ['clean foreground Dice / IoU', `${num(rep.clean.meanDice)} / ${num(rep.clean.meanIoU)}`],
      ['clean Dice per class', perClass(rep.clean.dice)],
      ['clean pixel acc.', pct(rep.clean.pixelAccuracy)],
    );
  if (rep.certified)
    rows.push(
      ['certified foreground Dice / IoU', `${num(rep.certified.meanDice)} / ${num(rep.certified.meanIoU)}`],
      ['certified Dice per class', perClass(rep.certified.dice)],
      ['certified pixel acc.', pct(rep.certified.pixelAccuracy)],
    );
  const seg = rep.provenance?.segmenter;
  if (seg) rows.push(['engine', `${seg.engine} (${seg.backend}, ${seg.device})`]);
  if (rep.timings) rows.push(['time', `${(rep.timings.total / 1000).toFixed(2)} s`]);
  if (firstPartialMs !== null) rows.push(['first partial', `${firstPartialMs} ms`]);
  return rows;
}

const dir = (d: { dy: number; dx: number }) => `(${d.dy > 0 ? '+' : ''}${d.dy}, ${d.dx > 0 ? '+' : ''}${d.dx})`;

/** The translation-consistency table: one column per variant (plain, crop selection), one row per measure. */
export function consistencyTable(flips: NonNullable<PreviewState['flips']>): {
  variants: { key: 'plain' | 'cropSelection'; name: string }[];
  rows: { label: string; title: string; cells: string[] }[];
} {
  const variants = [
    { key: 'plain' as const, name: 'plain', m: flips.plain },
    ...(flips.cropSelection
      ? [{ key: 'cropSelection' as const, name: `crop selection M = ${flips.cropSelection.M}`, m: flips.cropSelection }]
      : []),
  ];
  const rows: { label: string; title: string; cells: string[] }[] = [];
  const row = (label: string, title: string, f: (m: (typeof variants)[number]['m']) => string) =>
    rows.push({ label, title, cells: variants.map((v) => f(v.m)) });
  row('changed by any shift', 'share of the pixels whose label changes under at least one of the 8 one-pixel shifts', (m) =>
    pct(m.changedAnyFraction),
  );
  row('changed, mean of 8', 'mean over the 8 shift directions of the share of changed pixels', (m) => pct(m.meanFraction));
  row('worst direction', 'the shift (dy, dx) that changes the most pixels', (m) => `${dir(m.worst)} ${pct(m.worst.fraction)}`);
  row('coverage', 'share of the view the prediction covers (crop selection leaves a border uncovered)', (m) => pct(m.coverage));
  if (flips.cropSelection) {
    const cs = flips.cropSelection;
    row('selection moved', 'share of the 8 shifts whose selected crop content changed', (m) =>
      m.selectionChangeRate === null ? '–' : pct(m.selectionChangeRate),
    );
    row(
      'bound, one shift',
      'bound on the probability that a random one-pixel shift moves the selected crop, if the argmax is uniform over the window (docs/consistency.md)',
      (m) => (m === cs ? pct(cs.bound) : '–'),
    );
    row(
      'some shift, i.i.d. scores',
      'probability that at least one of the 8 one-pixel shifts moves the selected crop when the scores are exchangeable: 1 − ((M−2)/(M+2))² (docs/consistency.md)',
      (m) => (m === cs ? pct(cs.anyShift) : '–'),
    );
  }
  return { variants: variants.map(({ key, name }) => ({ key, name })), rows };
}
