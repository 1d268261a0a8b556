/**
 * Certify one image: load models and inputs, clean prediction, SegCertify (optionally denoised),
 * metrics against the mask, and (optionally) the output folder. Called by the CLI and by the worker's
 * run process alike.
 */
import { certifiedRadius } from '../core/stats';
import { noisePhases, segCertify, type SegCertifyProgress } from '../core/segcertify';
import { hostSampler, openNoiseAhead, throwIfAborted, usingNoiseAhead, type Sampler } from '../core/sampling';
import { noiseThreadWanted, prestartNoiseThread } from '../core/noiseThread';
import type { SamplingPreference } from '../../../protocol/config';
import type { Denoiser, Segmenter } from '../engines/engine';
import { readImage, readMask } from '../image/read';
import { ignoreLabelFor, resolveMaskValues } from '../image/maskValues';
import {
  baselineBytes,
  bindDenoiser,
  bindSegmenter,
  defaultBudgetMiB,
  notePlanned,
  planMemory,
  sideBytes,
  type MemoryPlan,
} from './memoryPlan';
import { describeShape, STRETCH_WARNING, type WorkingShape } from '../engines/workingShape';
import { warmUpRun } from '../engines/warmUp';
import { checkOutputDir } from './outputLocation';
import { getDenoiser, getSegmenter } from './models';
import { metricBlock } from './metricBlock';
import { writeImageOutputs } from './outputs';
import { provenance } from './provenance';
import { forSampling, newProcessingRecord } from '../engines/processing';
import { selectRegion, type Region } from './region';
import type { CertifyImageRequest, CertifyImageResult, PartialResult, RunHooks } from './types';
import type { ImageReport, Phase, WorkingShapeReport } from '../../../protocol/results';

