/**
 * The shipped medical domains (models/polyp, models/ph2, models/cxr): each config certifies a real test-split
 * image of its own dataset, with its denoiser, and the clean prediction of its segmenter agrees with the
 * radiologist's / dermatologist's mask. PH2 frames are 256×192 (not square: the 128×128 denoiser letterboxes
 * them); the chest X-rays are grey PNGs and their segmenter takes one channel.
 * Needs ../shared/datasets; skips with a message when it is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../../server/src/config/config';
import { certifyImage } from '../../server/src/pipeline/certifyImage';
import { disposeModels } from '../../server/src/pipeline/models';
import { ABSTAIN } from '../../server/src/core/labels';

const ROOT = path.resolve(__dirname, '..', '..');
const DATASETS = path.resolve(ROOT, '..', 'shared', 'datasets');

const DOMAINS = [
  { key: 'polyp', folder: 'kvasir-seg-256', ext: 'jpg', size: [256, 256], channels: 3, minDice: 0.5 },
  { key: 'ph2', folder: 'ph2-256', ext: 'jpg', size: [256, 192], channels: 3, minDice: 0.7 },
  { key: 'cxr', folder: 'cxr-lungs-256', ext: 'png', size: [256, 256], channels: 1, minDice: 0.7 },
] as const;

for (const d of DOMAINS) {
  const dataset = path.join(DATASETS, d.folder);
  const configPath = path.join(ROOT, 'models', d.key, `${d.key}.certseg.json`);
  const skip = !existsSync(dataset) ? `${dataset} is absent (the shared datasets)` : !existsSync(configPath) ? `${configPath} is missing` : false;

  test(`models/${d.key}: its config certifies a real ${d.folder} test image with its denoiser`, { skip }, async () => {
    // the first image of the fixed test split (never trained or tuned on)
    const id = readFileSync(path.join(dataset, 'splits', 'test.txt'), 'utf8').split(/\s+/).filter(Boolean)[0]!;
    const config = await loadConfig(configPath, { n0: 10, n: 64, sigma: 0.25, seed: 3 });
    assert.ok(config.denoiser, 'the shipped config uses the diffusion denoiser');
    const segCard = JSON.parse(readFileSync(path.join(ROOT, 'models', d.key, 'segmenter.card.json'), 'utf8')) as { input: { channels: number } };
    assert.equal(segCard.input.channels, d.channels);
    try {
      const r = await certifyImage({
        imagePath: path.join(dataset, 'images', `${id}.${d.ext}`),
        maskPath: path.join(dataset, 'masks', `${id}.png`),
        config,
      });
      assert.deepEqual([r.width, r.height], d.size);
      assert.equal(r.certified.length, d.size[0] * d.size[1]);
      // the segmenter does its job on the clean image (the model card's val/test Dice is the average)
      const cleanDice = r.report.clean?.meanDice ?? null;
      assert.ok(cleanDice !== null && cleanDice >= d.minDice, `clean foreground Dice ${cleanDice} ≥ ${d.minDice}`);
      // the denoiser ran at its t* for σ/2 (the 128×128 card halves the noise)
      assert.ok(Number.isInteger(r.report.params.denoiser?.timestep), `t* reported: ${JSON.stringify(r.report.params.denoiser)}`);
      if (d.key === 'ph2') assert.equal(r.report.working?.denoiser?.how, 'letterbox', 'a 256×192 frame is letterboxed into 128×128');
      // certified pixels are the selected class, abstentions are marked, and some foreground is certified
      let fg = 0;
      for (let i = 0; i < r.certified.length; i++) {
        const c = r.certified[i]!;
        if (c === ABSTAIN) continue;
        assert.equal(c, r.selected[i]);
        if (c === 1) fg++;
      }
      assert.ok(fg > 0.02 * r.certified.length, `certified foreground pixels: ${fg}`);
      assert.ok((r.report.certified?.meanDice ?? 0) > 0.3, `certified Dice ${r.report.certified?.meanDice}`);
    } finally {
      await disposeModels();
    }
  });
}
