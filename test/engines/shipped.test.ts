/**
 * The shipped models (models/default/*.card.json, trained in this repository): each loads through every
 * engine it has a file for and does its job on the sample image. Skips while no cards exist yet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { loadDenoiser, loadSegmenter } from '../../server/src/engines/load';
import { loadCard } from '../../server/src/models/loadCard';
import { seededUniform } from './helpers';

const DEFAULT = path.resolve(__dirname, '../../models/default');
const cards = existsSync(DEFAULT)
  ? readdirSync(DEFAULT)
      .filter((f) => f.endsWith('.card.json'))
      .map((f) => path.join(DEFAULT, f))
  : [];
const noCards = cards.length === 0 ? 'skipped: no models/default/*.card.json yet' : false;

async function sample(): Promise<{ data: Float32Array; h: number; w: number }> {
  const { data, info } = await sharp(path.join(DEFAULT, 'sample.png')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const { width: w, height: h } = info;
  const out = new Float32Array(3 * h * w);
  for (let i = 0; i < h * w; i++) for (let c = 0; c < 3; c++) out[c * h * w + i] = data[i * 3 + c] / 255;
  return { data: out, h, w };
}

test('shipped models load through each of their engines and work on the sample image', { skip: noCards }, async () => {
  const img = await sample();
  for (const cardPath of cards) {
    const card = await loadCard(cardPath);
    const results: Uint8Array[] = [];
    for (const engine of Object.keys(card.files) as ('onnx' | 'tfjs')[]) {
      const name = `${path.basename(cardPath)} via ${engine}`;
      if (card.role === 'segmenter') {
        const seg = await loadSegmenter(cardPath, { engine });
        const t0 = performance.now();
        const labels = await seg.segment(img.data, 1, img.h, img.w);
        const ms = performance.now() - t0;
        const counts = new Array(seg.numClasses).fill(0);
        for (const l of labels) counts[l]++;
        console.log(`# ${name} (${seg.info.backend}): ${img.w}×${img.h} in ${ms.toFixed(0)} ms, class counts ${counts.join('/')}`);
        assert.ok(labels.every((l) => l < seg.numClasses));
        assert.ok(counts.filter((c) => c > 0).length >= 2, `${name}: predicts a single class everywhere`);
        results.push(labels);
        await seg.dispose();
      } else {
        const den = await loadDenoiser(cardPath, { engine });
        const sigma = 0.25;
        const u1 = seededUniform(img.data.length, 9),
          u2 = seededUniform(img.data.length, 10);
        const noisy = img.data.map((v, i) => v + sigma * Math.sqrt(-2 * Math.log(u1[i] + 1e-12)) * Math.cos(2 * Math.PI * u2[i])); // Box–Muller
        const t0 = performance.now();
        const out = await den.denoise(noisy, 1, img.h, img.w, sigma);
        const ms = performance.now() - t0;
        const mse = (a: Float32Array) => a.reduce((s, v, i) => s + (v - img.data[i]) ** 2, 0) / a.length;
        const psnr = (a: Float32Array) => -10 * Math.log10(mse(a));
        console.log(
          `# ${name} (${den.info.backend}): t* = ${den.timestepFor(sigma, img.h, img.w)}, PSNR ${psnr(noisy).toFixed(1)} → ${psnr(out).toFixed(1)} dB, ${ms.toFixed(0)} ms`,
        );
        assert.ok(psnr(out) > psnr(noisy) + 3, `${name}: denoising does not help`);
        await den.dispose();
      }
    }
    if (results.length === 2) {
      let agree = 0;
      for (let i = 0; i < results[0].length; i++) if (results[0][i] === results[1][i]) agree++;
      assert.ok(agree / results[0].length >= 0.999, `${path.basename(cardPath)}: engines disagree on ${results[0].length - agree} pixels`);
    }
  }
});