export async function certifyImage(req: CertifyImageRequest, hooks: RunHooks = {}): Promise<CertifyImageResult> {
  const cfg = req.config;
  const tStart = performance.now();
  const progress = progressReporter(cfg.n0, cfg.n, hooks);

  if (req.outDir) await checkOutputDir(req.outDir, 'image'); // before any model is loaded
  progress('load', 0, 1, 'loading models');
  const loadedSegmenter = await getSegmenter(cfg.segmenter, cfg.engine);
  const loadedDenoiser = cfg.denoiser ? await getDenoiser(cfg.denoiser, cfg.engine, cfg.denoiseConvention) : null;
  const image = await readImage(req.imagePath, { slice: req.slice });
  const { width: W, height: H } = image;
  const classes = loadedSegmenter.card.classes ?? [];
  // mask values → classes by rule, or by the config's maskValues (image/maskValues.ts); never guessed
  const ignoreLabel = ignoreLabelFor(loadedSegmenter.card.ignoreLabel, cfg.maskValues);
  const mask = req.maskPath
    ? await readMask(req.maskPath, {
        numClasses: loadedSegmenter.numClasses,
        ignoreLabel,
        expectWidth: W,
        expectHeight: H,
        classes,
        slice: req.slice, // a volume mask: the image's plane
        maskValues: cfg.maskValues ? resolveMaskValues(cfg.maskValues, classes, loadedSegmenter.card.ignoreLabel) : undefined,
      })
    : null;
  // Robust inference by crop selection: certify the crop chosen from the content (whole frame otherwise).
  const region = selectRegion(image.data, H, W, cfg.cropSelection);
  const { height: h, width: w } = region;
  const x = region.crop(image.data, 3);
  const gt = mask ? region.crop(mask, 1) : null;
  // Memory bounded whatever the image size: samples per batch and where each model sees the image.
  const budgetMiB = cfg.memoryBudgetMiB ?? defaultBudgetMiB(loadedSegmenter.info.device);
  const baseline = baselineBytes();
  // the noise thread: as CERTSEG_NOISE_THREAD says, else where it helps the segmenter's engine
  const noiseThread = noiseThreadWanted(process.env, {
    device: loadedSegmenter.info.device,
    intraOpNumThreads: loadedSegmenter.info.session?.intraOpNumThreads,
    allowSpinning: loadedSegmenter.info.session?.allowSpinning,
  });
  const plan = planMemory({
    height: h,
    width: w,
    batchSize: cfg.batchSize,
    budgetBytes: budgetMiB * 2 ** 20,
    baselineBytes: baseline,
    numClasses: loadedSegmenter.numClasses,
    segmenter: { spec: loadedSegmenter.card.input },
    denoiser: loadedDenoiser ? { spec: loadedDenoiser.card.input } : null,
    sideBytes: sideBytes(loadedSegmenter, loadedDenoiser, h * w, { noiseThread }),
  });
  notePlanned(plan, baseline);
  const segmenter = bindSegmenter(loadedSegmenter, plan.segmenter);
  const denoiser = loadedDenoiser && bindDenoiser(loadedDenoiser, plan.denoiser!);
  warnAboutShapes(plan, h, w, hooks);
  // Fails early (config error) when σ is outside the denoiser's schedule.
  const timestep = denoiser ? denoiser.timestepFor(cfg.sigma, h, w) : null;
  throwIfAborted(hooks.signal);
  if (noiseThread) prestartNoiseThread(); // its start-up overlaps the warm-up below
  // ONNX Runtime's slow first run, paid on zeros at the sampling batch's shapes (no random stream is touched)
  const warmMs = await warmUpRun(
    { segmenter: loadedSegmenter, denoiser: loadedDenoiser },
    { segmenter, denoiser },
    h,
    w,
    plan.batchSize,
    cfg.sigma,
  );
  throwIfAborted(hooks.signal);

  const sampler = await samplerFor(segmenter, denoiser, cfg.sampling ?? 'auto');
  // the noise thread starts on the first batch while the clean prediction runs, and crosses the phase boundary
  const noiseAhead =
    noiseThread && sampler.path === 'host' ? openNoiseAhead(x, cfg.sigma, cfg.seed, plan.batchSize, noisePhases(cfg)) : null;
  const { clean, cleanMs, processing, out } = await usingNoiseAhead(noiseAhead, async () => {
    progress('clean', 0, 1, 'clean prediction');
    const tClean = performance.now();
    const clean = await segmenter.segment(x, 1, h, w);
    const cleanMs = performance.now() - tClean;

    let lastPartial = 0;
    let lastPhase = '';
    const interval = hooks.partialIntervalMs ?? 250;
    if (hooks.onPartial) {
      // a first picture before any noisy sample (the first batch takes a while): the clean prediction, provisional
      lastPartial = performance.now();
      hooks.onPartial({
        width: W,
        height: H,
        phase: 'clean',
        samplesDone: 0,
        samplesTotal: cfg.n0,
        selected: region.place(clean),
        counts: new Uint16Array(W * H),
        certifiedSoFar: null,
        thresholds: null,
      });
    }
    // the host loop runs the composed ONNX graphs where they apply (engines/compose.ts), recording which path ran
    const processing = newProcessingRecord();
    const sampled = sampler.path === 'host' ? forSampling(segmenter, denoiser, cfg.sigma, processing) : { segmenter, denoiser };
    const out = await segCertify({
      sampler,
      image: x,
      height: h,
      width: w,
      segmenter: sampled.segmenter,
      denoiser: sampled.denoiser,
      params: { ...cfg, batchSize: plan.batchSize },
      noiseThread,
      noiseAhead: noiseAhead ?? undefined,
      signal: hooks.signal,
      onProgress: (p: SegCertifyProgress) => {
        progress(p.phase, p.done, p.total, `${p.phase} ${p.done}/${p.total} samples`);
        const now = performance.now();
        const last = p.phase === 'estimation' && p.done === p.total;
        // the first noisy batch always shows (the running mode replaces the clean prediction)
        const firstSamples = p.phase === 'selection' && lastPhase !== 'selection';
        lastPhase = p.phase;
        if (hooks.onPartial && (now - lastPartial >= interval || last || firstSamples)) {
          lastPartial = now;
          hooks.onPartial(partial(p, region));
        }
      },
    });
    return { clean, cleanMs, processing, out };
  }); // closed: the thread's copy of the image is freed, and the process may exit
  progress('stats', 1, 1, 'statistics done');

  const total = performance.now() - tStart;
  const report: ImageReport = {
    reportVersion: 1,
    kind: 'certify',
    exploratory: false,
    image: { path: req.imagePath, width: W, height: H, sha256: image.sha256, ...(image.intensity ? { intensity: image.intensity } : {}) },
    mask: req.maskPath ? { path: req.maskPath } : null,
    config: cfg.configPath,
    params: {
      sigma: cfg.sigma,
      n0: cfg.n0,
      n: cfg.n,
      alpha: cfg.alpha,
      tau: cfg.tau,
      correction: cfg.correction,
      denoiser: denoiser ? { card: cfg.denoiser as string, convention: cfg.denoiseConvention, timestep } : null,
      seed: cfg.seed,
      batchSize: cfg.batchSize,
    },
    classes: classes.map((c) => ({ name: c.name, color: c.color })),
    radius: certifiedRadius(cfg.sigma, cfg.tau),
    working: {
      budgetMiB,
      estimatedPeakMiB: Math.round(plan.estimatedBytes / 2 ** 20),
      batchSize: plan.batchSize,
      limitedBy: plan.limitedBy,
      segmenter: shapeReport(plan.segmenter, h, w),
      denoiser: plan.denoiser ? shapeReport(plan.denoiser, h, w) : null,
    },
    abstainRate: 1 - out.certifiedPixels / (w * h),
    crop: region.describe(),
    minCertifiedCount: out.minCount,
    certifiedPixels: out.certifiedPixels,
    clean: gt ? metricBlock(clean, gt, segmenter.numClasses, ignoreLabel) : null,
    certified: gt ? metricBlock(out.certified, gt, segmenter.numClasses, ignoreLabel) : null,
    timings: {
      noise: round(out.timings.noise),
      denoise: round(out.timings.denoise),
      segment: round(out.timings.segment + cleanMs),
      count: round(out.timings.count),
      stats: round(out.timings.stats),
      warmUp: round(warmMs),
      ...(out.timings.noiseThread !== undefined ? { noiseThread: round(out.timings.noiseThread) } : {}),
      total: round(total),
    },
    provenance: provenance(segmenter, denoiser, out.sampling, out.noise, sampler.path === 'host' ? processing : undefined),
    files: {},
  };
  // Back into the frame: pixels outside the crop are NOT_COVERED, never filled in.
  const result: CertifyImageResult = {
    report,
    width: W,
    height: H,
    clean: region.place(clean),
    selected: region.place(out.selected),
    counts: region.place(out.counts),
    certified: region.place(out.certified),
    radiusMap: out.radiusMap ? region.place(out.radiusMap) : null,
    mask,
  };
  if (req.outDir) {
    throwIfAborted(hooks.signal);
    progress('write', 0, 1, 'writing results');
    await writeImageOutputs(req.outDir, result, image.data);
  }
  progress('write', 1, 1, 'done');
  return result;
}

