/**
 * `certseg card check`: a model card checked against its model, on its own. Validates the card (schema and
 * consistency: loadCard), loads the model with each engine the card has a file for, matches the card's
 * tensors to the model's (names, layout, fixed sizes: the engine adapter's own checks), and runs one clean
 * pass through the same adapter a certification uses. Reports the model's tensors, what was fed and what
 * came back, the output class histogram (segmenters) or the denoising gain (denoisers), and the time per
 * forward pass. The editor shows the same check as diagnostics and hovers on *.card.json (worker/cardDocs.ts).
 */
import * as path from 'node:path';
import { CertsegError } from '../core/errors';
import { fillGaussian } from '../core/rng';
import { makeDenoiser, makeSegmenter } from '../engines/adapt';
import type { EngineInfo, EngineName } from '../../../protocol/results';
import type { ModelRunner, TensorMeta } from '../engines/runner';
import { readImage } from '../image/read';
import type { ResolvedCard } from './card';
import { describeShape, STRETCH_WARNING, workingPixels, workingShape } from '../engines/workingShape';
import { displayPath, loadCard, loadCardText } from './loadCard';

export interface CardCheckOptions {
  /** an image for the clean pass; default: a generated test pattern at the card's size (or 256×256) */
  image?: string | null;
  /** only this engine; default: every engine the card has a file for */
  engine?: EngineName | 'auto';
  /** denoisers: the noise level of the test pass (default: the card's σ for direct denoisers, else 0.25) */
  sigma?: number;
  /** timed passes after one warm-up (default 3) */
  reps?: number;
  /** the card's text, when it differs from the file (an editor's unsaved buffer) */
  text?: string;
}

export interface EngineCheck {
  engine: EngineName;
  info: EngineInfo;
  file: string;
  /** every input and output the model declares (null dims are dynamic) */
  inputs: TensorMeta[];
  outputs: TensorMeta[];
  /** the tensors of the clean pass: what was fed and what came back */
  fed: { name: string; dims: number[] }[];
  returned: { name: string; dims: number[] };
  /** median of the timed passes, one image per pass, milliseconds */
  msPerPass: number;
  /**
   * Peak memory growth of these passes per working pixel (bytes): the memory plan's input.bytesPerPixel.
   * Measured on the first engine only (a process's peak RSS never goes down again).
   */
  bytesPerPixel?: number;
  /** segmenters: pixels per class of the clean pass */
  histogram?: { id: number; name: string; pixels: number; fraction: number }[];
  /** segmenters: the labels, for comparing engines */
  labels?: Uint8Array;
  /** denoisers: PSNR (dB) against the clean image, of the noisy input and of the denoised output */
  denoise?: { sigma: number; timestep: number | null; psnrNoisy: number; psnrDenoised: number };
  warnings: string[];
}

export interface CardCheckResult {
  card: string;
  name: string;
  role: 'segmenter' | 'denoiser';
  image: { source: string; width: number; height: number };
  engines: EngineCheck[];
  /** segmenters with two engines: the fraction of pixels with the same label */
  agreement?: number;
}

/** A smooth colour pattern in [0,1] (NCHW), for a clean pass when no image is given. */
function testPattern(h: number, w: number): Float32Array {
  const x = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const r = Math.hypot(i - h / 2, j - w / 2) / Math.max(h, w);
        x[c * h * w + i * w + j] = 0.5 + 0.35 * Math.sin(6 * r + c) * (r < 0.3 ? 1 : 0.5);
      }
    }
  }
  return x;
}

/** A runner that records the dims of its last call (the adapter decides the feeds). */
function recording(runner: ModelRunner): { runner: ModelRunner; last: () => { fed: { name: string; dims: number[] }[]; returned: { name: string; dims: number[] } } | null } {
  let last: ReturnType<ReturnType<typeof recording>['last']> = null;
  const rec: ModelRunner = {
    info: runner.info,
    inputs: runner.inputs,
    outputs: runner.outputs,
    async run(feeds, output) {
      const out = await runner.run(feeds, output);
      last = { fed: Object.entries(feeds).map(([name, f]) => ({ name, dims: [...f.dims] })), returned: { name: output, dims: [...out.dims] } };
      return out;
    },
    dispose: () => runner.dispose(),
  };
  return { runner: rec, last: () => last };
}

async function loadRunner(card: ResolvedCard, engine: EngineName): Promise<ModelRunner> {
  const shown = displayPath(card.cardPath);
  const file = card.files[engine]!;
  if (engine === 'onnx') return (await import('../engines/onnx')).loadOnnxRunner(file, shown);
  return (await import('../engines/tfjs')).loadTfjsRunner(file, shown, card.format);
}

