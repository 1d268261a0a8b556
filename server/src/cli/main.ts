/**
 * certseg: the headless CLI.
 *   certseg certify IMAGE [--mask M] [--config C] [--out DIR] [--seed S] [--sigma S] [--n N] ...
 *   certseg dataset DIR [--config C] [--out DIR] [--limit N] [--split NAME] [--resume] [--shard I/N | --shards N]
 *   certseg merge OUT_0 OUT_1 ... --out MERGED [--allow-partial]
 *   certseg recertify DIR [--tau T] [--alpha A] [--correction holm|bonferroni] [--out DIR]
 *   certseg consistency IMAGE|DIR [--rics M] [--circular] [--config C] [--out DIR] [--limit N]
 *   certseg cluster slurm|k8s DIR --shards N [--gpus-per-task G] [--partition P] [--time T] [--image IMAGE] [--submit]
 *   certseg card check CARD [--image IMG] [--engine E] [--json]
 *   certseg engines
 * Errors print one line (no stack) and exit non-zero.
 */
import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { isCertsegError } from '../core/errors';
import { loadConfig } from '../config/config';
import type { CertsegConfig } from '../../../protocol/config';
import { certifyImage } from '../pipeline/certifyImage';
import { certifyDataset } from '../pipeline/certifyDataset';
import { recertifyDir } from '../pipeline/recertify';
import { disposeModels } from '../pipeline/models';
import type { ImageReport, SliceSpec } from '../../../protocol/results';
import { progressPrinter } from './progress';
import { COMMANDS, commandHelp, optionsNotTaken, overview } from './help';
import { packageVersion } from '../version';
import { parseSlice } from '../image/medical';
import { describeShard, resolveShard, shardSummaryName } from '../cluster/shard';

const USAGE = overview();

const OPTIONS = {
  mask: { type: 'string' },
  slice: { type: 'string' },
  config: { type: 'string', short: 'c' },
  out: { type: 'string', short: 'o' },
  seed: { type: 'string' },
  limit: { type: 'string' },
  split: { type: 'string' },
  resume: { type: 'boolean' },
  shard: { type: 'string' },
  shards: { type: 'string' },
  'allow-partial': { type: 'boolean' },
  sigma: { type: 'string' },
  n0: { type: 'string' },
  n: { type: 'string' },
  tau: { type: 'string' },
  alpha: { type: 'string' },
  correction: { type: 'string' },
  engine: { type: 'string' },
  'batch-size': { type: 'string' },
  'memory-budget': { type: 'string' },
  'no-denoiser': { type: 'boolean' },
  denoiser: { type: 'string' },
  segmenter: { type: 'string' },
  convention: { type: 'string' },
  rics: { type: 'string' },
  circular: { type: 'boolean' },
  json: { type: 'boolean' },
  image: { type: 'string' },
  'gpus-per-task': { type: 'string' },
  'cpus-per-task': { type: 'string' },
  partition: { type: 'string' },
  time: { type: 'string' },
  submit: { type: 'boolean' },
  pvc: { type: 'string' },
  mount: { type: 'string' },
  'job-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

class UsageError extends Error {}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new UsageError(`--${name} needs a number, got "${v}"`);
  return x;
}

type Values = ReturnType<typeof parse>['values'];
function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
}

/** CLI flags that override config keys (validated together with the config by its schema). */
function overrides(v: Values): Partial<CertsegConfig> {
  const o: Partial<CertsegConfig> = {
    sigma: num('sigma', v.sigma),
    n0: num('n0', v.n0),
    n: num('n', v.n),
    tau: num('tau', v.tau),
    alpha: num('alpha', v.alpha),
    seed: num('seed', v.seed),
    batchSize: num('batch-size', v['batch-size']),
    memoryBudgetMiB: num('memory-budget', v['memory-budget']),
    correction: v.correction as CertsegConfig['correction'],
    engine: v.engine as CertsegConfig['engine'],
    denoiseConvention: v.convention as CertsegConfig['denoiseConvention'],
  };
  if (v.segmenter) o.segmenter = path.resolve(v.segmenter);
  if (v.denoiser) o.denoiser = path.resolve(v.denoiser);
  if (v['no-denoiser']) o.denoiser = null;
  return o;
}

