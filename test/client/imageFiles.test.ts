/** The images the config picker offers (client/src/imageFiles.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imagesInPathOrder, isMaskFile } from '../../client/src/imageFiles';

test('masks by suffix or folder are not images to certify', () => {
  assert.ok(isMaskFile('/w/data/masks/a.png'));
  assert.ok(isMaskFile('/w/data/GT/a.png'));
  assert.ok(!isMaskFile('/w/data/images/a.png'));
  assert.ok(!isMaskFile('/w/masks.png'), 'a file named like a mask folder is not inside one');
});

test('images in path order, numbers in numeric order', () => {
  const files = ['/w/img10.png', '/w/masks/img1.png', '/w/img2.png', '/w/a/img1.png'];
  assert.deepEqual(
    imagesInPathOrder(
      files,
      (f) => f,
      (f) => f.slice(3),
    ),
    ['/w/a/img1.png', '/w/img2.png', '/w/img10.png'],
  );
});
