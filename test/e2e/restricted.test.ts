/**
 * End-to-end, Restricted Mode: a workspace that is not trusted (workspace trust on, no startup prompt) must
 * not run certification — runs load the model files a workspace points to — and must say why; the preview
 * still opens, with its run buttons disabled. Real VS Code (code-server) in headless Chromium (harness.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, skip, startVSCode, until, type VSCode } from './harness';

let vs: VSCode;
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/server/cli.js'), ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
};
const RUN_ARGS = ['--n0', '4', '--n', '60', '--alpha', '0.01', '--no-denoiser'];
/** Every file under .certseg with its mtime: Restricted Mode must leave it exactly as the repository had it. */
const snapshot = () => {
  const dir = join(vs.workspace, '.certseg');
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => `${f}:${statSync(join(dir, f)).mtimeMs}`)
    .sort();
};

before(async () => {
  if (skip) return;
  vs = await startVSCode(
    (ws) => {
      copyFileSync(join(ROOT, 'models', 'default', 'sample.png'), join(ws, 'sample.png'));
      // A hostile stored result, as a cloned repository could carry: a real result, then a payload in a number field.
      copyFileSync(join(ROOT, 'models', 'default', 'sample.png'), join(ws, 'hostile.png'));
      const out = join(ws, '.certseg', 'hostile.png');
      cli('certify', join(ws, 'hostile.png'), '--out', out, ...RUN_ARGS);
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
      report.params.sigma = '0.25"><h1 id="pwned">pwned</h1><form id="pwned-form" action="https://example.invalid"></form>';
      writeFileSync(join(out, 'report.json'), JSON.stringify(report));
      // a stored .npy whose header lies: shape (100000, 100000) over 16384 bytes of data
      copyFileSync(join(ROOT, 'models', 'default', 'sample.png'), join(ws, 'lying.png'));
      const lying = join(ws, '.certseg', 'lying.png');
      cli('certify', join(ws, 'lying.png'), '--out', lying, ...RUN_ARGS);
      const npy = readFileSync(join(lying, 'selected.npy'));
      const hl = npy.readUInt16LE(8);
      const header = npy
        .toString('latin1', 10, 10 + hl)
        .replace(/'shape': \([^)]*\)/, "'shape': (100000, 100000)")
        .padEnd(hl, ' ');
      writeFileSync(
        join(lying, 'selected.npy'),
        Buffer.concat([npy.subarray(0, 10), Buffer.from(header, 'latin1'), npy.subarray(10 + hl)]),
      );
      // a dataset with two stored runs: markup in a number field (refused), markup in every free-text field (shown as text)
      const ds = join(ws, 'hds');
      for (const sub of ['images', 'masks']) mkdirSync(join(ds, sub), { recursive: true });
      for (const id of ['a', 'b']) {
        copyFileSync(join(ROOT, 'models', 'default', 'sample.png'), join(ds, 'images', `${id}.png`));
        copyFileSync(join(ROOT, 'models', 'default', 'sample-mask.png'), join(ds, 'masks', `${id}.png`));
      }
      const runs = join(ws, '.certseg', 'datasets', 'hds');
      cli('dataset', ds, '--out', join(runs, 'tampered-number'), ...RUN_ARGS);
      cli('dataset', ds, '--out', join(runs, 'tampered-text'), ...RUN_ARGS);
      const edit = (run: string, f: (s: { dataset: string; perImage: { id: string; certifiedDice: unknown }[] }) => void) => {
        const file = join(runs, run, 'summary.json');
        const summary = JSON.parse(readFileSync(file, 'utf8'));
        f(summary);
        writeFileSync(file, JSON.stringify(summary));
      };
      edit('tampered-number', (s) => (s.perImage[0].certifiedDice = '0.5"><h1 id="pwned">pwned</h1>'));
      edit('tampered-text', (s) => {
        s.dataset = '<h1 id="pwned">pwned</h1><meta http-equiv="refresh" content="0;url=https://example.invalid">';
        s.perImage[0].id = '<form id="pwned-form" action="https://example.invalid"><input name="password"></form>';
        s.perImage[1].id = '<img id="pwned-img" src=x onerror="window.__pwned=1">javascript:window.__pwned=1';
      });
    },
    { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never' },
  );
});

after(async () => {
  await vs?.close();
});

test(
  'Restricted Mode: Certify is refused with a message, the preview opens with its run buttons disabled, nothing is written',
  { skip, timeout: 300_000 },
  async () => {
    const { page } = vs;
    await vs.openFile('sample.png');
    await vs.runCommand('certseg: Certify Segmentation');
    await until(
      'the Restricted Mode message',
      async () => {
        const toasts = await page
          .locator('.notifications-toasts')
          .innerText()
          .catch(() => '');
        return toasts.includes('certification is disabled in Restricted Mode');
      },
      60_000,
    );
    await page.locator('.tab', { hasText: 'sample.png' }).first().click();
    await vs.runCommand('certseg: Open Segmentation Preview');
    const frame = await until(
      'the preview',
      () => vs.frameWhere(() => !!document.getElementById('certify') && !!document.getElementById('layer-certified')),
      60_000,
    );
    await until(
      'the preview to get its state',
      () => frame.evaluate(() => (document.getElementById('certify') as HTMLButtonElement).disabled),
      30_000,
    );
    assert.match((await frame.locator('#certify').getAttribute('title')) ?? '', /Restricted Mode/);
    assert.deepEqual(readdirSync(join(vs.workspace, '.certseg')).sort(), ['datasets', 'hostile.png', 'lying.png'], 'no result was written');
  },
);

