/**
 * Certify one image: load models and inputs, clean prediction, SegCertify (optionally denoised),
 * metrics against the mask, and (optionally) the output folder. Called by the CLI and by the worker's
 * run thread alike.
 */
import { certifiedRadius } from '../core/stats';
import { segCertify, type SegCertifyProgress } from '../core/segcertify';
import { throwIfAborted } from '../core/sampling';
import { readImage, readMask } from '../image/read';
import { getDenoiser, getSegmenter } from './models';
import { metricBlock } from './metricBlock';
import { writeImageOutputs } from './outputs';
import { provenance } from './provenance';
import type { CertifyImageRequest, CertifyImageResult, ImageReport, PartialResult, Phase, RunHooks } from './types';

export async function certifyImage(req: CertifyImageRequest, hooks: RunHooks = {}): Promise<CertifyImageResult> {
  const cfg = req.config;
  const tStart = performance.now();
  const progress = progressReporter(cfg.n0, cfg.n, hooks);

  progress('load', 0, 1, 'loading models');
  const segmenter = await getSegmenter(cfg.segmenter, cfg.engine);
  const denoiser = cfg.denoiser ? await getDenoiser(cfg.denoiser, cfg.engine, cfg.denoiseConvention) : null;
  const image = await readImage(req.imagePath);
  const { width: w, height: h } = image;
  const classes = segmenter.card.classes ?? [];
  const mask = req.maskPath
    ? await readMask(req.maskPath, {
        numClasses: segmenter.numClasses,
        ignoreLabel: segmenter.card.ignoreLabel,
        expectWidth: w,
        expectHeight: h,
        classes,
      })
    : null;
  // Fails early (config error) when σ is outside the denoiser's schedule.
  const timestep = denoiser ? denoiser.timestepFor(cfg.sigma, h, w) : null;
  throwIfAborted(hooks.signal);

  progress('clean', 0, 1, 'clean prediction');
  const tClean = performance.now();
  const clean = await segmenter.segment(image.data, 1, h, w);
  const cleanMs = performance.now() - tClean;

  let lastPartial = 0;
  const interval = hooks.partialIntervalMs ?? 250;
  const out = await segCertify({
    image: image.data,
    height: h,
    width: w,
    segmenter,
    denoiser,
    params: cfg,
    signal: hooks.signal,
    onProgress: (p: SegCertifyProgress) => {
      progress(p.phase, p.done, p.total, `${p.phase} ${p.done}/${p.total} samples`);
      const now = performance.now();
      const last = p.phase === 'estimation' && p.done === p.total;
      if (hooks.onPartial && (now - lastPartial >= interval || last)) {
        lastPartial = now;
        hooks.onPartial(partial(p, w, h));
      }
    },
  });
  progress('stats', 1, 1, 'statistics done');

  const total = performance.now() - tStart;
  const report: ImageReport = {
    reportVersion: 1,
    kind: 'certify',
    exploratory: false,
    image: { path: req.imagePath, width: w, height: h, sha256: image.sha256 },
    mask: req.maskPath ? { path: req.maskPath } : null,
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
    abstainRate: 1 - out.certifiedPixels / (w * h),
    minCertifiedCount: out.minCount,
    certifiedPixels: out.certifiedPixels,
    clean: mask ? metricBlock(clean, mask, segmenter.numClasses, segmenter.card.ignoreLabel) : null,
    certified: mask ? metricBlock(out.certified, mask, segmenter.numClasses, segmenter.card.ignoreLabel) : null,
    timings: {
      noise: round(out.timings.noise),
      denoise: round(out.timings.denoise),
      segment: round(out.timings.segment + cleanMs),
      count: round(out.timings.count),
      stats: round(out.timings.stats),
      total: round(total),
    },
    provenance: provenance(segmenter, denoiser),
    files: {},
  };
  const result: CertifyImageResult = {
    report,
    width: w,
    height: h,
    clean,
    selected: out.selected,
    counts: out.counts,
    certified: out.certified,
    radiusMap: out.radiusMap,
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

function partial(p: SegCertifyProgress, width: number, height: number): PartialResult {
  return {
    width,
    height,
    phase: p.phase,
    samplesDone: p.done,
    // copies: the run keeps mutating its buffers while the consumer reads these
    selected: p.selected.slice(),
    counts: p.counts ? p.counts.slice() : new Uint16Array(width * height),
    certifiedSoFar: p.certifiedSoFar ? p.certifiedSoFar.slice() : null,
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
      case 'load': percent = 0; break;
      case 'clean': percent = 2; break;
      case 'selection': percent = 3 + 94 * ((frac * n0) / total); break;
      case 'estimation': percent = 3 + 94 * ((n0 + frac * n) / total); break;
      case 'stats': percent = 97; break;
      case 'write': percent = 98 + 2 * frac; break;
    }
    hooks.onProgress({ phase, done, total: phaseTotal, percent, message });
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

