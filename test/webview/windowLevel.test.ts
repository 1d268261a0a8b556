/**
 * The preview's window/level and slice slider (media/src/windowLevel.ts) in headless Chromium: the built
 * dist/webview/preview.js under the production CSP, fed what the REAL worker returns for DICOM/NIfTI files
 * written at test time from the shared chest X-rays (certseg/displayImage). Checks the drawn pixels against the
 * window formula (MONOCHROME1 inverted), a preset, a Shift-drag that changes the window and not the pan, that a
 * run's init keeps the picture, and that the slice slider asks the host for another plane.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DisplayImageRequest, decodeArray, type DisplayImageResult } from '../../protocol/messages';
import { ROOT, startWorker } from '../worker/harness';
import { webviewCsp } from '../../client/src/html';
import { windowedRgba } from '../../media/src/windowLevel';
import { makeMedicalFiles } from '../helpers/medicalFiles';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const PREVIEW_JS = join(ROOT, 'dist', 'webview', 'preview.js');
const OUT = join(ROOT, 'dist', 'test-out');
let skip: string | false = !CHROMIUM
  ? 'chromium is not installed (apt-get install -y chromium)'
  : !existsSync(PREVIEW_JS)
    ? 'dist/webview/preview.js missing: run node esbuild.mjs'
    : false;

let browser: Browser | undefined;
let page: Page;
let mono1: DisplayImageResult;
let volume: DisplayImageResult;
const dir = mkdtempSync(join(tmpdir(), 'certseg-wl-'));
const pageErrors: string[] = [];
const csp: string[] = [];

before(async () => {
  if (skip) return;
  const files = makeMedicalFiles();
  if (files.missing) return void (skip = files.missing);
  const w = await startWorker();
  try {
    mono1 = await w.conn.sendRequest(DisplayImageRequest.type, { imagePath: join(files.dir, 'cxr12-mono1.dcm') });
    volume = await w.conn.sendRequest(DisplayImageRequest.type, { imagePath: join(files.dir, 'stack.nii.gz') });
  } finally {
    await w.stop();
    rmSync(files.dir, { recursive: true, force: true });
  }
  copyFileSync(PREVIEW_JS, join(dir, 'preview.js'));
  copyFileSync(join(ROOT, 'media', 'preview.css'), join(dir, 'preview.css'));
  writeFileSync(
    join(dir, 'index.html'),
    `<!DOCTYPE html><html><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${webviewCsp('file:', 'test', 'source')}">
<link rel="stylesheet" href="preview.css"></head><body>
<div id="app" data-image-name="cxr.dcm"></div>
<script nonce="test">
  window.__posted = [];
  let st;
  window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => st, setState: (s) => { st = s; } });
</script>
<script nonce="test" src="preview.js"></script></body></html>`,
  );
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--allow-file-access-from-files'],
  });
  page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  page.on('console', (m) => void (/Content Security Policy|Refused to/i.test(m.text()) && csp.push(m.text())));
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto('file://' + join(dir, 'index.html'));
});

after(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The host's medicalImage message (values as a Float32Array rebuilt in the page). */
async function postImage(r: DisplayImageResult) {
  const values = Array.from(decodeArray(r.values));
  await page.evaluate(
    ([msg, v]) => window.postMessage({ ...(msg as object), type: 'medicalImage', values: new Float32Array(v as number[]) }, '*'),
    [{ ...r, values: null }, values] as const,
  );
}

/** The image layer's current src (a new one is set each time the window changes). */
const imageSrc = () => page.evaluate(() => (document.getElementById('layer-image') as HTMLImageElement).src);

/**
 * The image layer's pixels as drawn (RGBA), read back through a canvas. `previousSrc`: wait until the layer
 * shows a new image first (the webview re-renders asynchronously after a window change).
 */
async function drawnPixels(previousSrc?: string): Promise<number[]> {
  if (previousSrc !== undefined)
    await page.waitForFunction((prev) => (document.getElementById('layer-image') as HTMLImageElement).src !== prev, previousSrc, {
      timeout: 10_000,
    });
  return page.evaluate(async () => {
    const img = document.getElementById('layer-image') as HTMLImageElement;
    if (!img.complete || !img.naturalWidth) await new Promise((r) => img.addEventListener('load', r, { once: true }));
    const c = document.createElement('canvas');
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    const g = c.getContext('2d')!;
    g.drawImage(img, 0, 0);
    return Array.from(g.getImageData(0, 0, c.width, c.height).data);
  });
}

