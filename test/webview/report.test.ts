/**
 * The dataset report page (client/src/reportHtml.ts) in headless Chromium with the production CSP: a REAL
 * summary (the worker certifying a two-image dataset made from models/default/sample.png, n0=4, n=60,
 * α=0.01), its accuracy-vs-radius SVG as an <img>, and a second run at another σ (the same summary with σ
 * and Dice changed: the page only reads summary.json) for the Dice-vs-σ chart. Checks rendering, CSP,
 * sorting and the row click message. Skips when no chromium is installed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CertifyDatasetRequest } from '../../protocol/messages';
import type { DatasetSummary } from '../../server/src/pipeline/certifyDataset';
import { diceVsSigmaSvg, reportHtml, type ReportRun } from '../../client/src/reportHtml';
import { SAMPLE, SAMPLE_MASK, baseOverrides, startWorker } from '../worker/harness';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const skip = !CHROMIUM ? 'chromium is not installed (apt-get install -y chromium)' : false;

let browser: Browser | undefined;
let page: Page;
let summary: DatasetSummary;
const tmp = mkdtempSync(join(tmpdir(), 'certseg-report-'));
const runs = join(tmp, 'runs');
const runDir = join(runs, 'default');
const cspViolations: string[] = [];
const pageErrors: string[] = [];

before(async () => {
  if (skip) return;
  const ds = join(tmp, 'ds');
  for (const sub of ['images', 'masks']) mkdirSync(join(ds, sub), { recursive: true });
  for (const id of ['a', 'b']) {
    copyFileSync(SAMPLE, join(ds, 'images', `${id}.png`));
    copyFileSync(SAMPLE_MASK, join(ds, 'masks', `${id}.png`));
  }
  const w = await startWorker();
  try {
    summary = (await w.conn.sendRequest(CertifyDatasetRequest.type, {
      dir: ds,
      outDir: runDir,
      overrides: { ...baseOverrides(), n0: 4, n: 60, alpha: 0.01 },
    })) as unknown as DatasetSummary;
  } finally {
    await w.stop();
  }
  // a second run at σ = 0.5 for the Dice-vs-σ chart
  const other = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as DatasetSummary;
  other.params!.sigma = 0.5;
  other.certified!.pooled.meanDice = 0.5;
  mkdirSync(join(runs, 'default-sigma-0.5'), { recursive: true });
  writeFileSync(join(runs, 'default-sigma-0.5', 'summary.json'), JSON.stringify(other));
  const siblings: ReportRun[] = [
    { runDir, label: 'default', summary, mtimeMs: 1 },
    { runDir: join(runs, 'default-sigma-0.5'), label: 'default-sigma-0.5', summary: other, mtimeMs: 2 },
  ];
  // the page's script is the built bundle (npm run build), as the extension loads it
  const scriptUrl = 'file://' + join(__dirname, '..', '..', 'dist', 'webview', 'report.js');
  const html = reportHtml({
    nonce: 'test-nonce',
    cspSource: 'file:',
    scriptUrl,
    title: 'ds',
    run: siblings[0],
    plotUrl: 'file://' + join(runDir, 'accuracy-vs-radius.svg'),
    siblings,
  })
    // the VS Code API the webview gets, stubbed before the page's script
    .replace(
      '<script nonce="test-nonce" src=',
      `<script nonce="test-nonce">window.__posted=[];window.__state=null;window.acquireVsCodeApi=()=>({postMessage:(m)=>window.__posted.push(m),setState:(s)=>{window.__state=s;}});</script><script nonce="test-nonce" src=`,
    );
  writeFileSync(join(tmp, 'report.html'), html);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--allow-file-access-from-files',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto('file://' + join(tmp, 'report.html'));
  await page.waitForFunction(() => {
    const imgs = Array.from(document.images);
    return imgs.length === 1 && imgs.every((i) => i.complete);
  });
});

after(async () => {
  await browser?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('report renders the real summary: metrics, both plots, per-image rows, no CSP violations', { skip }, async () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(cspViolations, []);
  const plots = await page.evaluate(() => Array.from(document.images).map((i) => ({ id: i.id, w: i.naturalWidth, h: i.naturalHeight })));
  assert.deepEqual(
    plots.map((p) => p.id),
    ['accuracy-vs-radius'],
  );
  for (const p of plots) assert.ok(p.w > 100 && p.h > 100, `${p.id} loaded: ${p.w}×${p.h}`);
  // the σ chart is inline SVG (no data: URL under the CSP)
  const sigma = await page.evaluate(() => document.querySelector('#dice-vs-sigma svg')?.getBoundingClientRect().width ?? 0);
  assert.ok(sigma > 100, `dice-vs-sigma rendered: ${sigma}px wide`);
  const metrics = await page.locator('#metrics').innerText();
  assert.ok(metrics.includes(summary.certified!.pooled.meanDice!.toFixed(3)), metrics);
  assert.ok(metrics.includes(summary.clean!.pooled.meanDice!.toFixed(3)), metrics);
  assert.match(metrics, /abstain rate/);
  assert.equal(await page.locator('#per-image tbody tr').count(), 2);
  assert.match(await page.locator('#params').innerText(), /2 images \(2 with masks\), σ = 0\.25, n0 = 4, n = 60/);
  assert.equal(await page.locator('#runs button').count(), 2);
  const state = await page.evaluate(() => (window as unknown as { __state: unknown }).__state);
  assert.deepEqual(state, { runDir });
  await page.screenshot({ path: join(tmp, 'report.png'), fullPage: true });
});

test('per-image table sorts by a header click; a row click asks to open that result', { skip }, async () => {
  const ids = () => page.locator('#per-image tbody tr td:first-child').allInnerTexts();
  assert.deepEqual(await ids(), ['a', 'b']);
  await page.click('#per-image th[data-key="id"]');
  assert.equal(await page.getAttribute('#per-image th[data-key="id"]', 'aria-sort'), 'ascending');
  await page.click('#per-image th[data-key="id"]');
  assert.equal(await page.getAttribute('#per-image th[data-key="id"]', 'aria-sort'), 'descending');
  assert.deepEqual(await ids(), ['b', 'a']);
  await page.click('#per-image th[data-key="certifiedDice"]'); // numeric column: no error, still 2 rows
  assert.equal((await ids()).length, 2);
  await page.click('#per-image tbody tr[data-id="b"] td:nth-child(3)');
  const posted = await page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted);
  assert.deepEqual(posted.at(-1), { type: 'openSample', dir: 'images/b', id: 'b' });
  await page.click('#runs button:nth-child(2)');
  const posted2 = await page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted);
  assert.deepEqual(posted2.at(-1), { type: 'openRun', runDir: join(runs, 'default-sigma-0.5') });
});

test('Dice vs σ needs two σ; one run per σ (the latest)', { skip }, () => {
  const a: ReportRun = { runDir: '/a', label: 'a', summary, mtimeMs: 1 };
  assert.equal(diceVsSigmaSvg([a]), null);
  const svg = diceVsSigmaSvg([a, { ...a, runDir: '/b', summary: { ...summary, params: { ...summary.params!, sigma: 0.5 } }, mtimeMs: 2 }]);
  assert.match(svg ?? '', /^<svg[\s\S]*Certified foreground Dice vs\. σ \(2 runs\)/);
});
