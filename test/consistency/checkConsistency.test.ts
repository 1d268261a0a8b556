import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkConsistency, checkImageConsistency } from '../../server/src/pipeline/checkConsistency';
import { CertsegError } from '../../server/src/core/errors';

const card = path.resolve(__dirname, '../../models/default/segmenter.card.json');
const sample = path.resolve(__dirname, '../../models/default/sample.png');
const have = existsSync(card) && existsSync(sample);

test(
  'checkConsistency on the default sample: summary, flip maps, circular 100%',
  { skip: !have && 'models/default not available' },
  async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'certseg-consistency-'));
    try {
      const lines: string[] = [];
      const s = (await checkConsistency({ input: sample, rics: 8, circular: true, segmenter: card, out }, (l) => lines.push(l))) as {
        images: number;
        variants: { name: string; coverage: number; bound: number | null }[];
        circular: { canonicalExactShare: number };
      };
      assert.equal(s.images, 1);
      assert.deepEqual(
        s.variants.map((v) => v.name),
        ['plain', 'rics-M8'],
      );
      assert.equal(s.variants[0].coverage, 1);
      assert.ok(s.variants[1].coverage < 1 && s.variants[1].bound !== null);
      assert.equal(s.circular.canonicalExactShare, 1);
      assert.ok(existsSync(path.join(out, 'flipmap-plain.png')));
      assert.ok(existsSync(path.join(out, 'flipmap-rics-M8.png')));
      assert.equal(JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')).kind, 'consistency');
      assert.ok(lines.some((l) => l.startsWith('rics-M8:')));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);

test('checkConsistency: bad inputs give CertsegError', { skip: !have && 'models/default not available' }, async () => {
  await assert.rejects(
    checkConsistency({ input: sample, rics: 0, segmenter: card }, () => {}),
    CertsegError,
  );
  await assert.rejects(
    checkConsistency({ input: '/nonexistent/x.png', segmenter: card }, () => {}),
    CertsegError,
  );
  // window larger than the 128×128 sample's 126×126 view
  await assert.rejects(
    checkConsistency({ input: sample, rics: 200, segmenter: card }, () => {}),
    (e: unknown) => e instanceof CertsegError && /too small/.test(e.message),
  );
});

test(
  "checkImageConsistency (the worker's run): plain and crop selection in detail, progress in order",
  { skip: !have && 'models/default not available' },
  async () => {
    const steps: string[] = [];
    const r = await checkImageConsistency(
      { imagePath: sample, slice: null, configPath: null, overrides: { segmenter: card }, cropSelection: 8 },
      { onProgress: (percent, message) => steps.push(`${percent} ${message}`) },
    );
    assert.deepEqual(steps, ['0 loading the segmenter', '20 plain: 9 views', '60 crop selection M=8: 9 views', '100 done']);
    assert.equal(r.segmenter.card, card);
    assert.equal(r.plain.directions.length, 8);
    assert.equal(r.plain.flipMap.length, r.width * r.height);
    assert.equal(r.plain.coverage, 1);
    assert.equal(r.plain.selectionChangeRate, null);
    assert.ok(
      r.cropSelection !== null && r.cropSelection.M === 8 && r.cropSelection.coverage < 1 && r.cropSelection.selectionChangeRate !== null,
    );
    const plainOnly = await checkImageConsistency({
      imagePath: sample,
      slice: null,
      configPath: null,
      overrides: { segmenter: card },
      cropSelection: null,
    });
    assert.equal(plainOnly.cropSelection, null);
    assert.deepEqual(plainOnly.plain.directions, r.plain.directions);
  },
);
