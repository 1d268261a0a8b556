/**
 * One metric definition everywhere: a real dataset run (the CLI on the shipped sample, three images, one of
 * whose masks lacks a class), then every "mean over images" figure of summary.json must be the mean of the
 * per-image column it summarises, and each per-image value the image's own report.json value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { DatasetSummary } from '../../server/src/pipeline/datasetSummary';
import type { ImageReport } from '../../server/src/pipeline/types';

const root = join(__dirname, '..', '..');
const SAMPLE = join(root, 'models/default/sample.png');
const SAMPLE_MASK = join(root, 'models/default/sample-mask.png');

const meanOf = (xs: (number | null)[]) => {
  const d = xs.filter((x): x is number => x !== null);
  return d.length ? d.reduce((a, b) => a + b, 0) / d.length : null;
};
const close = (a: number | null | undefined, b: number | null | undefined, what: string) => {
  if (a === null || a === undefined || b === null || b === undefined) return assert.equal(a ?? null, b ?? null, what);
  assert.ok(Math.abs(a - b) <= 1e-12, `${what}: ${a} vs ${b}`);
};

test("summary columns are the means of the per-image columns, and per-image values are the reports'", async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'certseg-columns-'));
  try {
    const ds = join(tmp, 'ds');
    for (const sub of ['images', 'masks']) mkdirSync(join(ds, sub), { recursive: true });
    for (const id of ['a', 'b', 'c']) copyFileSync(SAMPLE, join(ds, 'images', `${id}.png`));
    copyFileSync(SAMPLE_MASK, join(ds, 'masks', 'a.png'));
    copyFileSync(SAMPLE_MASK, join(ds, 'masks', 'b.png'));
    // c's mask: class 3 relabelled as background, so class 3 is absent from its ground truth
    const { data, info } = await sharp(SAMPLE_MASK).raw().toBuffer({ resolveWithObject: true });
    for (let i = 0; i < data.length; i++) if (data[i] === 3) data[i] = 0;
    await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
      .png()
      .toFile(join(ds, 'masks', 'c.png'));
    const out = join(tmp, 'run');
    const r = spawnSync(
      process.execPath,
      [
        join(root, 'dist/server/cli.js'),
        'dataset',
        ds,
        '--out',
        out,
        '--n0',
        '4',
        '--n',
        '60',
        '--alpha',
        '0.01',
        '--no-denoiser',
        '--seed',
        '5',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /certified foreground Dice \d\.\d{3}, clean \d\.\d{3} \(means over images\)/);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as DatasetSummary;
    const reports = s.perImage.map((p) => JSON.parse(readFileSync(join(out, p.dir, 'report.json'), 'utf8')) as ImageReport);
    assert.equal(reports[2].certified!.dice[3], null, 'class 3 is undefined on c');
    s.perImage.forEach((p, i) => {
      close(p.certifiedDice, reports[i].certified!.meanDice, `${p.id} certified foreground Dice`);
      close(p.cleanDice, reports[i].clean!.meanDice, `${p.id} clean foreground Dice`);
      close(p.abstainRate, reports[i].abstainRate, `${p.id} abstain rate`);
      close(p.certifiedPixelAccuracy, reports[i].certified!.pixelAccuracy, `${p.id} certified pixel accuracy`);
    });
    close(
      s.certified!.meanOverImages.meanDice,
      meanOf(s.perImage.map((p) => p.certifiedDice)),
      'certified foreground Dice, mean over images',
    );
    close(s.clean!.meanOverImages.meanDice, meanOf(s.perImage.map((p) => p.cleanDice)), 'clean foreground Dice, mean over images');
    close(s.abstainRate.meanOverImages, meanOf(s.perImage.map((p) => p.abstainRate)), 'abstain rate, mean over images');
    close(
      s.certified!.meanOverImages.pixelAccuracy,
      meanOf(s.perImage.map((p) => p.certifiedPixelAccuracy)),
      'certified pixel accuracy, mean over images',
    );
    for (let c = 0; c < 4; c++)
      close(
        s.certified!.meanOverImages.dice[c],
        meanOf(reports.map((x) => x.certified!.dice[c])),
        `certified Dice of class ${c}, mean over images`,
      );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
