/**
 * End-to-end: the extension in a real VS Code (code-server 4.100.3 = VS Code 1.100.3) driven by headless
 * Chromium (harness.ts). Right-click-free path: open sample.png, run "certseg: Certify Segmentation" from the
 * command palette, watch the preview webview fill in (time to first partial overlay), wait for the result,
 * reopen it from storage, reload the window, then kill the worker and check the client restarts it with a
 * message. Then the Datasets view (certify a dataset folder, its report, back to a sample) and the
 * translation-consistency command.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENGINE_SHOWN, ROOT, skip, startVSCode, until, type VSCode } from './harness';

let vs: VSCode;

before(async () => {
  if (skip) return;
  vs = await startVSCode(
    (ws) => {
      copyFileSync(join(ROOT, 'models', 'default', 'sample.png'), join(ws, 'sample.png'));
      copyFileSync(join(ROOT, 'models', 'default', 'sample-mask.png'), join(ws, 'sample-mask.png'));
      // a two-image dataset folder (images/ + masks/) for the Datasets view
      for (const d of ['images', 'masks']) mkdirSync(join(ws, 'polyps', d), { recursive: true });
      // a quick config for the dataset run (plain smoothing, n = 64), picked with "Select Config for Runs"
      writeFileSync(join(ws, 'fast.certseg.json'), JSON.stringify({ n: 64, n0: 5, denoiser: null }, null, 2));
      for (const id of ['a', 'b']) {
        copyFileSync(join(ROOT, 'models', 'default', 'sample.png'), join(ws, 'polyps', 'images', `${id}.png`));
        copyFileSync(join(ROOT, 'models', 'default', 'sample-mask.png'), join(ws, 'polyps', 'masks', `${id}.png`));
      }
    },
    { 'security.workspace.trust.enabled': false },
  );
});

after(async () => {
  await vs?.close();
});

/** The frame holding the certseg preview. */
const previewFrame = () => vs.frameWhere(() => !!document.getElementById('metrics') && !!document.getElementById('layer-certified'));

test(
  'certify from the command palette: preview opens at once, fills in, shows the result; the worker restarts after a crash',
  { skip, timeout: 600_000 },
  async () => {
    // open the image (VS Code's image preview), then the command
    const { page } = vs;
    await vs.openFile('sample.png');
    // the extension activates on the command; the status bar item appears once the worker is up
    const t0 = Date.now();
    await vs.runCommand('certseg: Certify Segmentation');
    const frame = await until('the preview webview', previewFrame, 60_000);
    const tPanel = Date.now() - t0;
    await until(
      'a partial overlay',
      () => frame.evaluate(() => (document.getElementById('layer-certified') as HTMLCanvasElement).width > 0),
      120_000,
      100,
    );
    const tPartial = Date.now() - t0;
    await until('the result', () => frame.evaluate(() => document.body.dataset.state === 'result'), 300_000, 250);
    const tResult = Date.now() - t0;
    const metrics = await frame.evaluate(() => document.getElementById('metrics')!.innerText);
    const firstPartial = /first partial\s+(\d+) ms/.exec(metrics)?.[1];
    console.log(
      `E2E: panel visible after ${tPanel} ms (activation + worker start included), partial overlay seen after ${tPartial} ms, result after ${tResult} ms; first partial ${firstPartial} ms after the request (host-measured)`,
    );
    assert.ok(firstPartial, 'the webview got partial results');
    assert.match(metrics, /certified pixels/);
    assert.match(metrics, /clean foreground Dice/, 'the mask beside the image was found');
    const status = await until('the status bar item', async () => (await vs.statusBarText()) || null, 30_000);
    console.log(`status bar: ${status}`);
    assert.match(status, /certseg/);
    await page.screenshot({ path: join(ROOT, 'dist', 'test-out', 'e2e.png') }).catch(() => undefined);

    const wsDir = vs.workspace;
    assert.ok(existsSync(join(wsDir, '.certseg', 'sample.png', 'report.json')), 'result stored in the workspace under .certseg/');

    // "Segmentation Preview" custom editor on the image: a fresh webview that shows the STORED result (.npy read back)
    await page.locator('.tab', { hasText: 'sample.png' }).first().click();
    await vs.runCommand('certseg: Open Segmentation Preview');
    await until(
      'a second preview showing the stored result',
      async () => {
        let n = 0;
        for (const f of page.frames()) {
          try {
            if (
              await f.evaluate(
                () =>
                  document.body.dataset.state === 'result' && !!document.getElementById('metrics')?.innerText.includes('certified pixels'),
              )
            )
              n++;
          } catch {
            /* detached */
          }
        }
        return n >= 2;
      },
      60_000,
    );

    // reload the window: the panel serializer revives the preview and reloads the stored result. (Checked in the
    // extension's log: after page.reload() VS Code's webview service worker does not serve vscode-resource URLs
    // in headless Chromium, which leaves every webview blank, the built-in image preview's too.)
    // Reload as a user does (Developer: Reload Window): the workbench saves its editor state on the way out.
    // A bare page.reload() could skip that save, and then nothing is restored to revive.
    await vs.runCommand('Developer: Reload Window');
    await page.waitForTimeout(2_000);
    await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
    const revivedWithResult = () => {
      const text = vs.logs();
      const revived = text.lastIndexOf('reviving the preview of ' + join(wsDir, 'sample.png'));
      return revived >= 0 && text.indexOf('stored result for sample.png: ' + join(wsDir, '.certseg', 'sample.png'), revived) > revived;
    };
    // VS Code revives a webview panel when its tab is shown; after the reload the custom editor may be the
    // visible tab of that group, so show the panel's tab if it has not come back by itself.
    if (!(await until('the panel revived by itself', async () => revivedWithResult(), 20_000, 500).catch(() => false))) {
      console.log('the preview panel was not revived while hidden; showing its tab');
      await page.screenshot({ path: join(ROOT, 'dist', 'test-out', 'after-reload.png') }).catch(() => undefined);
      console.log('tabs after the reload: ' + JSON.stringify(await page.locator('.tab').allInnerTexts()));
      await page.locator('.tab', { hasText: 'Certify: sample.png' }).first().click({ timeout: 30_000 });
      await until('the panel revived with its stored result', async () => revivedWithResult(), 60_000, 500);
    }

    // crash the worker: the client restarts it and says so
    // the reloaded window's worker is up (its engine in the status bar) and the old window's worker gone, so
    // the kill below hits the worker whose client is watching
    await until(
      "the reloaded window's worker",
      async () => {
        return ENGINE_SHOWN.test(await vs.statusBarText()) && vs.workerPids().length === 1;
      },
      60_000,
    ).catch(() => console.log(`worker processes before the kill: ${vs.workerPids().length}`));
    const pids = vs.workerPids();
    assert.ok(pids.length >= 1, 'the worker process runs');
    for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
    // The warning toast is the user-visible sign; under load VS Code sometimes folds it into the notification
    // centre before we look, so the client's log line (written at the same moment) also counts.
    await until(
      'the restart message',
      async () => {
        if (
          (
            await page
              .locator('.notifications-toasts')
              .innerText()
              .catch(() => '')
          ).includes('stopped unexpectedly')
        )
          return true;
        return vs.logs().includes('certseg worker stopped unexpectedly; restarting');
      },
      30_000,
    );
    await until(
      'a new worker process',
      async () => {
        const now = vs.workerPids();
        return now.length >= 1 && now.every((p) => !pids.includes(p));
      },
      30_000,
    );
    // the status bar names the new worker's engine again, without a window reload
    const after = await until(
      'the status bar with the engine',
      async () => {
        const t = await vs.statusBarText();
        return ENGINE_SHOWN.test(t) ? t : null;
      },
      60_000,
    );
    console.log(`status bar after the restart: ${after}`);
  },
);