const dataset = (id: string, key: string) => page.evaluate(([i, k]) => document.getElementById(i)!.dataset[k], [id, key] as const);

test(
  'window/level: a MONOCHROME1 DICOM is drawn with the file window, inverted; presets and Shift-drag change the display only',
  { skip },
  async () => {
    await page.evaluate(() =>
      window.postMessage(
        { type: 'init', imageUrl: null, imageName: 'cxr.dcm', imagePath: '/x/cxr.dcm', running: false, canRun: true },
        '*',
      ),
    );
    await postImage(mono1);
    await page.waitForSelector('#window-level:not(.hidden)');
    const values = decodeArray(mono1.values);
    const want = (win: { center: number; width: number }) => windowedRgba(values, 1, mono1.width, mono1.height, win, true);
    let got = await drawnPixels();
    let expect = want(mono1.window);
    assert.equal(got.length, expect.length);
    let off = 0;
    for (let i = 0; i < got.length; i++) if (Math.abs(got[i] - expect[i]) > 1) off++;
    assert.equal(off, 0, `${off} bytes differ from the window formula`);
    assert.ok(got.some((v) => v < 30) && got.some((v) => v > 220), 'the file window spreads the grey levels');
    assert.match(await page.locator('#wl-info').innerText(), /DICOM MONOCHROME1/);
    assert.equal(await page.locator('#slice-box').isVisible(), false, 'no slider for a 2-D image');

    // the percentile preset
    const fileWindowSrc = await imageSrc();
    await page.locator('#wl-preset').selectOption('percentile');
    assert.equal(Number(await dataset('window-level', 'center')), mono1.percentile.center);
    got = await drawnPixels(fileWindowSrc);
    expect = want(mono1.percentile);
    for (let i = 0; i < got.length; i += 401) assert.ok(Math.abs(got[i] - expect[i]) <= 1, `byte ${i}: ${got[i]} vs ${expect[i]}`);

    // Shift-drag right and down: wider window, higher level; the view does not pan
    const transform = await page.locator('#stack').evaluate((e) => (e as HTMLElement).style.transform);
    const before = { c: Number(await dataset('window-level', 'center')), w: Number(await dataset('window-level', 'width')) };
    const box = (await page.locator('#stage').boundingBox())!;
    await page.keyboard.down('Shift');
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 100, box.y + box.height / 2 + 50, { steps: 5 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
    const after = { c: Number(await dataset('window-level', 'center')), w: Number(await dataset('window-level', 'width')) };
    assert.ok(after.w > before.w && after.c > before.c, `drag: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
    assert.equal(await page.locator('#stack').evaluate((e) => (e as HTMLElement).style.transform), transform, 'a window drag does not pan');

    // a run starting (init with running, no imageUrl) keeps the drawn picture
    const src = await page.locator('#layer-image').getAttribute('src');
    assert.match(src ?? '', /^blob:/);
    await page.evaluate(() =>
      window.postMessage({ type: 'init', imageUrl: null, imageName: 'cxr.dcm', imagePath: '/x/cxr.dcm', running: true, canRun: true }, '*'),
    );
    await page.waitForSelector('body[data-state="running"]');
    assert.equal(await page.locator('#layer-image').getAttribute('src'), src);
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, 'window-level.png') });
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(csp, []);
  },
);

test('slice slider: a NIfTI volume shows its slider at the middle slice; moving it asks the host for that plane', { skip }, async () => {
  await postImage(volume);
  await page.waitForSelector('#slice-box:not(.hidden)');
  assert.equal(await page.locator('#slice').getAttribute('max'), '2');
  assert.equal(await page.locator('#slice').inputValue(), '1');
  assert.match(await page.locator('#slice-label').innerText(), /z:1 of 2/);
  assert.match(await page.locator('#wl-info').innerText(), /NIfTI/);
  await page.locator('#slice').fill('2');
  await page.locator('#slice').dispatchEvent('change');
  const posted = await page.evaluate(() =>
    (window as unknown as { __posted: { type: string }[] }).__posted.filter((m) => m.type === 'slice'),
  );
  assert.deepEqual(posted.at(-1), { type: 'slice', axis: 'z', index: 2 });
  // the same plane size: the window the user chose stays
  const c = await dataset('window-level', 'center');
  await postImage(volume);
  assert.equal(await dataset('window-level', 'center'), c);
  assert.deepEqual(pageErrors, []);
});
