/**
 * npm run bench: measures certification against the floor (raw forward passes of the same models in the
 * same engine), peak memory at n = 100 vs n = 1000, and the statistics on a 1024×2048 image; writes the
 * figures to docs/performance.md. Figures come from this run only: nothing is typed in by hand.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../server/src/config/config';
import { certifyImage } from '../../server/src/pipeline/certifyImage';
import { getDenoiser, getSegmenter, disposeModels } from '../../server/src/pipeline/models';
import { readImage } from '../../server/src/image/read';
import { certifyFromCounts, clopperPearsonRadiusMap } from '../../server/src/core/multipleTesting';
import { fillGaussian, noisyBatch } from '../../server/src/core/rng';
import { repoRoot } from '../../server/src/paths';
import type { Feed } from '../../server/src/engines/runner';
import { loadDenoiser, loadSegmenter } from '../../server/src/engines/load';
import { DEFAULT_ORT_OPTIONS, type OnnxLoadOptions, type OrtSessionChoice } from '../../server/src/engines/onnx';
import { denoiserFeeds, segmenterFeeds, warmUp } from '../../server/src/engines/warmUp';
import { workingShape } from '../../server/src/engines/workingShape';
import { composeEnabled } from '../../server/src/engines/processing';
import type { Denoiser, Segmenter } from '../../server/src/engines/engine';
import type { ImageReport } from '../../server/src/pipeline/types';
import { noiseThreadBench } from './noiseThread';
import { generatedBy, loadavg, median, sectionHead, spliceSections, startedAt, withEnv, writeSections } from './common';
import { stopNoiseThread } from '../../server/src/core/noiseThread';
import { inferenceThreadBench } from './inferenceThread';
import { warmDatasetBench } from './warmDataset';

const root = repoRoot();
const KVASIR_IMAGE = path.join(root, '../shared/datasets/kvasir-seg-256/images/cju0qkwl35piu0993l0dewei2.jpg');
const lines: string[] = [];
const say = (s = '') => {
  lines.push(s);
  console.log(s);
};

interface Target {
  name: string;
  image: string;
  config: string | null;
  /** plain smoothing: the config's denoiser switched off (the issue's target holds with and without it) */
  noDenoiser?: boolean;
}
const targetConfig = (t: Target) => loadConfig(t.config, t.noDenoiser ? { denoiser: null } : {});

/**
 * The raw floor's models: sessions of their own with ONNX Runtime's own defaults (its intra-op threads spin-wait,
 * which certseg turns off: ORT_SPINNING_DEFAULT), so that "raw" is ORT as it comes whatever certseg chooses.
 * Threads follow CERTSEG_ORT_THREADS like certseg's. Kept per card and thread setting; disposeRawModels() frees them.
 */
const rawModels = new Map<string, Promise<Segmenter | Denoiser>>();
type EngineChoice = Awaited<ReturnType<typeof targetConfig>>['engine'];
function rawModel(kind: 'seg', card: string, engine: EngineChoice): Promise<Segmenter>;
function rawModel(kind: 'den', card: string, engine: EngineChoice): Promise<Denoiser>;
function rawModel(kind: 'seg' | 'den', card: string, engine: EngineChoice): Promise<Segmenter | Denoiser> {
  const key = `${kind}|${card}|${engine}|${process.env.CERTSEG_ORT_THREADS ?? ''}`;
  let m = rawModels.get(key);
  if (!m) {
    const onnx: OnnxLoadOptions = { session: { allowSpinning: true } };
    m = kind === 'seg' ? loadSegmenter(card, { engine, onnx }) : loadDenoiser(card, { engine, onnx });
    rawModels.set(key, m);
  }
  return m;
}
const disposeAll = async () => {
  await disposeModels();
  await disposeRawModels();
};
async function disposeRawModels() {
  const all = [...rawModels.values()];
  rawModels.clear();
  await Promise.allSettled(all.map(async (m) => (await m).dispose()));
}

/**
 * The raw floor: the engine's own run() (InferenceSession.run for ONNX Runtime) on feeds prepared before
 * timing, for the same models, working sizes, batch and number of samples as the certification: no noise, no
 * resizing, normalisation, layout changes, DDPM arithmetic or argmax. What certseg costs beyond this is its
 * own overhead.
 */
async function rawFloor(t: Target, samples: number, working: NonNullable<ImageReport['working']>) {
  const config = await targetConfig(t);
  const seg = await rawModel('seg', config.segmenter, config.engine);
  const den = config.denoiser ? await rawModel('den', config.denoiser, config.engine) : null;
  const b = working.batchSize;
  const fill = (n: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
    return a;
  };
  const calls: (() => Promise<unknown>)[] = [];
  if (den) {
    const { runner, plan } = den.adapter!;
    const { height: H, width: W } = working.denoiser!;
    const feeds: Record<string, Feed> = {
      [plan.inName]: { dtype: 'float32', data: fill(b * 3 * H * W), dims: plan.nhwc ? [b, H, W, 3] : [b, 3, H, W] },
    };
    if (plan.ts) {
      const dims = plan.ts.meta.dims && plan.ts.meta.dims.length === 0 ? [] : [b];
      const n = dims.length ? b : 1;
      feeds[plan.ts.meta.name] =
        plan.ts.dtype === 'int64'
          ? { dtype: 'int64', dims, data: new BigInt64Array(n).fill(50n) }
          : plan.ts.dtype === 'int32'
            ? { dtype: 'int32', dims, data: new Int32Array(n).fill(50) }
            : { dtype: 'float32', dims, data: new Float32Array(n).fill(50) };
    }
    calls.push(() => runner.run(feeds, plan.outName));
  }
  {
    const { runner, plan } = seg.adapter!;
    const { height: H, width: W } = working.segmenter;
    const C = plan.inChannels;
    const dims = plan.inRank3 ? [b, H, W] : plan.nhwc ? [b, H, W, C] : [b, C, H, W];
    const feeds: Record<string, Feed> = { [plan.inName]: { dtype: 'float32', data: fill(b * C * H * W), dims } };
    calls.push(() => runner.run(feeds, plan.outName));
  }
  for (const c of calls) await c(); // warm-up at these shapes
  const t0 = performance.now();
  const n = Math.ceil(samples / b);
  for (let k = 0; k < n; k++) for (const c of calls) await c();
  return ((performance.now() - t0) * samples) / (n * b);
}

async function forwardFloor(t: Target, samples: number) {
  const config = await targetConfig(t);
  const seg = await getSegmenter(config.segmenter, config.engine);
  const den = config.denoiser ? await getDenoiser(config.denoiser, config.engine, config.denoiseConvention) : null;
  const img = await readImage(t.image);
  const { width: w, height: h } = img;
  const b = config.batchSize;
  const batch = new Float32Array(b * img.data.length);
  noisyBatch(img.data, config.sigma, 0, 0, b, batch, new Float32Array(img.data.length));
  // warm-up
  await seg.segment(batch, b, h, w);
  if (den) await den.denoise(batch, b, h, w, config.sigma);
  let segMs = 0;
  let denMs = 0;
  for (let done = 0; done < samples; done += b) {
    if (den) {
      const t0 = performance.now();
      await den.denoise(batch, b, h, w, config.sigma);
      denMs += performance.now() - t0;
    }
    const t1 = performance.now();
    await seg.segment(batch, b, h, w);
    segMs += performance.now() - t1;
  }
  const calls = Math.ceil(samples / b) * b;
  return { segMs: (segMs * samples) / calls, denMs: (denMs * samples) / calls, info: seg.info, w, h, b };
}

