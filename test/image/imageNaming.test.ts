/**
 * The one mask-naming rule (common/imageNaming.ts): candidates for an image, as the extension's
 * right-click Certify uses them, and dataset discovery, on real files laid out the common ways (PH2's
 * `IMD002_lesion.bmp`, `_mask`, `_seg`, `_gt`, `-mask`, masks/ folders).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { looksLikeMask, maskCandidates, maskIdOf } from '../../common/imageNaming';
import { findDatasetPairs } from '../../server/src/image/dataset';

const firstExisting = (image: string) => maskCandidates(image, path).find((c) => existsSync(c)) ?? null;

test('mask ids and mask-looking names', () => {
  assert.equal(maskIdOf('IMD002_lesion'), 'IMD002');
  assert.equal(maskIdOf('a-mask'), 'a');
  assert.equal(maskIdOf('a_seg'), 'a');
  assert.equal(maskIdOf('a_GT'), 'a');
  assert.equal(maskIdOf('_mask'), '_mask', 'a bare suffix is a name, not a mask of ""');
  assert.ok(looksLikeMask('x_mask') && !looksLikeMask('x'));
});

test('right-click: the mask beside or above an image is found by each convention', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'certseg-masknames-'));
  try {
    const cases: [string, string][] = [
      ['IMD002.jpg', 'IMD002_lesion.bmp'],
      ['a.png', 'a_mask.png'],
      ['b.jpg', 'b-mask.png'],
      ['c.jpg', 'c_seg.png'],
      ['d.tif', 'd_gt.tif'],
      ['e.jpg', 'masks/e.png'],
      ['imgs/f.jpg', 'labels/f.png'],
    ];
    for (const [image, mask] of cases) {
      const dir = path.join(tmp, image.replace(/\W/g, '_'));
      for (const f of [image, mask]) {
        mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        writeFileSync(path.join(dir, f), 'x');
      }
      assert.equal(firstExisting(path.join(dir, image)), path.join(dir, mask), image);
    }
    // PH2's own layout
    const ph2 = path.join(tmp, 'PH2', 'IMD003');
    mkdirSync(path.join(ph2, 'IMD003_Dermoscopic_Image'), { recursive: true });
    mkdirSync(path.join(ph2, 'IMD003_lesion'), { recursive: true });
    writeFileSync(path.join(ph2, 'IMD003_Dermoscopic_Image', 'IMD003.bmp'), 'x');
    writeFileSync(path.join(ph2, 'IMD003_lesion', 'IMD003_lesion.bmp'), 'x');
    assert.equal(
      firstExisting(path.join(ph2, 'IMD003_Dermoscopic_Image', 'IMD003.bmp')),
      path.join(ph2, 'IMD003_lesion', 'IMD003_lesion.bmp'),
    );
    assert.equal(firstExisting(path.join(tmp, 'nothing.png')), null);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('dataset discovery pairs images/ with masks named by the same rule', async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'certseg-maskds-'));
  try {
    for (const d of ['images', 'masks']) mkdirSync(path.join(tmp, d));
    for (const f of [
      'images/IMD002.jpg',
      'images/IMD004.jpg',
      'images/x.png',
      'masks/IMD002_lesion.png',
      'masks/IMD004_seg.bmp',
      'masks/x.png',
    ])
      writeFileSync(path.join(tmp, f), 'x');
    const pairs = await findDatasetPairs(tmp);
    assert.deepEqual(
      pairs.map((p) => [p.id, p.mask && path.basename(p.mask)]),
      [
        ['IMD002', 'IMD002_lesion.png'],
        ['IMD004', 'IMD004_seg.bmp'],
        ['x', 'x.png'],
      ],
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