async function timed(f: () => Promise<unknown>, reps: number): Promise<number> {
  await f(); // warm-up: first calls compile kernels / allocate
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)];
}

function psnr(a: Float32Array, b: Float32Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (Math.min(1, Math.max(0, a[i])) - b[i]) ** 2;
  return 10 * Math.log10(1 / Math.max(se / a.length, 1e-12));
}

export async function checkCard(cardPath: string, opts: CardCheckOptions = {}): Promise<CardCheckResult> {
  const card = opts.text !== undefined ? await loadCardText(opts.text, cardPath) : await loadCard(cardPath);
  const shown = displayPath(card.cardPath);
  let x: Float32Array, h: number, w: number, source: string;
  if (opts.image) {
    const img = await readImage(opts.image);
    [x, h, w, source] = [img.data, img.height, img.width, displayPath(path.resolve(opts.image))];
  } else {
    [h, w] = [card.input.height ?? 256, card.input.width ?? 256];
    [x, source] = [testPattern(h, w), 'a generated test pattern (give --image for a meaningful histogram)'];
  }
  let engines = Object.keys(card.files) as EngineName[];
  if (opts.engine && opts.engine !== 'auto') {
    if (!card.files[opts.engine]) throw new CertsegError(`${shown}: the card has no ${opts.engine} file`, 'model');
    engines = [opts.engine];
  }
  const reps = opts.reps ?? 3;
  const result: CardCheckResult = { card: shown, name: card.name, role: card.role, image: { source, width: w, height: h }, engines: [] };
  for (const engine of engines) {
    const base = await loadRunner(card, engine);
    const { runner, last } = recording(base);
    const rssBefore = process.memoryUsage().rss;
    try {
      const check: Omit<EngineCheck, 'fed' | 'returned' | 'msPerPass'> = { engine, info: base.info, file: displayPath(card.files[engine]!), inputs: base.inputs, outputs: base.outputs, warnings: [] };
      let pass: () => Promise<unknown>;
      let passOf: (b: number, xs: Float32Array) => Promise<unknown>;
      if (card.role === 'segmenter') {
        const seg = makeSegmenter(runner, card); // the adapter's tensor checks: names, layout, fixed sizes
        const labels = await seg.segment(x, 1, h, w);
        const names = (card.classes ?? []).map((c) => c.name);
        const counts = new Array<number>(names.length).fill(0);
        for (const l of labels) counts[l]++;
        check.labels = labels;
        check.histogram = counts.map((pixels, id) => ({ id, name: names[id], pixels, fraction: pixels / labels.length }));
        const top = check.histogram.reduce((a, b) => (b.pixels > a.pixels ? b : a));
        if (opts.image && top.fraction === 1) {
          check.warnings.push(`every pixel is "${top.name}": check input.range, mean/std, layout and output.kind against how the model was trained`);
        }
        pass = () => seg.segment(x, 1, h, w);
        passOf = (b, xs) => seg.segment(xs, b, h, w);
      } else {
        const den = makeDenoiser(runner, card);
        const sigma = opts.sigma ?? card.denoiser?.sigma ?? 0.25;
        const noise = new Float32Array(x.length);
        fillGaussian(noise, sigma, 0, 0);
        const noisy = x.map((v, i) => v + noise[i]);
        const out = await den.denoise(noisy, 1, h, w, sigma);
        const d = { sigma, timestep: den.timestepFor(sigma, h, w), psnrNoisy: psnr(noisy, x), psnrDenoised: psnr(out, x) };
        check.denoise = d;
        if (d.psnrDenoised <= d.psnrNoisy) {
          check.warnings.push(`the denoised image (PSNR ${d.psnrDenoised.toFixed(1)} dB) is no closer to the clean one than the noisy input (${d.psnrNoisy.toFixed(1)} dB): check input.range, the schedule and the timestep`);
        }
        pass = () => den.denoise(noisy, 1, h, w, sigma);
        passOf = (b, xs) => den.denoise(xs, b, h, w, sigma);
      }
      const msPerPass = await timed(pass, reps);
      const seen = last()!;
      const bytesPerPixel = result.engines.length === 0 ? await perPixelMemory(card, h, w, x, passOf!, rssBefore) : undefined;
      if (bytesPerPixel !== undefined && card.input.bytesPerPixel !== undefined && card.input.bytesPerPixel < bytesPerPixel) {
        check.warnings.push(`input.bytesPerPixel is ${card.input.bytesPerPixel}, but one pass took about ${bytesPerPixel} bytes per working pixel: the memory plan would under-estimate; set it to ${Math.ceil(bytesPerPixel * 1.1)}`);
      }
      const ws = workingShape(card.input, h, w);
      if (ws.how === 'stretch' && ws.distortion > STRETCH_WARNING) check.warnings.push(`the image is stretched into the model's input: ${describeShape(ws, h, w)}; input.fit "letterbox" keeps the aspect ratio`);
      result.engines.push({ ...check, fed: seen.fed, returned: seen.returned, msPerPass, ...(bytesPerPixel !== undefined ? { bytesPerPixel } : {}) });
    } finally {
      await base.dispose();
    }
  }
  const [a, b] = result.engines;
  if (a?.labels && b?.labels) {
    let same = 0;
    for (let i = 0; i < a.labels.length; i++) if (a.labels[i] === b.labels[i]) same++;
    result.agreement = same / a.labels.length;
  }
  return result;
}

