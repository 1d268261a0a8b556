/**
 * End-to-end: the extension in a real VS Code (code-server 4.100.3 = VS Code 1.100.3) driven by headless
 * Chromium. Right-click-free path: open sample.png, run "certseg: Certify Segmentation" from the command
 * palette, watch the preview webview fill in (time to first partial overlay), wait for the result, then
 * kill the worker and check the client restarts it with a message.
 * Install first: scripts/install-code-server.sh (into .tools/). Skips with a message when not installed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';

const ROOT = join(__dirname, '..', '..');
const CODE_SERVER = join(ROOT, '.tools', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const skip = !existsSync(CODE_SERVER)
  ? 'code-server is not installed: run scripts/install-code-server.sh (installs into .tools/)'
  : !CHROMIUM
    ? 'chromium is not installed (apt-get install -y chromium)'
    : !existsSync(join(ROOT, 'dist', 'client', 'extension.js'))
      ? 'dist/ is missing: run node esbuild.mjs'
      : false;

const tmp = mkdtempSync(join(tmpdir(), 'certseg-e2e-'));
let server: ChildProcess | undefined;
let browser: Browser | undefined;
let page: Page;
const serverLog: string[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** The frame holding the certseg preview (webviews are nested iframes). */
async function previewFrame(): Promise<Frame | null> {
  for (const f of page.frames()) {
    try {
      if (await f.evaluate(() => !!document.getElementById('metrics') && !!document.getElementById('layer-certified'))) return f;
    } catch {
      /* detached or cross-origin */
    }
  }
  return null;
}

/** Worker processes started by OUR code-server (never anyone else's: the machine is shared). */
function workerPids(): string[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,args=']).toString().trim().split('\n').map((l) => {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l)!;
    return { pid: m[1], ppid: m[2], args: m[3] };
  });
  const mine = new Set([String(server!.pid)]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of rows) if (mine.has(r.ppid) && !mine.has(r.pid)) mine.add(r.pid), (grew = true);
  }
  return rows.filter((r) => mine.has(r.pid) && r.args.includes('dist/server/server.js')).map((r) => r.pid);
}

async function runCommand(title: string) {
  await page.keyboard.press('F1');
  await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
  await page.keyboard.type(title);
  await page.waitForSelector(`.quick-input-list .monaco-list-row[aria-label*="${title.replace(/"/g, '\\"')}"]`, { timeout: 30_000 });
  await page.keyboard.press('Enter');
}

