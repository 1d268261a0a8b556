/**
 * Shared by the end-to-end tests: a real VS Code (code-server 4.100.3 = VS Code 1.100.3) with the extension,
 * in its own user-data and extensions folders, driven by headless Chromium (playwright-core).
 * Install first: scripts/install-code-server.sh (into .tools/). `skip` says why a test cannot run.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';

export const ROOT = join(__dirname, '..', '..');
const CODE_SERVER = join(ROOT, '.tools', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
export const skip: string | false = !existsSync(CODE_SERVER)
  ? 'code-server is not installed: run scripts/install-code-server.sh (installs into .tools/)'
  : !CHROMIUM
    ? 'chromium is not installed (apt-get install -y chromium)'
    : !existsSync(join(ROOT, 'dist', 'client', 'extension.js'))
      ? 'dist/ is missing: run node esbuild.mjs'
      : false;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T> {
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

/** certseg's status bar item names a running worker's engine, e.g. "certseg: onnx/cpu" */
export const ENGINE_SHOWN = /certseg: \S+\/\S+/;

export interface VSCode {
  page: Page;
  workspace: string;
  /** everything VS Code's log files hold so far (the extension's output channel included) */
  logs(): string;
  /** worker processes started by THIS code-server (never anyone else's: the machine is shared) */
  workerPids(): string[];
  /** run a command from the palette by its title */
  runCommand(title: string): Promise<void>;
  /** open a workspace file with Quick Open */
  openFile(name: string): Promise<void>;
  /** click the open context menu's item `label`; true once the menu has closed (the item ran) */
  clickMenuItem(label: string): Promise<boolean>;
  /** the first frame (webviews are nested iframes) for which `probe`, run inside it, is true */
  frameWhere<A = undefined>(probe: (arg: A) => boolean, arg?: A): Promise<Frame | null>;
  /** certseg's status bar item as shown ('' while there is none) */
  statusBarText(): Promise<string>;
  /** the frame of VS Code's own image preview once it shows `name` (the image loaded), or null after `ms` */
  imagePreviewOf(name: string, ms: number): Promise<Frame | null>;
  /** close the editor tab whose label contains `label`, if there is one; true once it is gone */
  closeTab(label: string): Promise<boolean>;
  /** what each frame holds and the page's recent console lines: printed when a webview does not show up */
  describeFrames(): Promise<string>;
  close(): Promise<void>;
}

/**
 * Start code-server on a fresh workspace. `prepare(ws)` fills the workspace; `settings` go into the user
 * settings. The extension is the repository itself (dist/ built), or the .vsix in CERTSEG_E2E_VSIX
 * installed the way a user installs it.
 */