/**
 * Runs of certification and of the floor, interleaved so that a slow spell of the shared machine hits both.
 * The headline compares the fastest of each (the run least disturbed by other load estimates the cost
 * best); the median of the paired ratios is printed beside it.
 */
const REPS = 5;

/**
 * 'met' / 'NOT met' for a median ratio against its target, or 'inconclusive' when the paired ratios spread
 * more than 1.5× (other jobs on the shared machine changed speed within a pair): a verdict from such pairs
 * would be noise.
 */
export function verdict(pairs: number[], target: number): string {
  const spread = Math.max(...pairs) / Math.min(...pairs);
  if (spread > 1.5) return `inconclusive (the pairs spread ${spread.toFixed(1)}×: the machine's load changed within pairs)`;
  return median(pairs) <= target ? 'met' : 'NOT met';
}

/** Certification with the composed ONNX graph (CERTSEG_ORT_COMPOSE=1) or the JavaScript adapters (=0), as the switch is read per call. */
async function certifyWith(compose: boolean, t: Target, config: Awaited<ReturnType<typeof loadConfig>>) {
  return withEnv({ CERTSEG_ORT_COMPOSE: compose ? '1' : '0' }, async () => (await certifyImage({ imagePath: t.image, config })).report);
}

async function overheadRuns(t: Target) {
  const config = await targetConfig(t);
  const byDefault = composeEnabled();
  // warm-up (model load, allocations, the composed graphs' sessions), both paths
  for (const c of [true, false]) await certifyWith(c, t, config);
  const samples = config.n0 + config.n;
  const runs: {
    report: Awaited<ReturnType<typeof certifyImage>>['report'];
    /** the same image certified with the composed graph and with the adapters (the default path is `report`) */
    composed: { on: number; off: number };
    floor: Awaited<ReturnType<typeof forwardFloor>>;
    floorMs: number;
    ratio: number;
    rawMs: number;
    rawRatio: number;
    rawOn: number;
    rawOff: number;
  }[] = [];
  const loads = [
    os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join('/'),
  ];
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 ? [false, true] : [true, false]; // alternate which path runs first
    const total: Record<string, ImageReport> = {};
    for (const c of order) total[String(c)] = await certifyWith(c, t, config);
    const report = total[String(byDefault)];
    const floor = await forwardFloor(t, samples);
    const clean = report.timings.segment / (samples + 1);
    const floorMs = floor.segMs + floor.denMs + clean; // + the clean pass
    const rawMs = await rawFloor(t, samples + 1, report.working!); // the samples and the clean pass
    const [on, off] = [total.true.timings.total, total.false.timings.total];
    runs.push({
      report,
      composed: { on, off },
      floor,
      floorMs,
      ratio: report.timings.total / floorMs,
      rawMs,
      rawRatio: report.timings.total / rawMs,
      rawOn: on / rawMs,
      rawOff: off / rawMs,
    });
    loads.push(
      os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join('/'),
    );
  }
  return { config, samples, runs, loads, byDefault };
}

