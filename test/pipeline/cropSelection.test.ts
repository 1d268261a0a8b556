/**
 * Certification on the crop chosen by robust inference by crop selection: one run gives an L2
 * certificate and one-pixel-shift consistency. Real default models, real sample image.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { loadConfig } from '../../server/src/config/config';
import { certifyImage } from '../../server/src/pipeline/certifyImage';
import { disposeModels } from '../../server/src/pipeline/models';
import { NOT_COVERED } from '../../server/src/consistency/common';
import { ABSTAIN } from '../../server/src/core/labels';

const root = path.resolve(__dirname, '../..');
const sample = path.join(root, 'models/default/sample.png');

test('a one-pixel camera shift selects the same content, so the certificate is the same, shifted', async (t) => {
  t.after(disposeModels);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'certseg-crop-'));
  // Two views of the same scene, the second moved by one pixel to the right (new content enters).
  const a = path.join(tmp, 'a.png');
  const b = path.join(tmp, 'b.png');
  await sharp(sample).extract({ left: 0, top: 0, width: 120, height: 120 }).toFile(a);
  await sharp(sample).extract({ left: 1, top: 0, width: 120, height: 120 }).toFile(b);
  const config = await loadConfig(null, { cropSelection: 8, denoiser: null, n0: 4, n: 60, alpha: 0.01, seed: 9 });
  const ra = await certifyImage({ imagePath: a, config });
  const rb = await certifyImage({ imagePath: b, config });
  const ca = ra.report.crop!;
  const cb = rb.report.crop!;
  assert.ok(ca && cb);
  assert.equal(ca.height, 113);
  assert.ok(ca.notCoveredRate > 0);
  // Outside the crop: NOT_COVERED, never a class or an abstention.
  const W = 120;
  for (let yy = 0; yy < 120; yy++) {
    for (let xx = 0; xx < 120; xx++) {
      const inside = yy >= ca.y && yy < ca.y + ca.height && xx >= ca.x && xx < ca.x + ca.width;
      const v = ra.certified[yy * W + xx];
      if (inside) assert.notEqual(v, NOT_COVERED);
      else assert.equal(v, NOT_COVERED);
    }
  }
  // Same content selected: the crop origin moves with the content (one pixel left in view b)...
  assert.deepEqual([cb.y, cb.x + 1], [ca.y, ca.x]);
  // ...so the segmenter sees identical crops and, with the same seed, certifies the same pixels.
  for (let r = 0; r < ca.height; r++) {
    for (let c = 0; c < ca.width; c++) {
      assert.equal(rb.certified[(cb.y + r) * W + cb.x + c], ra.certified[(ca.y + r) * W + ca.x + c]);
    }
  }
  assert.ok(
    ra.certified.some((v) => v !== ABSTAIN && v !== NOT_COVERED),
    'something is certified',
  );
});

test('an image smaller than crop plus window gets a clear error', async (t) => {
  t.after(disposeModels);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'certseg-crop-'));
  const tiny = path.join(tmp, 'tiny.png');
  await sharp(sample).extract({ left: 0, top: 0, width: 6, height: 6 }).toFile(tiny);
  const config = await loadConfig(null, { cropSelection: 8, denoiser: null, n: 60, alpha: 0.01 });
  await assert.rejects(
    certifyImage({ imagePath: tiny, config }),
    (e: Error & { code?: string }) => e.code !== undefined && /6×6|smaller|window/.test(e.message),
  );
});