function sliceOption(spec: string): SliceSpec {
  try {
    return parseSlice(spec);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** The config and models a run used, by name. */
function whatRan(r: ImageReport): string {
  const d = r.params.denoiser;
  return `config ${r.config ? r.config : 'shipped defaults'}; segmenter ${path.basename(r.provenance.segmenter.card)}; denoiser ${d ? path.basename(d.card) : 'none'}`;
}

/** Where the models saw the image and how many samples ran per batch (the memory plan). */
function whereRan(r: ImageReport): string {
  const w = r.working;
  if (!w) return '';
  const den = w.denoiser ? `; denoiser ${w.denoiser.note}` : '';
  return `\nworking shape: segmenter ${w.segmenter.note}${den}; ${w.batchSize} sample${w.batchSize > 1 ? 's' : ''} per batch (memory plan: about ${w.estimatedPeakMiB} of ${w.budgetMiB} MiB)`;
}

/** DICOM/NIfTI: the window that made the model's [0,1] input, on which σ and the radius are measured. */
function intensityLine(r: ImageReport): string {
  const i = r.image.intensity;
  if (!i) return '';
  const src = i.source === 'dicom' ? "the file's Window Center/Width" : 'the 0.5–99.5 percentile window';
  const extra = [i.photometric, i.slice ? `slice ${i.slice.axis}:${i.slice.index}` : null].filter(Boolean).join(', ');
  return `\nintensity window ${+i.center.toPrecision(6)}/${+i.width.toPrecision(6)} (${src}${extra ? `; ${extra}` : ''}): σ and the radius are on this window's [0,1] scale`;
}

function one(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected one ${what}, got ${positionals.length}`);
  return positionals[0];
}

function summarize(r: ImageReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const parts = [`radius ${r.radius.toFixed(4)}`, `certified ${pct(1 - r.abstainRate)} of pixels (abstain ${pct(r.abstainRate)})`];
  if (r.certified && r.clean) {
    parts.push(`certified pixel accuracy ${pct(r.certified.pixelAccuracy)} (clean ${pct(r.clean.pixelAccuracy)})`);
    parts.push(`certified foreground Dice ${r.certified.meanDice?.toFixed(3) ?? 'n/a'} (clean ${r.clean.meanDice?.toFixed(3) ?? 'n/a'})`);
  }
  parts.push(`${(r.timings.total / 1000).toFixed(1)} s`);
  return parts.join(', ');
}

export async function main(argv: string[], log: (s: string) => void = (s) => process.stdout.write(s + '\n')): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    log(USAGE);
    return command ? 0 : 2;
  }
  if (command === '--version') {
    log(packageVersion());
    return 0;
  }
  if (!(command in COMMANDS)) throw new UsageError(`unknown command "${command}"`);
  const { values: v, positionals } = parse(rest);
  if (v.help) {
    log(commandHelp(command));
    return 0;
  }
  const notTaken = optionsNotTaken(command, v);
  if (notTaken.length)
    throw new UsageError(`${command} does not take ${notTaken.join(', ')} (certseg ${command} --help lists its options)`);
  const progress = progressPrinter();
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    switch (command) {
      case 'certify': {
        const image = one(positionals, 'IMAGE');
        const config = await loadConfig(v.config ?? null, overrides(v));
        const outDir = v.out ?? path.join('certseg-out', path.parse(image).name);
        const r = await certifyImage(
          {
            imagePath: path.resolve(image),
            maskPath: v.mask ? path.resolve(v.mask) : null,
            config,
            outDir,
            slice: v.slice ? sliceOption(v.slice) : null,
          },
          { signal: controller.signal, onProgress: (e) => progress.update(e), onNotice: (m) => progress.note(m) },
        );
        progress.done();
        log(
          v.json
            ? JSON.stringify(r.report, null, 2)
            : `${path.basename(image)}: ${summarize(r.report)}\n${whatRan(r.report)}${whereRan(r.report)}${intensityLine(r.report)}\nresults in ${outDir}`,
        );
        return 0;
      }
      case 'dataset': {
        const dir = one(positionals, 'DIR');
        const config = await loadConfig(v.config ?? null, overrides(v));
        const limit = num('limit', v.limit);
        if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new UsageError('--limit needs a positive integer');
        const outDir = v.out ?? path.join('certseg-out', path.basename(path.resolve(dir)));
        const shard = resolveShard(v.shard, num('shards', v.shards));
        if (shard) log(`certifying ${describeShard(shard)}; its summary goes to ${path.join(outDir, shardSummaryName(shard))}`);
        const s = await certifyDataset(dir, config, outDir, {
          limit,
          split: v.split,
          resume: v.resume,
          shard,
          signal: controller.signal,
          onImage: (i, total, id, r, skipped) => log(`[${i + 1}/${total}] ${id}: ${skipped ? 'done earlier (resumed)' : summarize(r)}`),
        });
        const c = s.certified?.meanOverImages;
        log(
          `${s.images} images; abstain ${(100 * s.abstainRate.meanOverImages).toFixed(1)}% (mean over images)` +
            (c
              ? `; certified foreground Dice ${c.meanDice?.toFixed(3) ?? 'n/a'}, clean ${s.clean?.meanOverImages.meanDice?.toFixed(3) ?? 'n/a'} (means over images)`
              : '') +
            `\nsummary in ${path.join(outDir, shard ? shardSummaryName(shard) : 'summary.json')}`,
        );
        return 0;
      }
      case 'merge': {
        if (!positionals.length) throw new UsageError("merge needs the shards' output folders");
        if (!v.out) throw new UsageError('merge needs --out MERGED (the folder for the merged result)');
        const { mergeShards } = await import('../cluster/merge');
        const s = await mergeShards(positionals, v.out, { allowPartial: v['allow-partial'], log });
        if (s.partial) log(s.partial.note);
        log(`summary in ${path.join(v.out, 'summary.json')}`);
        return 0;
      }
      case 'recertify': {
        const dir = one(positionals, 'DIR');
        const r = await recertifyDir(
          dir,
          { tau: num('tau', v.tau), alpha: num('alpha', v.alpha), correction: v.correction as 'holm' | 'bonferroni' | undefined },
          v.out,
        );
        log(`EXPLORATORY (parameters chosen after seeing the counts; the family-wise guarantee does not hold): ${summarize(r)}`);
        return 0;
      }
      case 'consistency': {
        const input = one(positionals, 'IMAGE or DIR');
        const config = await loadConfig(v.config ?? null, overrides(v));
        const { checkConsistency } = await import('../pipeline/checkConsistency');
        const summary = await checkConsistency(
          {
            input,
            rics: num('rics', v.rics),
            circular: v.circular,
            segmenter: config.segmenter,
            engine: config.engine,
            out: v.out,
            limit: num('limit', v.limit),
          },
          log,
        );
        if (v.json) log(JSON.stringify(summary, null, 2));
        return 0;
      }
      case 'cluster': {
        const { clusterFromCli } = await import('./commands/cluster');
        await clusterFromCli(positionals, v, log, overrides(v));
        return 0;
      }
      case 'card': {
        const [sub, ...cards] = positionals;
        if (sub !== 'check') throw new UsageError(`card needs a subcommand: certseg card check CARD${sub ? ` (got "${sub}")` : ''}`);
        const card = one(cards, 'CARD');
        const engine = v.engine as 'auto' | 'onnx' | 'tfjs' | undefined;
        if (engine && !['auto', 'onnx', 'tfjs'].includes(engine))
          throw new UsageError(`--engine must be auto, onnx or tfjs, got "${engine}"`);
        const { checkCard, formatCardCheck } = await import('../models/cardCheck');
        const r = await checkCard(card, { image: v.image ?? null, engine });
        log(v.json ? JSON.stringify(r, (k, x) => (k === 'labels' ? undefined : x), 2) : formatCardCheck(r));
        return 0;
      }
      case 'engines': {
        const { describeEngines } = await import('../engines/load');
        log(JSON.stringify(await describeEngines(), null, 2));
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } finally {
    progress.done();
    process.off('SIGINT', onSigint);
    await disposeModels();
  }
}

/** Entry point: one line per error, never a stack trace (CERTSEG_DEBUG=1 shows it). */
export function run(): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      if (process.env.CERTSEG_DEBUG) console.error(e);
      if (e instanceof UsageError) {
        process.stderr.write(`certseg: ${e.message}${e.message.includes('--help') ? '' : ' (certseg --help shows the usage)'}\n`);
        process.exit(2);
      }
      if (isCertsegError(e)) {
        process.stderr.write(`certseg: ${e.code === 'cancelled' ? 'cancelled; nothing was written' : e.message}\n`);
        process.exit(e.exitCode);
      }
      process.stderr.write(`certseg: internal error: ${(e as Error)?.message ?? String(e)}\n`);
      process.exit(70);
    },
  );
}

if (require.main === module) run();