interface MemoryChildResult {
  maxRssKiB: number;
  totalMs: number;
  firstMs: number;
  secondMs?: number;
  working?: ImageReport['working'];
  timings?: ImageReport['timings'];
  secondTimings?: ImageReport['timings'];
  cache?: string;
}
function peakMemory(t: Target, n: number, twice = false, env: NodeJS.ProcessEnv = process.env): MemoryChildResult {
  // Through a shell that forks the child: on Linux a process forked from this one starts with this process's RSS
  // high-water mark (ru_maxrss survives fork + exec), so a direct child would report this bench's own peak.
  const res = spawnSync(
    '/bin/sh',
    [
      '-c',
      '"$0" "$@"; exit $?', // not the last simple command alone: the shell must fork, not exec
      process.execPath,
      '--import',
      'tsx',
      path.join(__dirname, 'memoryChild.ts'),
      t.image,
      String(n),
      t.config ?? '-',
      twice ? 'twice' : '',
    ],
    { encoding: 'utf8', cwd: root, env },
  );
  if (res.status !== 0) throw new Error(`memory child failed: ${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').pop() as string);
}

const SIZES = [256, 512, 1024, 2048];
const SIZES_HEADING = '## Memory and time by image size';

/**
 * Peak RSS and time per megapixel at 256²…2048² (a Kvasir image resized, or the shipped sample), each in a
 * fresh process with the default memory budget: the memory plan (docs/memory.md) must keep every size within
 * it, and time per megapixel must not grow with the size.
 */
async function sizeTable(): Promise<string[]> {
  const out: string[] = [];
  const source = existsSync(KVASIR_IMAGE) ? KVASIR_IMAGE : path.join(root, 'models/default/sample.png');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'certseg-bench-sizes-'));
  const n = 80; // the smallest n that can certify a pixel of a 2048² image at α = 0.001 with Holm is 76
  const configs: [string, string | null][] = [['default models', null]];
  if (existsSync(path.join(root, 'models/polyp/polyp.certseg.json')))
    configs.push(['polyp config', path.join(root, 'models/polyp/polyp.certseg.json')]);
  out.push(
    SIZES_HEADING,
    '',
    `Generated by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)} (${os.cpus().length} cores): ${path.basename(source)} resized to each size, n0 = 10, n = ${n}, the default memory budget (2048 MiB on CPU), each run in a fresh process, on a shared machine (times are wall-clock under other jobs' load; memory is not affected). Peak RSS is the process's maximum resident set; "working" is where each model saw the image and the samples per batch that ran (docs/memory.md).`,
    '',
  );
  out.push(
    '| models | size | peak RSS (MiB) | within budget | time (s) | s per megapixel | working: segmenter / denoiser, batch |',
    '|---|---|---|---|---|---|---|',
  );
  for (const [name, config] of configs) {
    let perMp256 = 0;
    for (const size of SIZES) {
      const image = path.join(dir, `k${size}.png`);
      if (!existsSync(image)) await sharp(source).resize(size, size).png().toFile(image);
      const r = peakMemory({ name, image, config }, n);
      const mib = r.maxRssKiB / 1024;
      const mp = (size * size) / 1e6;
      const perMp = r.totalMs / 1000 / mp;
      if (size === 256) perMp256 = perMp;
      const w = r.working;
      const shape = (s: NonNullable<ImageReport['working']>['segmenter'] | null) => (s ? `${s.width}×${s.height} (${s.how})` : 'none');
      const line = `| ${name} | ${size}² | ${mib.toFixed(0)} | ${w && mib <= w.budgetMiB ? 'yes' : `NO (budget ${w?.budgetMiB ?? '?'})`} | ${(r.totalMs / 1000).toFixed(1)} | ${perMp.toFixed(1)}${size > 256 ? (perMp <= perMp256 ? '' : ' (slower than 256²)') : ''} | ${w ? `${shape(w.segmenter)} / ${shape(w.denoiser)}, ${w.batchSize}` : '?'} |`;
      out.push(line);
      console.log(line);
    }
  }
  return out;
}

const ORT_HEADING = '## ONNX Runtime session options';
const COLD_HEADING = '## Cold and warm sessions';
const ORT_SIZE = 256;
/** samples timed per warm measurement (after the first batch) */
const ORT_WARM_SAMPLES = 8;

interface OrtSet {
  name: string;
  config: string | null;
}
interface OrtMeasure {
  createMs: number;
  warmUpMs: number;
  firstMs: number;
  secondMs: number;
  perSampleMs: number;
  cache: string;
}
type OrtVariant = 'plain' | 'cache' | 'warmup';

/**
 * One fresh session per model of the set (its config's segmenter and denoiser at their working shapes for a
 * 256² image): creation, optionally a warm-up on zeros, the first batch (cold), then warm batches of b samples,
 * each InferenceSession.run on feeds prepared before timing (denoiser then segmenter, as in a certification).
 */
async function ortMeasure(set: OrtSet, choice: OrtSessionChoice, b: number, variant: OrtVariant): Promise<OrtMeasure> {
  const config = await loadConfig(set.config, {});
  const onnx: OnnxLoadOptions = { session: choice, cache: variant === 'cache' };
  const t0 = performance.now();
  const seg: Segmenter = await loadSegmenter(config.segmenter, { engine: 'onnx', onnx });
  const den: Denoiser | null = config.denoiser
    ? await loadDenoiser(config.denoiser, { engine: 'onnx', onnx, convention: config.denoiseConvention })
    : null;
  const createMs = performance.now() - t0;
  try {
    const segShape = workingShape(seg.card.input, ORT_SIZE, ORT_SIZE);
    const denShape = den ? workingShape(den.card.input, ORT_SIZE, ORT_SIZE) : null;
    const fill = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
    const sa = seg.adapter!;
    const segFeeds = segmenterFeeds(
      sa.plan,
      b,
      segShape.height,
      segShape.width,
      fill(b * sa.plan.inChannels * segShape.height * segShape.width),
    );
    const da = den?.adapter;
    const denFeeds =
      da && denShape
        ? denoiserFeeds(da.plan, b, denShape.height, denShape.width, fill(b * 3 * denShape.height * denShape.width), 50)
        : null;
    const batch = async () => {
      const t = performance.now();
      if (da && denFeeds) await da.runner.run(denFeeds, da.plan.outName);
      await sa.runner.run(segFeeds, sa.plan.outName);
      return performance.now() - t;
    };
    let warmUpMs = 0;
    if (variant === 'warmup') warmUpMs = (await warmUp(seg, segShape, b)) + (den && denShape ? await warmUp(den, denShape, b) : 0);
    const firstMs = await batch();
    const n = Math.max(1, Math.ceil(ORT_WARM_SAMPLES / b));
    const times: number[] = [];
    for (let k = 0; k < n; k++) times.push(await batch());
    return {
      createMs,
      warmUpMs,
      firstMs,
      secondMs: times[0],
      perSampleMs: times.reduce((a, x) => a + x, 0) / (n * b),
      cache: seg.info.session?.optimizedModelCache ?? '?',
    };
  } finally {
    await seg.dispose();
    await den?.dispose();
  }
}

/**
 * --only=ortoptions: the ORT session options swept (intra-op threads 1/2 and ORT's default, graph optimization
 * basic/all, CPU memory arena on/off, batch 4/8) on the default and polyp models at 256², repeats interleaved
 * (every configuration once per round); then cold vs warm first batches at the default options: a fresh
 * session as is, from the optimized-model cache, and after the warm-up. Writes both sections after every round
 * (a run stopped early leaves the rounds it finished).
 */
async function ortOptions(doc: string, reps: number): Promise<void> {
  const sets: OrtSet[] = [{ name: 'default', config: null }];
  const polypConfig = path.join(root, 'models/polyp/polyp.certseg.json');
  if (existsSync(polypConfig)) sets.push({ name: 'polyp', config: polypConfig });
  const choices: OrtSessionChoice[] = [{ ...DEFAULT_ORT_OPTIONS }];
  for (const intraOpNumThreads of [1, 2])
    for (const graphOptimizationLevel of ['basic', 'all'] as const)
      for (const enableCpuMemArena of [true, false])
        choices.push({ ...DEFAULT_ORT_OPTIONS, intraOpNumThreads, graphOptimizationLevel, enableCpuMemArena });
  const batches = [4, 8];
  const key = (set: OrtSet, c: OrtSessionChoice, b: number) =>
    `${set.name}|${c.intraOpNumThreads}|${c.graphOptimizationLevel}|${c.enableCpuMemArena}|${b}`;
  const sweep = new Map<string, OrtMeasure[]>();
  const cold = new Map<string, OrtMeasure[]>();
  const variants: OrtVariant[] = ['plain', 'cache', 'warmup'];
  const loads: string[] = [loadavg()];
  const started = startedAt();
  // the cache variant must hit: one load per set fills the cache first
  for (const set of sets) await ortMeasure(set, DEFAULT_ORT_OPTIONS, 1, 'cache');
  const fmt = (x: number) => x.toFixed(x < 10 ? 1 : 0);
  const write = (rounds: number) => {
    const out: string[] = [];
    out.push(
      ORT_HEADING,
      '',
      `Generated by \`node --import tsx test/bench/run.ts --only=ortoptions\` on ${started} UTC (${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}, onnxruntime-node ${ortPackageVersion()}), ${rounds} interleaved round${rounds === 1 ? '' : 's'} (every configuration once per round, a fresh session each time). Load average (1/5/15 min) at the start and after each round: ${loads.join('; ')} (under other jobs' load single figures move by tens of percent). Each configuration: the config's models at their working shapes for a ${ORT_SIZE}² image (default: segmenter and denoiser at ${ORT_SIZE}²; polyp: segmenter at ${ORT_SIZE}², denoiser at 128²), InferenceSession.run on feeds prepared before timing; "first batch" is the first run of the fresh session (cold), "warm" the median over rounds of ms per sample over the next ${ORT_WARM_SAMPLES} samples. Threads 0 is ORT's default (one per physical core), the current default with level all and the arena on.`,
      '',
    );
    out.push(
      '| models | intra-op threads | graph optimization | CPU arena | batch | session create ms | first batch ms | warm ms / sample (median) | warm range over rounds | vs default at this batch |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    const verdicts: string[] = [];
    for (const set of sets) {
      for (const b of batches) {
        const ref = sweep.get(key(set, DEFAULT_ORT_OPTIONS, b)) ?? [];
        const refMed = ref.length ? median(ref.map((m) => m.perSampleMs)) : NaN;
        const refMin = ref.length ? Math.min(...ref.map((m) => m.perSampleMs)) : NaN;
        for (const c of choices) {
          const ms = sweep.get(key(set, c, b)) ?? [];
          if (!ms.length) continue;
          const per = ms.map((m) => m.perSampleMs);
          const med = median(per);
          const lo = Math.min(...per),
            hi = Math.max(...per);
          out.push(
            `| ${set.name} | ${c.intraOpNumThreads} | ${c.graphOptimizationLevel} | ${c.enableCpuMemArena ? 'on' : 'off'} | ${b} | ${fmt(median(ms.map((m) => m.createMs)))} | ${fmt(median(ms.map((m) => m.firstMs)))} | ${fmt(med)} | ${fmt(lo)}–${fmt(hi)} | ${(med / refMed).toFixed(2)} |`,
          );
          // clearly beyond the noise: 10% faster at the median AND every round faster than the default's fastest
          if (c !== choices[0] && rounds >= 2 && med < 0.9 * refMed && hi < refMin)
            verdicts.push(
              `${set.name}, batch ${b}: threads ${c.intraOpNumThreads}, ${c.graphOptimizationLevel}, arena ${c.enableCpuMemArena ? 'on' : 'off'} (${(med / refMed).toFixed(2)}× the default)`,
            );
        }
      }
      const b4 = sweep.get(key(set, DEFAULT_ORT_OPTIONS, 4)),
        b8 = sweep.get(key(set, DEFAULT_ORT_OPTIONS, 8));
      if (b4?.length && b8?.length)
        out.push(
          `| ${set.name} | | | | batch 4 / batch 8 at the defaults | | | ${(median(b4.map((m) => m.perSampleMs)) / median(b8.map((m) => m.perSampleMs))).toFixed(2)} | | |`,
        );
    }
    out.push(
      '',
      verdicts.length
        ? `Beyond the noise (median ≥ 10% faster and every round faster than the default's fastest round): ${verdicts.join('; ')}. The defaults in engines/onnx.ts (DEFAULT_ORT_OPTIONS) change only when such a result holds for both model sets and is reproduced.`
        : "No configuration was clearly beyond the noise (median ≥ 10% faster than the default and every round faster than the default's fastest round): the sweep found no better default for both model sets, and the defaults stay (ORT's default threads, level all, arena on, sequential; engines/onnx.ts DEFAULT_ORT_OPTIONS). Every report records the options it ran with (provenance.segmenter.session).",
    );
    out.push(
      '',
      COLD_HEADING,
      '',
      `The first batch of a fresh session (batch 8, default options, ${ORT_SIZE}² as above, ${rounds} interleaved round${rounds === 1 ? '' : 's'}, medians): "plain" is a session optimized at creation, no warm-up (what a run paid before issue 16); "cache" is created from the optimized-model cache (engines/onnx.ts; graph optimizations off at load); "warm-up" runs one batch of zeros at the same shapes first (engines/warmUp.ts, what certifyImage does before its clean pass on a GPU, or with CERTSEG_WARMUP=1), so its first batch is the first real one. "second" is the next batch in the same session: a warm session's cost.`,
      '',
    );
    out.push(
      '| models | variant | cache | session create ms | warm-up ms | first batch ms | second batch ms | first / second |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const set of sets) {
      for (const v of variants) {
        const ms = cold.get(`${set.name}|${v}`) ?? [];
        if (!ms.length) continue;
        const f = median(ms.map((m) => m.firstMs)),
          s2 = median(ms.map((m) => m.secondMs));
        out.push(
          `| ${set.name} | ${v} | ${ms.map((m) => m.cache).join(', ')} | ${fmt(median(ms.map((m) => m.createMs)))} | ${fmt(median(ms.map((m) => m.warmUpMs)))} | ${fmt(f)} | ${fmt(s2)} | ${(f / s2).toFixed(2)} |`,
        );
      }
    }
    writeSections(doc, out.join('\n'));
    console.log(out.join('\n'));
  };
  for (let r = 0; r < reps; r++) {
    for (const set of sets) {
      for (const c of choices) {
        for (const b of batches) {
          const m = await ortMeasure(set, c, b, 'plain');
          const k = key(set, c, b);
          sweep.set(k, [...(sweep.get(k) ?? []), m]);
          console.log(`round ${r + 1} ${k}: create ${fmt(m.createMs)} first ${fmt(m.firstMs)} warm ${fmt(m.perSampleMs)} ms/sample`);
        }
      }
      for (const v of variants) {
        const m = await ortMeasure(set, DEFAULT_ORT_OPTIONS, 8, v);
        cold.set(`${set.name}|${v}`, [...(cold.get(`${set.name}|${v}`) ?? []), m]);
        console.log(
          `round ${r + 1} ${set.name} ${v}: create ${fmt(m.createMs)} warm-up ${fmt(m.warmUpMs)} first ${fmt(m.firstMs)} second ${fmt(m.secondMs)} (${m.cache})`,
        );
      }
    }
    loads.push(loadavg());
    write(r + 1);
  }
}