before(async () => {
  if (skip) return;
  const ws = join(tmp, 'ws');
  const ud = join(tmp, 'ud');
  const ext = join(tmp, 'ext');
  mkdirSync(ws, { recursive: true });
  mkdirSync(join(ud, 'User'), { recursive: true });
  mkdirSync(ext, { recursive: true });
  copyFileSync(join(ROOT, 'models', 'default', 'sample.png'), join(ws, 'sample.png'));
  copyFileSync(join(ROOT, 'models', 'default', 'sample-mask.png'), join(ws, 'sample-mask.png'));
  writeFileSync(join(ud, 'User', 'settings.json'), JSON.stringify({ 'security.workspace.trust.enabled': false, 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off' }));
  const vsix = process.env.CERTSEG_E2E_VSIX;
  if (vsix) {
    // the packaged extension, installed the way a user installs it (npm run package builds it)
    const r = spawnSync(process.execPath, [CODE_SERVER, '--extensions-dir', ext, '--user-data-dir', ud, '--install-extension', vsix], { encoding: 'utf8' });
    assert.equal(r.status, 0, `installing ${vsix} failed: ${r.stderr}`);
  } else {
    // the repository itself is the extension (dist/ built): link it into the extensions folder
    symlinkSync(ROOT, join(ext, 'certseg.certseg-0.1.0'));
  }
  const port = await freePort();
  server = spawn(process.execPath, [CODE_SERVER, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--extensions-dir', ext, '--user-data-dir', ud, ws], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout!.on('data', (d: Buffer) => serverLog.push(d.toString()));
  server.stderr!.on('data', (d: Buffer) => serverLog.push(d.toString()));
  await until('code-server to listen', async () => serverLog.join('').includes('HTTP server listening'), 60_000);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
});

after(async () => {
  await browser?.close();
  server?.kill();
  rmSync(tmp, { recursive: true, force: true });
});

test('certify from the command palette: preview opens at once, fills in, shows the result; the worker restarts after a crash', { skip, timeout: 600_000 }, async () => {
  // open the image (VS Code's image preview), then the command
  await page.keyboard.press('Control+P');
  await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
  await page.keyboard.type('sample.png');
  await page.waitForSelector('.quick-input-list .monaco-list-row', { timeout: 30_000 });
  await page.keyboard.press('Enter');
  await page.waitForTimeout(1000);
  // the extension activates on the command; the status bar item appears once the worker is up
  const t0 = Date.now();
  await runCommand('certseg: Certify Segmentation');
  const frame = await until('the preview webview', previewFrame, 60_000);
  const tPanel = Date.now() - t0;
  await until('a partial overlay', () => frame.evaluate(() => (document.getElementById('layer-certified') as HTMLCanvasElement).width > 0), 120_000, 100);
  const tPartial = Date.now() - t0;
  await until('the result', () => frame.evaluate(() => document.body.dataset.state === 'result'), 300_000, 250);
  const tResult = Date.now() - t0;
  const metrics = await frame.evaluate(() => document.getElementById('metrics')!.innerText);
  const firstPartial = /first partial\s+(\d+) ms/.exec(metrics)?.[1];
  console.log(`E2E: panel visible after ${tPanel} ms (activation + worker start included), partial overlay seen after ${tPartial} ms, result after ${tResult} ms; first partial ${firstPartial} ms after the request (host-measured)`);
  assert.ok(firstPartial, 'the webview got partial results');
  assert.match(metrics, /certified pixels/);
  assert.match(metrics, /clean mean Dice/, 'the mask beside the image was found');
  const status = await until('the status bar item', async () => (await page.locator('.statusbar-item', { hasText: 'certseg' }).first().innerText().catch(() => '')) || null, 30_000);
  console.log(`status bar: ${status}`);
  assert.match(status, /certseg/);
  await page.screenshot({ path: join(ROOT, 'dist', 'test-out', 'e2e.png') }).catch(() => undefined);

  const wsDir = join(tmp, 'ws');
  assert.ok(existsSync(join(wsDir, '.certseg', 'sample.png', 'report.json')), 'result stored in the workspace under .certseg/');

  // "Segmentation Preview" custom editor on the image: a fresh webview that shows the STORED result (.npy read back)
  await page.locator('.tab', { hasText: 'sample.png' }).first().click();
  await runCommand('certseg: Open Segmentation Preview');
  await until('a second preview showing the stored result', async () => {
    let n = 0;
    for (const f of page.frames()) {
      try {
        if (await f.evaluate(() => document.body.dataset.state === 'result' && !!document.getElementById('metrics')?.innerText.includes('certified pixels'))) n++;
      } catch {
        /* detached */
      }
    }
    return n >= 2;
  }, 60_000);

  // reload the window: the panel serializer revives the preview and reloads the stored result. (Checked in the
  // extension's log: after page.reload() VS Code's webview service worker does not serve vscode-resource URLs
  // in headless Chromium, which leaves every webview blank, the built-in image preview's too.)
  await page.reload();
  await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
  const logs = join(tmp, 'ud', 'logs');
  await until('the panel revived with its stored result', async () => {
    const text = execFileSync('bash', ['-c', `cat $(find ${logs} -name '*.log') 2>/dev/null || true`]).toString();
    const revived = text.lastIndexOf('reviving the preview of ' + join(wsDir, 'sample.png'));
    return revived >= 0 && text.indexOf('stored result for sample.png: ' + join(wsDir, '.certseg', 'sample.png'), revived) > revived;
  }, 60_000, 500);

  // crash the worker: the client restarts it and says so
  const pids = workerPids();
  assert.ok(pids.length >= 1, 'the worker process runs');
  for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
  // The warning toast is the user-visible sign; under load VS Code sometimes folds it into the notification
  // centre before we look, so the client's log line (written at the same moment) also counts.
  await until('the restart message', async () => {
    if ((await page.locator('.notifications-toasts').innerText().catch(() => '')).includes('stopped unexpectedly')) return true;
    const text = execFileSync('bash', ['-c', `cat $(find ${logs} -name '*.log') 2>/dev/null || true`]).toString();
    return text.includes('certseg worker stopped unexpectedly; restarting');
  }, 30_000);
  await until('a new worker process', async () => {
    const now = workerPids();
    return now.length >= 1 && now.every((p) => !pids.includes(p));
  }, 30_000);
});