test(
  'Datasets view with a picked config: lists the dataset folder, Certify all runs it, the report opens and links back to a sample',
  { skip, timeout: 600_000 },
  async () => {
    const { page } = vs;
    // the extension's own pick opens after it has searched the workspace: click its row, not the palette's.
    // Under load the pick was once dismissed before the click (focus moved); open it again then.
    for (let attempt = 1; ; attempt++) {
      try {
        await vs.runCommand('certseg: Select Config for Runs');
        const pick = page.locator('.quick-input-widget', { hasText: 'config for runs' });
        await pick.waitFor({ state: 'visible', timeout: 30_000 });
        await pick.locator('.quick-input-list .monaco-list-row[aria-label*="fast.certseg.json"]').click({ timeout: 15_000 });
        break;
      } catch (e) {
        if (attempt >= 3) throw e;
        console.log(`the config pick failed on attempt ${attempt} (${String((e as Error).message).split('\n')[0]}); retrying`);
        await page.keyboard.press('Escape');
      }
    }
    await vs.runCommand('Focus on certseg Datasets View');
    const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'certseg Datasets' }) });
    const row = pane.locator('.monaco-list-row', { hasText: 'polyps' }).first();
    await row.waitFor({ state: 'visible', timeout: 60_000 });
    await row.hover();
    const t0 = Date.now();
    await row.locator('.action-label[aria-label*="Certify Dataset"]').click();
    const report = await until(
      'the dataset report',
      () => vs.frameWhere(() => !!document.getElementById('per-image') && !!document.getElementById('params')),
      300_000,
      500,
    );
    console.log(`E2E: dataset of 2 images certified, report shown after ${Date.now() - t0} ms`);
    const params = await report.locator('#params').innerText();
    assert.match(params, /2 images \(2 with masks\)/);
    assert.match(params, /n0 = 5, n = 64, .*no denoiser/, 'the picked config was used');
    assert.match(await report.locator('#title').innerText(), /polyps/);
    assert.equal(await report.locator('#per-image tbody tr').count(), 2);
    // results stay in the workspace, one folder per image
    const runs = join(vs.workspace, '.certseg', 'datasets');
    const stored = readdirSync(runs, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('report.json'));
    assert.equal(stored.length, 2, `per-image reports under ${runs}: ${stored.join(', ')}`);
    // a per-image row opens that sample's stored result in the preview
    const first = (await report.locator('#per-image tbody tr').first().getAttribute('data-id'))!;
    await report.locator('#per-image tbody tr').first().click();
    await until(
      `the preview of ${first}.png with its stored result`,
      () =>
        vs.frameWhere(
          (name) =>
            document.body.dataset.state === 'result' &&
            document.getElementById('title')?.textContent === name &&
            !!document.getElementById('metrics')?.innerText.includes('certified pixels'),
          `${first}.png`,
        ),
      60_000,
    );
  },
);

test(
  'Check Translation Consistency from the command palette: flip map numbers beside the certificate',
  { skip, timeout: 300_000 },
  async () => {
    const { page } = vs;
    await page.locator('.tab', { hasText: 'sample.png' }).first().click();
    await vs.runCommand('certseg: Check Translation Consistency');
    const frame = await until(
      'the consistency table',
      () => vs.frameWhere(() => !!document.getElementById('consistency-table')),
      120_000,
      250,
    );
    const table = await frame.locator('#consistency-table').innerText();
    assert.match(table, /crop selection M = \d+/);
    assert.match(table, /changed by any shift/);
    assert.match(table, /some shift, i\.i\.d\. scores/);
    assert.equal(await frame.locator('#toggle-flips').isChecked(), true, 'the flip map layer is switched on');
  },
);