const PROCESS_HEADING = '## First certification in a fresh process';

/**
 * --only=coldprocess: the first and second certification of one image in a fresh process (memoryChild.ts
 * 'twice'), with and without the warm-up (CERTSEG_WARMUP=0) and with an empty or a filled optimized-model
 * cache, variants interleaved. The polyp config on a Kvasir-SEG image at 256², n = 64.
 */
async function coldProcess(doc: string, reps: number): Promise<void> {
  const config = path.join(root, 'models/polyp/polyp.certseg.json');
  const image = existsSync(KVASIR_IMAGE) ? KVASIR_IMAGE : path.join(root, 'models/default/sample.png');
  const t: Target = { name: 'polyp', image, config: existsSync(config) ? config : null };
  const filled = mkdtempSync(path.join(os.tmpdir(), 'certseg-bench-cache-'));
  peakMemory(t, 64, false, { ...process.env, CERTSEG_CACHE_DIR: filled, CERTSEG_WARMUP: '0' }); // fills the cache
  const variants = [
    { name: 'no warm-up, cache miss', warm: false, hit: false },
    { name: 'no warm-up, cache hit', warm: false, hit: true },
    { name: 'warm-up, cache miss', warm: true, hit: false },
    { name: 'warm-up, cache hit (the GPU default from the second process on)', warm: true, hit: true },
  ];
  const res = new Map<string, MemoryChildResult[]>();
  const loads = [loadavg()];
  const started = startedAt();
  for (let r = 0; r < reps; r++) {
    for (const v of variants) {
      const dir = v.hit ? filled : mkdtempSync(path.join(os.tmpdir(), 'certseg-bench-cache-'));
      const m = peakMemory(t, 64, true, { ...process.env, CERTSEG_CACHE_DIR: dir, CERTSEG_WARMUP: v.warm ? '1' : '0' });
      res.set(v.name, [...(res.get(v.name) ?? []), m]);
      console.log(
        `round ${r + 1} ${v.name}: first ${m.firstMs.toFixed(0)} ms (warm-up ${m.timings?.warmUp ?? '?'}, ${m.cache}), second ${m.secondMs?.toFixed(0)} ms`,
      );
    }
    loads.push(loadavg());
  }
  const out = [
    PROCESS_HEADING,
    '',
    `Generated by \`node --import tsx test/bench/run.ts --only=coldprocess\` on ${started} UTC: ${path.basename(image)} (${t.config ? 'polyp config' : 'default models'}), n0 = 10, n = 64, batch 8; each run a fresh process certifying the image twice (test/bench/memoryChild.ts), ${reps} interleaved round${reps === 1 ? '' : 's'}: the median (the upper one for an even count) and each round's value in brackets. "first" includes loading the models (and, on a miss, optimizing and saving the graph); "clean + samples" is the first certification's clean pass, denoiser and segmenter time (timings.segment + timings.denoise), where a slow first ORT run would show. Load average at the start and after each round: ${loads.join('; ')} (2 shared cores).`,
    '',
  ];
  out.push(
    '| variant | first certification ms | its warm-up ms | its clean + samples ms | second certification ms | second: clean + samples ms |',
    '|---|---|---|---|---|---|',
  );
  for (const v of variants) {
    const ms = res.get(v.name) ?? [];
    if (!ms.length) continue;
    // the median and, in brackets, every round's value in round order (the machine's load moves single runs a lot)
    const med = (f: (m: MemoryChildResult) => number) => `${median(ms.map(f)).toFixed(0)} (${ms.map((m) => f(m).toFixed(0)).join(', ')})`;
    out.push(
      `| ${v.name} | ${med((m) => m.firstMs)} | ${med((m) => m.timings?.warmUp ?? 0)} | ${med((m) => (m.timings?.segment ?? 0) + (m.timings?.denoise ?? 0))} | ${med((m) => m.secondMs ?? 0)} | ${med((m) => (m.secondTimings?.segment ?? 0) + (m.secondTimings?.denoise ?? 0))} |`,
    );
  }
  // what ORT's first runs cost without a warm-up (the CPU default from the second process on), against what the warm-up costs
  const of = (name: string, f: (m: MemoryChildResult) => number) => median((res.get(name) ?? []).map(f));
  const inference = (t?: ImageReport['timings']) => (t?.segment ?? 0) + (t?.denoise ?? 0);
  const firstRun = of(variants[1].name, (m) => inference(m.timings));
  const secondRun = of(variants[1].name, (m) => inference(m.secondTimings));
  const warmCost = of(variants[3].name, (m) => m.timings?.warmUp ?? 0);
  const slower = firstRun - secondRun;
  out.push(
    '',
    `What follows from it (engines/warmUp.ts): without a warm-up (cache hit), the first certification's clean pass and samples took ${firstRun.toFixed(0)} ms against ${secondRun.toFixed(0)} ms in the second, so ORT's first runs cost ${slower.toFixed(0)} ms; a warm-up costs ${warmCost.toFixed(0)} ms, ${warmCost >= slower ? 'no less than it saves' : 'less than it saves'}. The warm-up is on by default on a GPU only (where CUDA's first run selects kernels); CERTSEG_WARMUP=1 / =0 forces it${warmCost >= slower ? '' : ', and on this CPU =1 pays'}. The optimized-model cache stays on: creating a session from it is faster.`,
  );
  writeSections(doc, out.join('\n'));
  console.log(out.join('\n'));
}