function shapeReport(s: WorkingShape, h: number, w: number): WorkingShapeReport {
  return {
    width: s.width,
    height: s.height,
    how: s.how,
    inner: { ...s.inner },
    distortion: Math.round(s.distortion * 1000) / 1000,
    note: describeShape(s, h, w),
  };
}

/** Says what the memory plan and the cards' fit changed, once per run (console and the worker's log). */
function warnAboutShapes(plan: MemoryPlan, h: number, w: number, hooks: RunHooks): void {
  const say = (m: string) => hooks.onNotice?.(m);
  for (const [who, s] of [
    ['segmenter', plan.segmenter],
    ['denoiser', plan.denoiser],
  ] as const) {
    if (!s) continue;
    if (s.how === 'stretch' && s.distortion > STRETCH_WARNING)
      say(
        `warning: the ${who} stretches the image: ${describeShape(s, h, w)}; set input.fit "letterbox" in its card unless it was trained on stretched images`,
      );
    else if (s.how === 'scaled' || s.how === 'letterbox') say(`${who}: ${describeShape(s, h, w)}`);
  }
  if (plan.limitedBy !== 'nothing')
    say(
      `memory plan: ${plan.batchSize} sample${plan.batchSize > 1 ? 's' : ''} per batch, about ${Math.round(plan.estimatedBytes / 2 ** 20)} of ${Math.round(plan.budgetBytes / 2 ** 20)} MiB`,
    );
}

function partial(p: SegCertifyProgress, region: Region): PartialResult {
  // place() copies: the run keeps mutating its buffers while the consumer reads these
  const s = p.snapshot();
  return {
    width: region.frameWidth,
    height: region.frameHeight,
    phase: p.phase,
    samplesDone: p.done,
    selected: region.place(s.selected),
    counts: s.counts ? region.place(s.counts) : new Uint16Array(region.frameWidth * region.frameHeight),
    certifiedSoFar: s.certifiedSoFar ? region.place(s.certifiedSoFar) : null,
    samplesTotal: p.total,
    thresholds: s.thresholds,
  };
}

/** Maps phase progress onto one 0–100 scale: samples dominate the cost, the rest is a few percent. */
function progressReporter(n0: number, n: number, hooks: RunHooks) {
  const total = n0 + n;
  return (phase: Phase, done: number, phaseTotal: number, message: string) => {
    if (!hooks.onProgress) return;
    const frac = phaseTotal > 0 ? done / phaseTotal : 1;
    let percent: number;
    switch (phase) {
      case 'load':
        percent = 0;
        break;
      case 'clean':
        percent = 2;
        break;
      case 'selection':
        percent = 3 + 94 * ((frac * n0) / total);
        break;
      case 'estimation':
        percent = 3 + 94 * ((n0 + frac * n) / total);
        break;
      case 'stats':
        percent = 97;
        break;
      case 'write':
        percent = 98 + 2 * frac;
        break;
    }
    hooks.onProgress({ phase, done, total: phaseTotal, percent, message });
  };
}

/** The device loop when both models run on tfjs on a GPU (or config says device); tfjs is only loaded when it can apply. */
async function samplerFor(seg: Segmenter, den: Denoiser | null, pref: SamplingPreference): Promise<Sampler<Segmenter, Denoiser>> {
  if (pref === 'host' || (pref === 'auto' && (seg.info.engine !== 'tfjs' || seg.info.device !== 'gpu'))) return hostSampler;
  return (await import('../engines/deviceSampler')).chooseSampler(seg, den, pref);
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
