/**
 * End-to-end: a model card opened in a real VS Code (code-server, headless Chromium: harness.ts), with a
 * mistake only its model can reveal (an input tensor name the model does not have): the worker's card
 * check reports it once, as an error naming the tensors the model has.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, skip, startVSCode, until, type VSCode } from './harness';

let vs: VSCode;

before(async () => {
  if (skip) return;
  vs = await startVSCode(
    (ws) => {
      const polyp = join(ROOT, 'models', 'polyp');
      const card = JSON.parse(readFileSync(join(polyp, 'segmenter.card.json'), 'utf8')) as Record<string, any>;
      card.file = join(polyp, card.file);
      card.alternates = { tfjs: join(polyp, card.alternates.tfjs) };
      card.input.name = 'pixels';
      writeFileSync(join(ws, 'mine.card.json'), JSON.stringify(card, null, 2));
    },
    { 'security.workspace.trust.enabled': false },
  );
});

after(async () => {
  await vs?.close();
});

test('a *.card.json whose input name the model does not have: one error, from the card check', { skip, timeout: 300_000 }, async () => {
  const { page } = vs;
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'mine.card.json' }).first().click();
  await until('mine.card.json open', async () => (await page.locator('.tab.active', { hasText: 'mine.card.json' }).count()) > 0, 60_000);
  const counts = async () => {
    const t = await page
      .locator('#status\\.problems')
      .innerText()
      .catch(() => '');
    const n = t.match(/\d+/g)?.map(Number) ?? [];
    return n.length >= 2 ? n[0] + n[1] : null;
  };
  const t0 = Date.now();
  await until('one problem', async () => (await counts()) === 1, 120_000).catch(async (e) => {
    console.log(`problems shown: ${await counts()}`);
    await page.screenshot({ path: join(ROOT, 'dist', 'test-out', 'card-problems.png') });
    throw e;
  });
  console.log(`E2E: card problems shown ${Date.now() - t0} ms after opening (worker start and the model check included)`);
  await page.waitForTimeout(3000);
  assert.equal(await counts(), 1, 'reported once');
  await vs.runCommand('View: Focus Problems (Errors, Warnings, Infos)');
  const panel = page.locator('.markers-panel');
  const text = await until(
    'the problems list',
    async () => {
      const s = await panel.innerText().catch(() => '');
      return /no input named/.test(s) ? s : null;
    },
    30_000,
  );
  assert.match(text, /the model has no input named "pixels" \(it has image\)/);
});