function ortPackageVersion(): string {
  try {
    return (JSON.parse(readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function statsTiming() {
  const w = 2048,
    h = 1024,
    K = w * h,
    n = 100;
  const selected = new Uint8Array(K);
  const counts = new Uint16Array(K);
  let s = 12345;
  for (let i = 0; i < K; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    counts[i] = 60 + (s % 41);
    selected[i] = s % 19;
  }
  const times: Record<string, number[]> = { holm: [], bonferroni: [], radiusMap: [] };
  for (let rep = 0; rep < 7; rep++) {
    let t0 = performance.now();
    certifyFromCounts(selected, counts, n, 0.75, 0.001, 'holm');
    times.holm.push(performance.now() - t0);
    t0 = performance.now();
    certifyFromCounts(selected, counts, n, 0.75, 0.001, 'bonferroni');
    times.bonferroni.push(performance.now() - t0);
    t0 = performance.now();
    clopperPearsonRadiusMap(counts, n, 0.001 / K, 0.25);
    times.radiusMap.push(performance.now() - t0);
  }
  return { holm: median(times.holm), bonferroni: median(times.bonferroni), radiusMap: median(times.radiusMap) };
}

/** The default models on their sample and the polyp config on a Kvasir-SEG image, each with and without the denoiser. */
function overheadTargets(): Target[] {
  const targets: Target[] = [{ name: 'default models, shipped sample', image: path.join(root, 'models/default/sample.png'), config: null }];
  const polypConfig = path.join(root, 'models/polyp/polyp.certseg.json');
  if (existsSync(KVASIR_IMAGE) && existsSync(polypConfig))
    targets.push({ name: 'polyp models, Kvasir-SEG image 256×256', image: KVASIR_IMAGE, config: polypConfig });
  // the same two without the denoiser (plain smoothing): the issue-16 target holds for both paths
  for (const t of [...targets]) targets.push({ ...t, name: `${t.name}, no denoiser`, noDenoiser: true });
  return targets;
}

/**
 * A table row of the parts that set certification against the raw floor (spinning, sparecore): `rows` holds one
 * [certification total, raw floor, noise on the critical path] per round; medians (RATIO_COLUMNS), then the
 * median ratio and each round's.
 */
const RATIO_COLUMNS = ['certification total ms (median)', 'noise on the critical path ms (median)', 'raw floor ms (median)'] as const;
function ratioRow(cells: string[], rows: number[][]): string {
  const ratios = rows.map(([c, raw]) => c / raw);
  const med = (k: number) => median(rows.map((x) => x[k])).toFixed(0);
  return `| ${cells.join(' | ')} | ${med(0)} | ${med(2)} | ${med(1)} | ${median(ratios).toFixed(3)} | ${ratios.map((x) => x.toFixed(3)).join(', ')} |`;
}

export const SPINNING_HEADING = "## ONNX Runtime's threads spinning, and the noise thread";

/** The four settings --only=spinning compares: ORT's threads spin-wait or sleep, noise on the main or the noise thread. */
const SPIN_SETTINGS = [
  { spin: true, thread: false, name: 'spinning, noise on the main thread (the default before)' },
  { spin: true, thread: true, name: 'spinning, noise thread' },
  { spin: false, thread: false, name: 'sleeping, noise on the main thread' },
  { spin: false, thread: true, name: 'sleeping, noise thread (the default now)' },
] as const;

/**
 * --only=spinning: with ONNX Runtime's default threads on every core, its idle threads spin-wait between parallel
 * sections and so compete with a noise thread for the cores; told not to (session.intra_op.allow_spinning = 0) they
 * sleep. Certification in the four combinations, each against the raw floor of ORT as it comes (its own defaults,
 * spinning: rawModel). Sessions are made at load, so every setting reloads the models and certifies once unmeasured
 * (warm-up, composed graphs) before its measured run. Rounds interleave the settings, order rotating.
 */
async function spinningBench(doc: string, reps: number) {
  const started = startedAt();
  const loads = [loadavg()];
  const out = sectionHead(SPINNING_HEADING, [
    'models',
    "ORT's threads, noise",
    ...RATIO_COLUMNS,
    'certification / raw floor, median of rounds',
    'rounds',
  ]);
  const summary: string[] = [];
  try {
    for (const t of overheadTargets()) {
      const config = await targetConfig(t);
      // [setting][round] = [certification total, raw floor, noise on the critical path]
      const rows: number[][][] = SPIN_SETTINGS.map(() => []);
      // the working sizes and batch the raw floor matches: the same for every setting and round
      const { working } = (await certifyImage({ imagePath: t.image, config })).report;
      for (let rep = 0; rep < reps; rep++) {
        const raw = await rawFloor(t, config.n0 + config.n + 1, working!);
        for (let k = 0; k < SPIN_SETTINGS.length; k++) {
          const i = (k + rep) % SPIN_SETTINGS.length;
          const s = SPIN_SETTINGS[i];
          const report = await withEnv(
            { CERTSEG_ORT_SPINNING: s.spin ? '1' : '0', CERTSEG_NOISE_THREAD: s.thread ? '1' : '0' },
            async () => {
              await disposeModels(); // the setting is a session option: load the models with it
              await certifyImage({ imagePath: t.image, config }); // warm
              const r = (await certifyImage({ imagePath: t.image, config })).report;
              if (r.provenance.noise !== (s.thread ? 'thread' : 'main')) throw new Error(`noise ran on ${r.provenance.noise}`);
              if (r.provenance.segmenter.session?.allowSpinning !== s.spin)
                throw new Error('the segmenter did not get the spinning setting');
              return r;
            },
          );
          rows[i].push([report.timings.total, raw, report.timings.noise]);
        }
        loads.push(loadavg());
        console.log(`${t.name} round ${rep + 1}: ${rows.map((r) => (r[rep][0] / r[rep][1]).toFixed(3)).join(' ')}`);
      }
      SPIN_SETTINGS.forEach((s, i) => out.push(ratioRow([t.name, s.name], rows[i])));
      const before = rows[SPIN_SETTINGS.findIndex((x) => x.spin && !x.thread)].map(([c]) => c);
      const now = rows[SPIN_SETTINGS.findIndex((x) => !x.spin && x.thread)].map(([c]) => c);
      const perRound = now.map((c, k) => c / before[k]);
      summary.push(
        `${t.name}: the default now / before per round ${perRound.map((x) => x.toFixed(3)).join(', ')} (median ${median(perRound).toFixed(3)}; faster in ${perRound.filter((x) => x < 1).length} of ${perRound.length})`,
      );
    }
  } finally {
    await disposeAll();
    await stopNoiseThread();
  }
  out[2] = `${generatedBy('spinning', started)}: the targets of the sections above (σ 0.25, n0 10, n 100, batch 8) with ONNX Runtime's default intra-op threads (one per core), its threads spinning (CERTSEG_ORT_SPINNING=1, ORT's own default) or sleeping (=0) between parallel sections, and the noise on the main thread (CERTSEG_NOISE_THREAD=0) or the noise thread (=1). The raw floor is ORT with its own defaults (spinning), in sessions of its own, once per round. Each setting reloads the models (a session option) and certifies once unmeasured before the measured run. ${reps} rounds, the settings' order rotating. Load average (1/5/15 min) at the start and after each round: ${loads.join('; ')}.`;
  out.push('', `Per target: ${summary.join('; ')}.`);
  writeSections(doc, out.join('\n'));
  console.log(out.join('\n'));
}

export const SPARE_CORE_HEADING = '## A core left to the noise thread';

/**
 * --only=sparecore: on 2 cores ONNX Runtime's default threads take both, so noise drawn on the noise thread only
 * competes with inference (the "Noise thread" section). Here ORT runs on one intra-op thread
 * (CERTSEG_ORT_THREADS=1), standing in for a GPU or a CPU with cores to spare, and certification with the noise
 * thread on and off is compared with the raw floor at the same setting. Interleaved pairs, order alternating.
 */
async function spareCore(doc: string, reps: number) {
  const started = startedAt();
  const loads = [loadavg()];
  const out = sectionHead(SPARE_CORE_HEADING, ['models', 'noise', ...RATIO_COLUMNS, 'certification / raw floor, median of pairs', 'pairs']);
  const certify = (t: Target, config: Awaited<ReturnType<typeof loadConfig>>, thread: boolean) =>
    withEnv({ CERTSEG_NOISE_THREAD: thread ? '1' : '0' }, async () => {
      const { report } = await certifyImage({ imagePath: t.image, config });
      if (report.provenance.noise !== (thread ? 'thread' : 'main')) throw new Error(`noise ran on ${report.provenance.noise}`);
      if (report.provenance.segmenter.session?.intraOpNumThreads !== 1) throw new Error('the segmenter did not run on one thread');
      return report;
    });
  await disposeAll(); // sessions are made at load: the ones below load with one thread
  await withEnv({ CERTSEG_ORT_THREADS: '1' }, async () => {
    try {
      for (const t of overheadTargets()) {
        const config = await targetConfig(t);
        for (const thread of [false, true]) await certify(t, config, thread); // warm: sessions, composed graphs, the thread
        // [certification total, raw floor, noise on the critical path (drawn, or waited for on the thread)]
        const rows = { main: [] as number[][], thread: [] as number[][] };
        for (let rep = 0; rep < reps; rep++) {
          const order = rep % 2 ? [true, false] : [false, true];
          const totals: Record<string, ImageReport> = {};
          for (const thread of order) totals[String(thread)] = await certify(t, config, thread);
          const raw = await rawFloor(t, config.n0 + config.n + 1, totals.true.working!);
          rows.main.push([totals.false.timings.total, raw, totals.false.timings.noise]);
          rows.thread.push([totals.true.timings.total, raw, totals.true.timings.noise]);
          loads.push(loadavg());
          console.log(
            `${t.name} pair ${rep + 1}: main ${totals.false.timings.total} thread ${totals.true.timings.total} raw ${raw.toFixed(0)}`,
          );
        }
        for (const [name, r] of [
          ['main thread', rows.main],
          ['noise thread', rows.thread],
        ] as const)
          out.push(ratioRow([t.name, name], r));
      }
    } finally {
      await disposeAll(); // the one-thread sessions must not outlive the setting
      await stopNoiseThread();
    }
  });
  out[2] = `${generatedBy('sparecore', started)}: the targets of the sections above (σ 0.25, n0 10, n 100, batch 8) with ONNX Runtime on one intra-op thread (CERTSEG_ORT_THREADS=1) for the certification and for its raw floor alike, so that one of the 2 cores is free, as a GPU or a larger CPU leaves the host's cores free. Each pair: certification with the noise on the main thread (CERTSEG_NOISE_THREAD=0) and on the noise thread (=1), in alternating order, then the raw floor. ${reps} pairs. Load average (1/5/15 min) at the start and after each pair: ${loads.join('; ')}.`;
  writeSections(doc, out.join('\n'));
  console.log(out.join('\n'));
}

/**
 * One uniform value per element from xoshiro128** (rng.ts's generator), its state in local variables (the
 * fastest form found here): the least an exact Gaussian transform that needs one 32-bit draw per value costs.
 */
function uniformDraws(out: Float32Array, seed: number, stream: number) {
  let a = (seed ^ 0x9e3779b9) | 0;
  let b = (stream + 0x6d2b79f5) | 0;
  let c = 0x85ebca6b;
  let d = 0xc2b2ae35 | 0;
  for (let i = 0; i < out.length; i++) {
    const r = Math.imul(rotl32(Math.imul(b, 5), 7), 9);
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl32(d, 11);
    out[i] = (r >>> 0) * 2.3283064365386963e-10;
  }
}
const rotl32 = (x: number, k: number) => (x << k) | (x >>> (32 - k));

export const NOISE_FLOOR_HEADING = '## What the noise alone adds to the raw floor';

/**
 * --only=noisefloor: with ONNX Runtime's threads on every core nothing overlaps with inference (onnxruntime-node's
 * run() blocks the JS thread), so whatever the noise costs adds to the raw floor. Per 3×h×w sample, this measures
 * the exact polar method as certseg draws it (rng.ts fillGaussian) and the uniform 32-bit draws alone, one per
 * value (what an exact method needs at the least: a ziggurat draws one per value and usually no more), against the
 * raw floor per sample, for the targets without the denoiser. Interleaved rounds; medians.
 */
async function noiseFloor(doc: string, reps: number) {
  const started = startedAt();
  const loads = [loadavg()];
  const out = sectionHead(NOISE_FLOOR_HEADING, [
    'models',
    'values per sample',
    'raw floor ms per sample',
    'polar method (certseg) ms per sample',
    'uniform draws alone ms per sample',
    '(raw + polar) / raw',
    '(raw + uniform draws) / raw',
  ]);
  const perSample = 20;
  const uniformRatios: number[] = [];
  for (const t of overheadTargets().filter((x) => x.noDenoiser)) {
    const config = await targetConfig(t);
    const { report } = await certifyImage({ imagePath: t.image, config }); // loads and warms the sessions
    const samples = config.n0 + config.n + 1;
    const len = (await readImage(t.image)).data.length;
    const buf = new Float32Array(len);
    const rows = { raw: [] as number[], polar: [] as number[], uniform: [] as number[] };
    let sink = 0;
    for (let j = 0; j < perSample; j++) {
      // both generators compiled by the JIT before any timing
      fillGaussian(buf, config.sigma, -1, j);
      uniformDraws(buf, -1, j);
    }
    for (let rep = 0; rep < reps; rep++) {
      rows.raw.push((await rawFloor(t, samples, report.working!)) / samples);
      let t0 = performance.now();
      for (let j = 0; j < perSample; j++) fillGaussian(buf, config.sigma, rep, j);
      rows.polar.push((performance.now() - t0) / perSample);
      t0 = performance.now();
      for (let j = 0; j < perSample; j++) uniformDraws(buf, rep, j);
      rows.uniform.push((performance.now() - t0) / perSample);
      sink += buf[len - 1];
      loads.push(loadavg());
      console.log(
        `${t.name} round ${rep + 1}: raw ${rows.raw.at(-1)!.toFixed(2)} polar ${rows.polar.at(-1)!.toFixed(2)} uniform ${rows.uniform.at(-1)!.toFixed(2)} ms/sample`,
      );
    }
    if (Number.isNaN(sink)) throw new Error('unreachable: keeps the draws from being optimised away');
    const [raw, polar, uniform] = [median(rows.raw), median(rows.polar), median(rows.uniform)];
    uniformRatios.push((raw + uniform) / raw);
    out.push(
      `| ${t.name} | ${len} | ${raw.toFixed(2)} | ${polar.toFixed(2)} | ${uniform.toFixed(2)} | ${((raw + polar) / raw).toFixed(3)} | ${((raw + uniform) / raw).toFixed(3)} |`,
    );
  }
  await disposeAll();
  out[2] = `${generatedBy('noisefloor', started)}: the targets without the denoiser, ONNX Runtime with its default threads. Each of ${reps} rounds: the raw floor (as in the sections above: n0 + n + 1 passes, batch 8) per sample, then ${perSample} samples of noise drawn by the polar method and ${perSample} of uniform 32-bit draws alone, one per value (the same xoshiro128** step, its state in local variables), on the JS thread; both generators compiled by the JIT before timing. The last two columns are the certification / raw floor that the noise alone would give when it cannot overlap with inference, before any other cost (reading labels, counting votes). Load average (1/5/15 min) at the start and after each round: ${loads.join('; ')}.`;
  out.push(
    '',
    uniformRatios.every((r) => r > 1.05)
      ? 'The uniform draws alone are above 1.05 of the raw floor for every target: on this machine no exact generator on the JS thread that needs one 32-bit draw per value can bring certification without the denoiser to 1.05 while ONNX Runtime has every core, whatever its transform. Meeting it needs the noise off the cores inference uses (a free core: "A core left to the noise thread"; or a GPU).'
      : `The uniform draws alone stay within 1.05 of the raw floor for ${uniformRatios.filter((r) => r <= 1.05).length} of ${uniformRatios.length} targets: a faster exact transform than the polar method could bring those within reach.`,
  );
  writeSections(doc, out.join('\n'));
  console.log(out.join('\n'));
}

/** --name=N on the command line, else `fallback` */
const numberArg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);

async function main() {
  // --only=sizes | --only=overhead | --only=ortoptions | --only=coldprocess | --only=noisethread | --only=inferencethread | --only=warmdataset | --only=sparecore | --only=noisefloor | --only=spinning [--reps=N]: run one part and splice its sections into docs/performance.md (the rest
  // keeps the figures of its own run)
  const only =
    process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length) ?? (process.argv.includes('--sizes-only') ? 'sizes' : null);
  const doc = path.join(root, 'docs/performance.md');
  if (only === 'ortoptions') {
    const reps = numberArg('reps', 3);
    await ortOptions(doc, reps);
    return;
  }
  if (only === 'coldprocess') {
    await coldProcess(doc, numberArg('reps', 3));
    return;
  }
  if (only === 'noisethread') {
    await noiseThreadBench(root, doc, numberArg('reps', 5));
    return;
  }
  if (only === 'noisefloor') {
    await noiseFloor(doc, numberArg('reps', 5));
    return;
  }
  if (only === 'spinning') {
    await spinningBench(doc, numberArg('reps', 3));
    return;
  }
  if (only === 'sparecore') {
    await spareCore(doc, numberArg('reps', 5));
    return;
  }
  if (only === 'warmdataset') {
    await warmDatasetBench(root, doc, { images: numberArg('images', 8), reps: numberArg('reps', 2) });
    return;
  }
  if (only === 'inferencethread') {
    await inferenceThreadBench(root, doc, numberArg('reps', 5));
    return;
  }
  if (only === 'sizes') {
    writeSections(doc, (await sizeTable()).join('\n'));
    return;
  }
  const targets = overheadTargets();

  say('# Performance');
  say();
  say(
    `Generated by \`npm run bench\` (test/bench/run.ts) on ${new Date().toISOString().slice(0, 10)}: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}. Wall-clock ms on a shared machine: certification and the floor are run ${REPS} times, interleaved; the tables show the fastest certification run, and the overhead compares the fastest certification with the fastest floor.`,
  );
  for (const t of targets) {
    // each target starts with no sessions loaded: the raw floor's sessions (rawModel) sit beside certseg's, and a
    // previous target's would count in the next one's memory plan (its baseline is this process's memory)
    await disposeAll();
    const { config, samples, runs, loads, byDefault } = await overheadRuns(t);
    const fastest = runs.reduce((a, b) => (b.report.timings.total < a.report.timings.total ? b : a));
    const bestFloor = runs.reduce((a, b) => (b.floorMs < a.floorMs ? b : a));
    const { report } = fastest;
    const { floor, floorMs } = bestFloor;
    const ratio = report.timings.total / floorMs;
    const tm = report.timings;
    say();
    say(`## ${t.name}`);
    say();
    say(
      `Measured ${new Date().toISOString().slice(0, 10)}. Image ${report.image.width}×${report.image.height}, σ = ${config.sigma}, n0 = ${config.n0}, n = ${config.n}, batch ${config.batchSize}, denoiser ${config.denoiser ? 'on' : 'off'}; engine ${floor.info.engine} ${floor.info.backend} (${floor.info.device}).`,
    );
    say();
    say('| stage | ms |');
    say('|---|---|');
    for (const k of ['noise', 'denoise', 'segment', 'count', 'stats', 'total'] as const) say(`| ${k} | ${tm[k].toFixed(1)} |`);
    say();
    const rawBest = runs.reduce((a, b) => (b.rawMs < a.rawMs ? b : a)).rawMs;
    const rawMedian = median(runs.map((r) => r.rawRatio));
    say(
      `Raw floor: ${samples + 1} passes (${floor.denMs > 0 ? 'denoiser + ' : ''}segmenter, the samples and the clean pass) of the engine's own run() (InferenceSession.run, in sessions of its own with ORT's default options) on feeds prepared before timing, at the same working sizes and batch (${report.working!.batchSize}): ${rawBest.toFixed(1)} ms (fastest of ${REPS}).`,
    );
    say(
      `**Certification total / raw floor: median of ${REPS} interleaved pairs ${rawMedian.toFixed(3)}** (pairs ${runs.map((r) => r.rawRatio.toFixed(3)).join(', ')}; fastest / fastest ${(report.timings.total / rawBest).toFixed(3)}; target ≤ 1.05: ${verdict(
        runs.map((r) => r.rawRatio),
        1.05,
      )}).`,
    );
    const onOff = runs.map((r) => r.composed.on / r.composed.off);
    say(
      `Composed ONNX graph vs JavaScript adapters (engines/compose.ts; CERTSEG_ORT_COMPOSE=1 / =0, same process and models, interleaved, alternating which runs first; the table and the ratio above are the default path, ${byDefault ? 'composed' : 'adapters'}): certification total median ${median(runs.map((r) => r.composed.on)).toFixed(0)} ms composed vs ${median(runs.map((r) => r.composed.off)).toFixed(0)} ms adapters; composed / adapters per pair ${onOff.map((x) => x.toFixed(3)).join(', ')} (median ${median(onOff).toFixed(3)}); certification / raw floor median ${median(runs.map((r) => r.rawOn)).toFixed(3)} composed, ${median(runs.map((r) => r.rawOff)).toFixed(3)} adapters. Load average (1/5/15 min) at the start and after each pair: ${loads.join('; ')} (2 shared cores).`,
    );
    const overhead = (ratio - 1) * 100;
    say(
      `Through the adapters instead (certseg's denoise()/segment(): resizing, noise scaling, normalisation, DDPM arithmetic and argmax in JavaScript; not a raw floor): ${floorMs.toFixed(1)} ms; certification / that, fastest of ${REPS} each: ${ratio.toFixed(3)} (overhead ${overhead.toFixed(1)}%). Paired runs: ${runs.map((r) => r.ratio.toFixed(3)).join(', ')} (median ${median(runs.map((r) => r.ratio)).toFixed(3)}).`,
    );
    // fresh-process memory and cold/warm: measured once per model set, with its denoiser (the heavier path)
    if (t.noDenoiser) continue;
    const m100 = peakMemory(t, 100, true);
    say(
      `Cold vs warm (fresh process): first certification ${m100.firstMs.toFixed(0)} ms (model load and the runtimes' first runs included), second in the same process ${m100.secondMs!.toFixed(0)} ms.`,
    );
    const m1000 = peakMemory(t, 1000);
    const growth = (m1000.maxRssKiB / m100.maxRssKiB - 1) * 100;
    say(
      `Peak RSS (fresh process): n = 100: ${(m100.maxRssKiB / 1024).toFixed(0)} MiB; n = 1000: ${(m1000.maxRssKiB / 1024).toFixed(0)} MiB (${growth >= 0 ? '+' : ''}${growth.toFixed(1)}%; target within 10%: ${Math.abs(growth) <= 10 ? 'met' : 'NOT met'}).`,
    );
  }
  if (only === 'overhead') {
    await disposeAll();
    writeSections(doc, lines.join('\n'));
    return;
  }
  say();
  for (const l of await sizeTable()) say(l);
  await disposeAll();
  const st = statsTiming();
  say();
  say('## Statistics on a 1024×2048 image (n = 100, 19 classes)');
  say();
  say(
    `Holm ${st.holm.toFixed(1)} ms, Bonferroni ${st.bonferroni.toFixed(1)} ms (median of 7; target < 50 ms: ${st.holm < 50 ? 'met' : 'NOT met'}); per-pixel Clopper-Pearson radius map ${st.radiusMap.toFixed(1)} ms.`,
  );
  // A full run rewrites its own sections and the preamble; sections written by other generators (e.g.
  // scripts/dataset-throughput.ts's "Dataset throughput") are kept.
  const fresh = lines.join('\n') + '\n';
  const old = existsSync(doc) ? readFileSync(doc, 'utf8') : '';
  const firstSection = old.indexOf('\n## ');
  const preamble = fresh.slice(0, fresh.indexOf('\n## ') + 1);
  writeFileSync(doc, old ? spliceSections(preamble + (firstSection >= 0 ? old.slice(firstSection + 1) : ''), fresh) : fresh);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