test(
  'Restricted Mode, hostile stored result: the preview says "unreadable result", renders nothing of it, writes nothing',
  { skip, timeout: 300_000 },
  async () => {
    const before = snapshot();
    await vs.runCommand('View: Close All Editors'); // the previous test's preview would take the command
    // from the Explorer (Quick Open would offer the recently opened sample.png first)
    await vs.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'hostile.png' }).first().click();
    await until('hostile.png open', async () => (await vs.page.locator('.tab.active', { hasText: 'hostile.png' }).count()) > 0, 30_000);
    await vs.runCommand('certseg: Open Segmentation Preview');
    const frame = await until(
      'the preview with the error',
      () => vs.frameWhere(() => document.body.innerText.includes('unreadable result')),
      60_000,
    ).catch(async (e) => {
      await vs.page.screenshot({ path: '/tmp/restricted-debug.png' });
      console.log(
        vs
          .logs()
          .split('\n')
          .filter((l) => /certseg|stored|hostile/i.test(l))
          .slice(-30)
          .join('\n'),
      );
      throw e;
    });
    const text = await frame.evaluate(() => document.body.innerText);
    assert.match(text, /unreadable result: params\.sigma must be number/);
    assert.equal(
      await frame.evaluate(() => document.querySelectorAll('#pwned, #pwned-form, form').length),
      0,
      'no element from the payload',
    );
    mkdirSync(join(ROOT, 'dist', 'test-out'), { recursive: true });
    await vs.page.screenshot({ path: join(ROOT, 'dist', 'test-out', 'restricted-hostile.png') });
    assert.deepEqual(snapshot(), before, 'nothing under .certseg was written or touched');
  },
);

test('Restricted Mode, a stored .npy with a lying header: "unreadable result", nothing written', { skip, timeout: 300_000 }, async () => {
  const before = snapshot();
  await vs.runCommand('View: Close All Editors');
  await vs.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'lying.png' }).first().click();
  await until('lying.png open', async () => (await vs.page.locator('.tab.active', { hasText: 'lying.png' }).count()) > 0, 30_000);
  await vs.runCommand('certseg: Open Segmentation Preview');
  const frame = await until(
    'the preview with the error',
    () => vs.frameWhere(() => document.body.innerText.includes('unreadable result')),
    60_000,
  );
  assert.match(await frame.evaluate(() => document.body.innerText), /unreadable result: .*(truncated|shape)/);
  assert.deepEqual(snapshot(), before, 'nothing under .certseg was written or touched');
});

test(
  'Restricted Mode, hostile dataset runs: a tampered number is refused with "unreadable result", free-text markup shows as text, nothing runs or is written',
  { skip, timeout: 300_000 },
  async () => {
    const { page } = vs;
    const before = snapshot();
    await vs.runCommand('View: Close All Editors');
    await vs.runCommand('Focus on certseg Datasets View');
    const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'certseg Datasets' }) });
    await pane.locator('.monaco-list-row', { hasText: 'hds' }).first().click({ timeout: 60_000 });
    await pane.locator('.monaco-list-row', { hasText: 'tampered-number' }).first().click({ timeout: 60_000 });
    await until(
      'the unreadable-result message',
      async () => {
        const toasts = await page
          .locator('.notifications-toasts')
          .innerText()
          .catch(() => '');
        return /unreadable result: perImage\.0\.certifiedDice must be number/.test(toasts);
      },
      60_000,
    );
    assert.equal(await vs.frameWhere(() => !!document.getElementById('per-image')), null, 'the tampered run is not rendered');
    await pane.locator('.monaco-list-row', { hasText: 'tampered-text' }).first().click({ timeout: 60_000 });
    const report = await until(
      'the report of the free-text run',
      () => vs.frameWhere(() => !!document.getElementById('per-image') && !!document.getElementById('params')),
      60_000,
    );
    await page.waitForTimeout(1000); // a meta refresh with 0 s would have fired
    const found = await report.evaluate(() => ({
      pwned: (window as unknown as { __pwned?: number }).__pwned ?? 0,
      elements: document.querySelectorAll('#pwned, #pwned-form, #pwned-img, form, iframe, meta[http-equiv="refresh"]').length,
      rows: Array.from(document.querySelectorAll('#per-image tbody tr td:first-child')).map((td) => td.textContent),
    }));
    assert.deepEqual({ pwned: found.pwned, elements: found.elements }, { pwned: 0, elements: 0 }, 'no element or script from the payload');
    assert.ok(
      found.rows.some((t) => t?.startsWith('<form id="pwned-form"')),
      `the id is shown as text: ${found.rows.join(' | ')}`,
    );
    mkdirSync(join(ROOT, 'dist', 'test-out'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'dist', 'test-out', 'restricted-hostile-report.png') });
    assert.deepEqual(snapshot(), before, 'nothing under .certseg was written or touched');
  },
);
