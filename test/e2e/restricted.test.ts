/**
 * End-to-end, Restricted Mode: a workspace that is not trusted (workspace trust on, no startup prompt) must
 * not run certification — runs load the model files a workspace points to — and must say why; the preview
 * still opens, with its run buttons disabled. Real VS Code (code-server) in headless Chromium (harness.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, skip, startVSCode, until, type VSCode } from './harness';

let vs: VSCode;

before(async () => {
  if (skip) return;
  vs = await startVSCode((ws) => {
    copyFileSync(join(ROOT, 'models', 'default', 'sample.png'), join(ws, 'sample.png'));
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
  assert.equal(existsSync(join(vs.workspace, '.certseg')), false, 'no result was written');
});
