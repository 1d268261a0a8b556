/**
 * Mask values map to classes by rule, never by a guess (issue 11 §3): class ids as is; 0/255 on a binary
 * card → 0/1; anything else an error naming the values found and the classes expected, which the config's
 * `maskValues` resolves. Real cards (models/default: 4 classes, models/polyp: binary), real PNG files, and
 * one real certification with the default models.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { CertsegError } from '../../server/src/core/errors';
import { readMask } from '../../server/src/image/read';
import { ignoreLabelFor, resolveMaskValues } from '../../server/src/image/maskValues';
import { loadConfig, resolveConfig } from '../../server/src/config/config';
import { analyzeConfig } from '../../server/src/config/diagnostics';
import { certifyImage } from '../../server/src/pipeline/certifyImage';
import { disposeModels } from '../../server/src/pipeline/models';
import type { ClassSpec } from '../../server/src/models/card';
import { tempDir, KVASIR, SKIP_KVASIR } from './helpers';

const root = path.resolve(__dirname, '../..');
const card = (rel: string) => JSON.parse(readFileSync(path.join(root, rel), 'utf8')) as { classes: ClassSpec[]; ignoreLabel?: number };
const SHAPES = card('models/default/segmenter.card.json').classes; // background, disc, square, triangle
const POLYP = card('models/polyp/segmenter.card.json').classes; // background, polyp

const W = 8;
const H = 4;
const png1 = (values: number[] | Uint8Array) =>
  sharp(Buffer.from(values), { raw: { width: W, height: H, channels: 1 } })
    .png()
    .toBuffer();
const binary = new Uint8Array(W * H).map((_, i) => (i % 3 === 0 ? 1 : 0));

async function rejects(p: Promise<unknown>, code: string, re: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CertsegError && e.code === code, String(e));
    assert.match(e.message, re);
    return true;
  });
}

test("rule 1: a mask holding exactly the card's class ids is used as is", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const ids = new Uint8Array(W * H).map((_, i) => i % 4);
    const p = path.join(dir, 'ids.png');
    writeFileSync(p, await png1(ids));
    assert.deepEqual(await readMask(p, { numClasses: 4, classes: SHAPES }), ids);
    // a subset of the ids too (a mask with only background and disc)
    writeFileSync(p, await png1(binary));
    assert.deepEqual(await readMask(p, { numClasses: 4, classes: SHAPES }), binary);
  } finally {
    cleanup();
  }
});

test(
  'rule 2: a 0/255 binary mask on a binary card maps 255 to 1 (a real Kvasir-SEG mask on the polyp card)',
  { skip: SKIP_KVASIR },
  async () => {
    const file = path.join(KVASIR, 'masks', 'cju0qkwl35piu0993l0dewei2.png');
    const raw = await sharp(file).extractChannel(0).raw().toBuffer();
    assert.deepEqual(
      [...new Set(raw)].sort((a, b) => a - b),
      [0, 255],
      'the Kvasir mask is 0/255',
    );
    const mask = await readMask(file, { numClasses: 2, classes: POLYP });
    assert.deepEqual(
      mask,
      new Uint8Array(raw.length).map((_, i) => (raw[i] === 255 ? 1 : 0)),
    );
  },
);

test('rule 3: a 0/255 mask on a 4-class card is an error naming the values, the classes and maskValues (was: silently class 3)', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const p = path.join(dir, 'IMD002_lesion.png');
    writeFileSync(p, await png1(binary.map((v) => v * 255)));
    await rejects(
      readMask(p, { numClasses: 4, classes: SHAPES }),
      'input',
      /^mask IMD002_lesion\.png has values 0, 255 but the segmenter's classes are 0 background, 1 disc, 2 square, 3 triangle: a mask holds these class ids; say what the values mean with "maskValues" in the config, e\.g\. "maskValues": \{"0": "background", "255": "disc"\}$/,
    );
    // evenly spaced grey levels on a 3-class card: no guess either
    writeFileSync(p, await png1(new Uint8Array(W * H).map((_, i) => [0, 128, 255][i % 3])));
    await rejects(readMask(p, { numClasses: 3 }), 'input', /has values 0, 128, 255 but the segmenter's classes are 0\.\.2/);
  } finally {
    cleanup();
  }
});

test('maskValues: grey levels and colours by class name or id, "ignore", and every value must be listed', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const p = path.join(dir, 'm.png');
    writeFileSync(p, await png1(binary.map((v) => v * 255)));
    const byName = resolveMaskValues({ '0': 'background', '255': 'triangle' }, SHAPES);
    assert.deepEqual(
      await readMask(p, { numClasses: 4, classes: SHAPES, maskValues: byName }),
      binary.map((v) => v * 3),
    );
    const byId = resolveMaskValues({ '0': 0, '255': 1 }, SHAPES);
    assert.deepEqual(await readMask(p, { numClasses: 4, classes: SHAPES, maskValues: byId }), binary);
    // a map overrides the binary rule too: 255 means "ignore" here
    const ignoring = resolveMaskValues({ '0': 'background', '255': 'ignore' }, POLYP);
    assert.equal(ignoring.ignoreLabel, 255);
    assert.equal(ignoreLabelFor(undefined, { '0': 'background', '255': 'ignore' }), 255);
    assert.equal(ignoreLabelFor(undefined, { '0': 'background', '255': 'polyp' }), undefined);
    assert.equal(ignoreLabelFor(7, { '0': 'background' }), 7);
    assert.deepEqual(
      await readMask(p, { numClasses: 2, classes: POLYP, maskValues: ignoring }),
      binary.map((v) => v * 255),
    );
    // a value the map does not list
    writeFileSync(p, await png1(new Uint8Array(W * H).map((_, i) => [0, 128, 255][i % 3])));
    await rejects(
      readMask(p, { numClasses: 4, classes: SHAPES, maskValues: byName }),
      'input',
      /^mask m\.png has grey values 128 that "maskValues" does not list \(it lists 0, 255\)$/,
    );
    // colour masks by "#rrggbb"
    const rgb = Buffer.alloc(W * H * 3);
    for (let i = 0; i < W * H; i++) rgb.set(binary[i] ? [200, 30, 40] : [10, 10, 10], 3 * i);
    writeFileSync(
      p,
      await sharp(rgb, { raw: { width: W, height: H, channels: 3 } })
        .png()
        .toBuffer(),
    );
    const colours = resolveMaskValues({ '#0a0a0a': 'background', '#C81E28': 'square' }, SHAPES);
    assert.deepEqual(
      await readMask(p, { numClasses: 4, classes: SHAPES, maskValues: colours }),
      binary.map((v) => v * 2),
    );
    await rejects(
      readMask(p, { numClasses: 4, classes: SHAPES, maskValues: byName }),
      'input',
      /has colours #0a0a0a, #c81e28 that "maskValues" does not list|has colours #c81e28, #0a0a0a that "maskValues" does not list/,
    );
  } finally {
    cleanup();
  }
});

test('maskValues: names that are no class, ids out of range and malformed keys are config errors naming the key', () => {
  const fails = (f: () => unknown, re: RegExp) =>
    assert.throws(f, (e: Error) => e instanceof CertsegError && e.code === 'config' && re.test(e.message));
  fails(
    () => resolveMaskValues({ '255': 'lesion' }, POLYP),
    /^maskValues "255": "lesion" is not a class of the segmenter \(background, polyp\) nor "ignore"$/,
  );
  fails(
    () => resolveMaskValues({ '255': 2 }, POLYP),
    /^maskValues "255": 2 is not a class id of the segmenter \(0\.\.1: background, polyp\)$/,
  );
  fails(() => resolveMaskValues({ red: 1 }, POLYP), /^maskValues key "red" must be a grey level/);
  fails(() => resolveMaskValues({}, POLYP), /maskValues is empty/);
  // the config schema: accepted, and bad keys or values rejected with the config's one line
  assert.deepEqual(resolveConfig({ maskValues: { '0': 'background', '255': 1, '#ff0000': 'ignore' } }, null).maskValues, {
    '0': 'background',
    '255': 1,
    '#ff0000': 'ignore',
  });
  assert.throws(
    () => resolveConfig({ maskValues: { red: 1 } }, null),
    (e: Error) => e instanceof CertsegError && e.code === 'config' && /maskValues/.test(e.message),
  );
  assert.throws(
    () => resolveConfig({ maskValues: { '1': 300 } }, null),
    (e: Error) => e instanceof CertsegError && e.code === 'config',
  );
});

test("the editor: a maskValues entry naming no class of the config's segmenter is a diagnostic at its key", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cfgPath = path.join(dir, 'x.certseg.json');
    const text = JSON.stringify({
      segmenter: path.join(root, 'models/polyp/segmenter.card.json'),
      denoiser: null,
      maskValues: { '0': 'background', '255': 'lesion' },
    });
    const { diagnostics } = await analyzeConfig(text, cfgPath);
    const d = diagnostics.filter((x) => x.path[0] === 'maskValues');
    assert.deepEqual(
      d.map((x) => [x.path, x.severity]),
      [[['maskValues', '255'], 'error']],
    );
    assert.match(d[0].message, /"lesion" is not a class of the segmenter \(background, polyp\)/);
  } finally {
    cleanup();
  }
});

test('certify: a 0/255 mask on the 4-class default model fails before sampling; with maskValues it runs, "ignore" pixels count for no metric', async (t) => {
  t.after(disposeModels);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const sample = path.join(root, 'models/default/sample.png');
  const { width, height } = await sharp(sample).metadata();
  // the shipped sample mask holds class ids; make a 0/255 "disc or not" mask from it
  const ids = await sharp(path.join(root, 'models/default/sample-mask.png')).extractChannel(0).raw().toBuffer();
  const mask = path.join(dir, 'sample_mask.png');
  await sharp(Buffer.from(ids.map((v) => (v === 1 ? 255 : 0))), { raw: { width: width!, height: height!, channels: 1 } })
    .png()
    .toFile(mask);
  const base = { denoiser: null, n0: 4, n: 60, alpha: 0.01, seed: 3, radiusMap: false } as const;

  let sampled = false;
  await rejects(
    certifyImage(
      { imagePath: sample, maskPath: mask, config: await loadConfig(null, base) },
      { onProgress: (p) => (sampled ||= p.phase === 'selection' || p.phase === 'estimation') },
    ),
    'input',
    /^mask sample_mask\.png has values 0, 255 but the segmenter's classes are 0 background, 1 disc, 2 square, 3 triangle/,
  );
  assert.equal(sampled, false, 'the mask is checked before any sample is drawn');

  const disc = await certifyImage({
    imagePath: sample,
    maskPath: mask,
    config: await loadConfig(null, { ...base, maskValues: { '0': 'background', '255': 'disc' } }),
  });
  assert.deepEqual([...new Set(disc.mask!)].sort(), [0, 1]);
  assert.ok(disc.report.clean!.dice[1] !== null, 'disc Dice is defined');
  assert.equal(disc.report.clean!.dice[2], null, 'no square in this ground truth: its Dice is undefined, not 0');

  // 255 = "ignore": only the background pixels are scored
  const ign = await certifyImage({
    imagePath: sample,
    maskPath: mask,
    config: await loadConfig(null, { ...base, maskValues: { '0': 'background', '255': 'ignore' } }),
  });
  const scored = ign.mask!.filter((v) => v === 0).length;
  const correct = ign.clean.reduce((a, p, i) => a + (ign.mask![i] === 0 && p === 0 ? 1 : 0), 0);
  assert.ok(scored > 0 && scored < ign.mask!.length);
  assert.equal(ign.report.clean!.pixelAccuracy, correct / scored);
  assert.deepEqual(ign.report.clean!.dice.slice(1), [null, null, null], 'only background is in the scored ground truth');
});