export async function startVSCode(prepare: (ws: string) => void, settings: Record<string, unknown>): Promise<VSCode> {
  const tmp = mkdtempSync(join(tmpdir(), 'certseg-e2e-'));
  const ws = join(tmp, 'ws'),
    ud = join(tmp, 'ud'),
    ext = join(tmp, 'ext');
  for (const d of [ws, join(ud, 'User'), ext]) mkdirSync(d, { recursive: true });
  prepare(ws);
  writeFileSync(
    join(ud, 'User', 'settings.json'),
    JSON.stringify({ 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off', ...settings }),
  );
  const vsix = process.env.CERTSEG_E2E_VSIX;
  if (vsix) {
    const r = spawnSync(process.execPath, [CODE_SERVER, '--extensions-dir', ext, '--user-data-dir', ud, '--install-extension', vsix], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `installing ${vsix} failed: ${r.stderr}`);
  } else {
    symlinkSync(ROOT, join(ext, 'certseg.certseg-0.1.0'));
  }
  const port = await freePort();
  const server = spawn(
    process.execPath,
    [
      CODE_SERVER,
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--extensions-dir',
      ext,
      '--user-data-dir',
      ud,
      ws,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const serverLog: string[] = [];
  server.stdout!.on('data', (d: Buffer) => serverLog.push(d.toString()));
  server.stderr!.on('data', (d: Buffer) => serverLog.push(d.toString()));
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    server.kill();
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    await until('code-server to listen', async () => serverLog.join('').includes('HTTP server listening'), 60_000);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const consoleLines: string[] = [];
    const keep = (line: string) => {
      consoleLines.push(`${new Date().toISOString().slice(11, 23)} ${line.slice(0, 400)}`);
      if (consoleLines.length > 200) consoleLines.shift();
    };
    page.on('console', (m) => keep(`console.${m.type()} [${m.location().url.slice(-80)}] ${m.text()}`));
    page.on('pageerror', (e) => keep(`pageerror ${e.message}`));
    page.on('requestfailed', (r) => keep(`requestfailed ${r.url().slice(-120)} ${r.failure()?.errorText ?? ''}`));
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
    // Open a quick input with `key`, type `text`, wait for `row`, press Enter. A focused webview can swallow
    // the key, and a webview taking focus (e.g. after a worker restart) closes the input: start over then.
    const quickPick = async (key: string, text: string, row: string) => {
      for (let attempt = 1; ; attempt++) {
        try {
          await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
          await page.keyboard.press(key);
          const input = page.locator('.quick-input-widget input');
          await input.waitFor({ state: 'visible', timeout: 10_000 });
          await input.click({ timeout: 5_000 });
          await input.pressSequentially(text, { timeout: 10_000 });
          await page.waitForSelector(row, { timeout: attempt < 3 ? 15_000 : 30_000 });
          await page.keyboard.press('Enter');
          return;
        } catch (e) {
          if (attempt === 3) throw e;
          console.log(`E2E: quick input for "${text}" failed on attempt ${attempt} (${(e as Error).message.split('\n')[0]}); retrying`);
          await page.keyboard.press('Escape');
        }
      }
    };
    const frameWhere = async <A>(probe: (arg: A) => boolean, arg?: A): Promise<Frame | null> => {
      for (const f of page.frames()) {
        try {
          if (await f.evaluate(probe as (arg: unknown) => boolean, arg)) return f;
        } catch {
          /* detached or cross-origin */
        }
      }
      return null;
    };
    const runCommand = (title: string) =>
      quickPick('F1', title, `.quick-input-list .monaco-list-row[aria-label*="${title.replace(/"/g, '\\"')}"]`);
    return {
      page,
      workspace: ws,
      close,
      logs: () => execFileSync('bash', ['-c', `cat $(find ${join(ud, 'logs')} -name '*.log') 2>/dev/null || true`]).toString(),
      workerPids() {
        const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,args='])
          .toString()
          .trim()
          .split('\n')
          .map((l) => {
            const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l)!;
            return { pid: m[1], ppid: m[2], args: m[3] };
          });
        const mine = new Set([String(server.pid)]);
        for (let grew = true; grew;) {
          grew = false;
          for (const r of rows) {
            if (mine.has(r.ppid) && !mine.has(r.pid)) {
              mine.add(r.pid);
              grew = true;
            }
          }
        }
        return rows.filter((r) => mine.has(r.pid) && r.args.includes('dist/server/server.js')).map((r) => r.pid);
      },
      runCommand,
      async openFile(name) {
        await quickPick('Control+P', name, '.quick-input-list .monaco-list-row');
        await page.waitForTimeout(1000);
      },
      // VS Code's menu attaches an item's mouse-up handler 100 ms after the menu renders (menu.ts, a
      // RunOnceScheduler); on a loaded machine a click can land before that, and it is dropped with the menu left
      // open (seen: three right-clicks in a row lost). A user clicks again; so does this.
      async clickMenuItem(label) {
        const item = page.locator('.context-view .action-label', { hasText: label }).first();
        if (!(await until('the context menu item', async () => (await item.count()) > 0, 10_000).catch(() => null))) return false;
        for (let attempt = 1; attempt <= 10; attempt++) {
          await item.click({ timeout: 5_000 }).catch(() => undefined);
          if (await until('the menu to close', async () => (await item.count()) === 0, 1_000).catch(() => false)) return true;
          console.log(`E2E: the menu item "${label}" did not take the click (attempt ${attempt}); clicking again`);
        }
        return false;
      },
      frameWhere,
      statusBarText: () =>
        page
          .locator('.statusbar-item', { hasText: 'certseg' })
          .first()
          .innerText()
          .catch(() => ''),
      imagePreviewOf(name, ms) {
        return until(
          `VS Code's image preview of ${name}`,
          () =>
            frameWhere((n: string) => Array.from(document.images).some((i) => i.src.includes(n) && i.complete && i.naturalWidth > 0), name),
          ms,
        ).catch(() => null);
      },
      async closeTab(label) {
        const tab = page.locator('.tab', { hasText: label }).first();
        if ((await tab.count()) === 0) return true;
        await tab.click({ timeout: 10_000 }).catch(() => undefined);
        await runCommand('View: Close Editor').catch(() => undefined);
        return until('the tab to close', async () => (await page.locator('.tab', { hasText: label }).count()) === 0, 10_000).catch(
          () => false,
        );
      },
      async describeFrames() {
        const rows: string[] = [];
        for (const f of page.frames()) {
          const inside = await f
            .evaluate(() => ({
              ready: document.readyState,
              app: !!document.getElementById('app'),
              title: document.getElementById('title')?.textContent ?? null,
              body: (document.body?.innerHTML ?? '').replace(/\s+/g, ' ').slice(0, 300),
            }))
            .catch((e: Error) => ({ error: e.message.split('\n')[0] }));
          rows.push(`frame ${f.name() || '-'} ${f.url().slice(0, 160)}${f.isDetached() ? ' (detached)' : ''}: ${JSON.stringify(inside)}`);
        }
        const toasts = await page
          .locator('.notifications-toasts')
          .innerText()
          .catch(() => '');
        const tabs = await page
          .locator('.tabs-container .tab')
          .allInnerTexts()
          .catch(() => []);
        const logTail = execFileSync('bash', [
          '-c',
          `tail -n 15 $(find ${join(ud, 'logs')} -name '*.log' -newer ${join(ud, 'User', 'settings.json')}) 2>/dev/null || true`,
        ])
          .toString()
          .split('\n')
          .map((l) => l.slice(0, 300));
        return [
          ...rows,
          `tabs: ${JSON.stringify(tabs)}; notifications: ${toasts.replace(/\s+/g, ' ')}`,
          '--- last console lines ---',
          ...consoleLines.slice(-40),
          '--- code-server logs (last lines of each) ---',
          ...logTail,
        ].join('\n');
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}
