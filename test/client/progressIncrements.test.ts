/** Work-done percentages become notification increments (client/src/progressIncrements.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressIncrements } from '../../client/src/progressIncrements';

test('absolute percentages become increments; none repeats the last; going back adds nothing', () => {
  const p = new ProgressIncrements();
  assert.deepEqual(p.next(10), { percent: 10, increment: 10 });
  assert.deepEqual(p.next(undefined), { percent: 10, increment: 0 });
  assert.deepEqual(p.next(35), { percent: 35, increment: 25 });
  assert.deepEqual(p.next(20), { percent: 20, increment: 0 });
  assert.deepEqual(p.next(40), { percent: 40, increment: 5 });
  assert.deepEqual(p.next(100), { percent: 100, increment: 60 });
});