/**
 * Peak RSS growth per working pixel per batched image. One pass has a fixed part (the runtime's first
 * allocations) that would dominate at small sizes, so where the batch is free the slope between one image
 * and three is taken; a fixed batch gives the single pass's growth, an upper bound.
 */
async function perPixelMemory(card: ResolvedCard, h: number, w: number, x: Float32Array, passOf: (b: number, xs: Float32Array) => Promise<unknown>, rssBefore: number): Promise<number | undefined> {
  const px = workingPixels(workingShape(card.input, h, w));
  const peak = () => process.resourceUsage().maxRSS * 1024;
  const one = peak();
  if (card.input.batch != null) return one > rssBefore ? Math.round((one - rssBefore) / px) : undefined;
  const three = new Float32Array(3 * x.length);
  for (let k = 0; k < 3; k++) three.set(x, k * x.length);
  await passOf(3, three);
  const grown = peak() - one;
  return grown > 0 ? Math.round(grown / (2 * px)) : undefined;
}

const dims = (d: (number | null)[] | null) => (d ? `[${d.map((v) => v ?? '?').join(',')}]` : '(shape not declared)');

/** The check as the CLI prints it. */
export function formatCardCheck(r: CardCheckResult): string {
  const lines = [`${r.card}: ${r.role} "${r.name}" — the card is valid and matches its model`, `clean pass on ${r.image.source} (${r.image.width}×${r.image.height})`];
  for (const e of r.engines) {
    const where = e.info.backend === e.info.device ? e.info.backend : `${e.info.backend} on ${e.info.device}`;
    lines.push('', `${e.engine} (${where}, ${e.engine === 'onnx' ? 'onnxruntime' : 'tfjs'} ${e.info.version}): ${e.file}`);
    for (const t of e.inputs) lines.push(`  model input   ${t.name} ${t.dtype ?? ''} ${dims(t.dims)}`.replace('  [', ' ['));
    for (const t of e.outputs) lines.push(`  model output  ${t.name} ${t.dtype ?? ''} ${dims(t.dims)}`.replace('  [', ' ['));
    lines.push(`  fed ${e.fed.map((f) => `${f.name} ${dims(f.dims)}`).join(', ')} → ${e.returned.name} ${dims(e.returned.dims)}`);
    if (e.histogram) {
      lines.push(`  output classes: ${e.histogram.map((c) => `${c.id} ${c.name} ${(100 * c.fraction).toFixed(1)}% (${c.pixels} px)`).join(', ')}`);
    }
    if (e.denoise) {
      const d = e.denoise;
      lines.push(`  denoising at σ = ${d.sigma}${d.timestep !== null ? ` (t* = ${d.timestep})` : ''}: PSNR ${d.psnrNoisy.toFixed(1)} dB noisy → ${d.psnrDenoised.toFixed(1)} dB denoised`);
    }
    lines.push(`  time per forward pass: ${e.msPerPass.toFixed(1)} ms (median, one image)`);
    if (e.bytesPerPixel !== undefined) lines.push(`  memory: about ${e.bytesPerPixel} bytes per working pixel per image (peak growth of these passes; the card's input.bytesPerPixel is the memory plan's estimate, default 2048)`);
    for (const w of e.warnings) lines.push(`  warning: ${w}`);
  }
  if (r.agreement !== undefined) lines.push('', `engines agree on ${(100 * r.agreement).toFixed(2)}% of pixels`);
  return lines.join('\n');
}
