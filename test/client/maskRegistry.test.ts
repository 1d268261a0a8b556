/** Masks known from the Datasets view win over the naming rule (client/src/maskRegistry.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MaskRegistry } from '../../client/src/maskRegistry';

test('a known mask, a known absence, and a guess for an unknown image', () => {
  const r = new MaskRegistry();
  const guess = (image: string) => `${image}.guessed`;
  assert.equal(r.maskFor('/a.png', guess), '/a.png.guessed');
  r.rememberAll([
    { image: '/a.png', mask: '/masks/a.png' },
    { image: '/b.png', mask: null },
  ]);
  assert.equal(r.maskFor('/a.png', guess), '/masks/a.png');
  assert.equal(r.maskFor('/b.png', guess), null);
  r.remember('/a.png', '/gt/a.png');
  assert.equal(r.maskFor('/a.png', guess), '/gt/a.png');
});
