/**
 * End-to-end, Restricted Mode: a workspace that is not trusted (workspace trust on, no startup prompt) must
 * not run certification — runs load the model files a workspace points to — and must say why; the preview
 * still opens, with its run buttons disabled. Real VS Code (code-server) in headless Chromium (harness.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, skip, startVSCode, until, type VSCode } from './harness';

let vs: VSCode;

before(async () => {
  if (skip) return;
  vs = await startVSCode((ws) => {
    copyFileSync(join(ROOT, 'models', 'default', 'sample.png'), join(ws, 'sample.png'));
    // A hostile stored result, as a cloned repository could carry: a real result, then a payload in a number field.
    copyFileSync(join(ROOT, 'models', 'default', 'sample.png'), join(ws, 'hostile.png'));
    const out = join(ws, '.certseg', 'hostile.png');
    const r = spawnSync(process.execPath, [join(ROOT, 'dist/server/cli.js'), 'certify', join(ws, 'hostile.png'), '--out', out, '--n0', '4', '--n', '60', '--alpha', '0.01', '--no-denoiser'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    report.params.sigma = '0.25"><h1 id="pwned">pwned</h1><form id="pwned-form" action="https://example.invalid"></form>';
    writeFileSync(join(out, 'report.json'), JSON.stringify(report));
  }, { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never' });
});

after(async () => {
  await vs?.close();
});

test('Restricted Mode: Certify is refused with a message, the preview opens with its run buttons disabled, nothing is written', { skip, timeout: 300_000 }, async () => {
  const { page } = vs;
  await vs.openFile('sample.png');
  await vs.runCommand('certseg: Certify Segmentation');
  await until('the Restricted Mode message', async () => {
    const toasts = await page.locator('.notifications-toasts').innerText().catch(() => '');
    return toasts.includes('certification is disabled in Restricted Mode');
  }, 60_000);
  await page.locator('.tab', { hasText: 'sample.png' }).first().click();
  await vs.runCommand('certseg: Open Segmentation Preview');
  const frame = await until('the preview', () => vs.frameWhere(() => !!document.getElementById('certify') && !!document.getElementById('layer-certified')), 60_000);
  await until('the preview to get its state', () => frame.evaluate(() => (document.getElementById('certify') as HTMLButtonElement).disabled), 30_000);
  assert.match((await frame.locator('#certify').getAttribute('title')) ?? '', /Restricted Mode/);
  assert.deepEqual(readdirSync(join(vs.workspace, '.certseg')), ['hostile.png'], 'no result was written');
});

test('Restricted Mode, hostile stored result: the preview says "unreadable result", renders nothing of it, writes nothing', { skip, timeout: 300_000 }, async () => {
  const dir = join(vs.workspace, '.certseg', 'hostile.png');
  const before = readdirSync(dir).map((f) => `${f}:${statSync(join(dir, f)).mtimeMs}`).sort();
  await vs.runCommand('View: Close All Editors'); // the previous test's preview would take the command
  // from the Explorer (Quick Open would offer the recently opened sample.png first)
  await vs.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'hostile.png' }).first().click();
  await until('hostile.png open', async () => (await vs.page.locator('.tab.active', { hasText: 'hostile.png' }).count()) > 0, 30_000);
  await vs.runCommand('certseg: Open Segmentation Preview');
  const frame = await until('the preview with the error', () => vs.frameWhere(() => document.body.innerText.includes('unreadable result')), 60_000).catch(async (e) => {
    await vs.page.screenshot({ path: '/tmp/restricted-debug.png' });
    console.log(vs.logs().split('\n').filter((l) => /certseg|stored|hostile/i.test(l)).slice(-30).join('\n'));
    throw e;
  });
  const text = await frame.evaluate(() => document.body.innerText);
  assert.match(text, /unreadable result: params\.sigma must be number/);
  assert.equal(await frame.evaluate(() => document.querySelectorAll('#pwned, #pwned-form, form').length), 0, 'no element from the payload');
  mkdirSync(join(ROOT, 'dist', 'test-out'), { recursive: true });
  await vs.page.screenshot({ path: join(ROOT, 'dist', 'test-out', 'restricted-hostile.png') });
  const after = readdirSync(dir).map((f) => `${f}:${statSync(join(dir, f)).mtimeMs}`).sort();
  assert.deepEqual(after, before, 'the stored files are untouched');
  assert.deepEqual(readdirSync(join(vs.workspace, '.certseg')), ['hostile.png'], 'nothing else was written');
});
