/**
 * Stored results are untrusted input. Hostile fixtures are generated here from REAL outputs (the CLI
 * certifying the shipped sample, as one image and as a two-image dataset): HTML, script, form,
 * meta-refresh and javascript: payloads in every string and number field of summary.json and report.json,
 * .npy files with lying headers, and file references with '..' and absolute paths. Every tampered file
 * either fails validation with "unreadable result: FIELD …" or, where free text is allowed, renders with
 * no raw markup from the payload. The report page is then loaded in headless Chromium with the hostile
 * strings: no payload element in the DOM, no navigation, no form.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { reportHtml, type ReportRun } from '../../client/src/reportHtml';
import { UnreadableResult, validateNpy, validateReport, validateSummary } from '../../client/src/validate/stored';
import { checkPreviewMessage, checkReportMessage } from '../../client/src/validate/messages';
import { encodeNpy } from '../../server/src/image/npy';

const root = join(__dirname, '..', '..');
const cli = join(root, 'dist/server/cli.js');
const SAMPLE = join(root, 'models/default/sample.png');
const SAMPLE_MASK = join(root, 'models/default/sample-mask.png');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const tmp = mkdtempSync(join(tmpdir(), 'certseg-hostile-'));
const PAYLOADS = [
  '0.25"><h1 id="pwned">x</h1>',
  '<script>window.__pwned=1</script>',
  '<form id="pwned-form" action="https://example.invalid/login"><input name="password"></form>',
  '<meta http-equiv="refresh" content="0;url=https://example.invalid">',
  '<img id="pwned-img" src=x onerror="window.__pwned=1">',
  'javascript:window.__pwned=1',
  '\'><iframe id="pwned-frame" src="https://example.invalid"></iframe>',
];
let summaryText = '';
/** summary.json of a partial cluster merge (timings.shards, partial): the other shape main writes */
let mergedText = '';
let reportText = '';
let runDir = '';

before(() => {
  assert.ok(existsSync(cli), 'run `npm run build` first (npm test does)');
  const ds = join(tmp, 'ds');
  for (const sub of ['images', 'masks']) mkdirSync(join(ds, sub), { recursive: true });
  for (const id of ['a', 'b']) {
    copyFileSync(SAMPLE, join(ds, 'images', `${id}.png`));
    copyFileSync(SAMPLE_MASK, join(ds, 'masks', `${id}.png`));
  }
  runDir = join(tmp, 'runs', 'default');
  const r = spawnSync(
    process.execPath,
    [cli, 'dataset', ds, '--out', runDir, '--n0', '4', '--n', '60', '--alpha', '0.01', '--no-denoiser'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  summaryText = readFileSync(join(runDir, 'summary.json'), 'utf8');
  const shard = join(tmp, 'shard0');
  const merged = join(tmp, 'runs', 'merged');
  for (const args of [
    ['dataset', ds, '--out', shard, '--n0', '4', '--n', '60', '--alpha', '0.01', '--no-denoiser', '--shard', '0/2'],
    ['merge', shard, '--out', merged, '--allow-partial'],
  ]) {
    const m = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    assert.equal(m.status, 0, m.stderr);
  }
  mergedText = readFileSync(join(merged, 'summary.json'), 'utf8');
  reportText = readFileSync(join(runDir, 'images', 'a', 'report.json'), 'utf8');
});

after(() => rmSync(tmp, { recursive: true, force: true }));

/** Every leaf of a JSON value, as [path, value]. */
function leaves(v: unknown, p: (string | number)[] = []): [(string | number)[], unknown][] {
  if (v && typeof v === 'object')
    return Object.entries(v as object).flatMap(([k, x]) => leaves(x, [...p, Array.isArray(v) ? Number(k) : k]));
  return [[p, v]];
}

function withLeaf(json: string, p: (string | number)[], value: unknown): string {
  const data = JSON.parse(json);
  let o = data;
  for (const k of p.slice(0, -1)) o = o[k];
  o[p[p.length - 1]] = value;
  return JSON.stringify(data);
}

/** No payload reaches the markup unescaped: no '<' from a payload, no attribute break-out. */
function assertNoRawPayload(html: string) {
  for (const bad of [
    '<h1 id="pwned"',
    '<script>window.__pwned',
    '<form',
    '<meta http-equiv="refresh"',
    '<img id="pwned-img"',
    '<iframe',
    'onerror="window',
  ]) {
    assert.ok(!html.includes(bad), `raw markup in the page: ${bad}`);
  }
}

function render(summary: ReturnType<typeof validateSummary>, label = 'default'): string {
  const run: ReportRun = { runDir, label, summary };
  const scriptUrl = 'file://' + join(__dirname, '..', '..', 'dist', 'webview', 'report.js');
  return reportHtml({
    nonce: 'n',
    cspSource: 'vscode-resource:',
    scriptUrl,
    title: summary.dataset,
    run,
    plotUrl: null,
    siblings: [run, { ...run, runDir: runDir + '2' }],
  });
}

test('summary.json as main writes it (one process, and a partial cluster merge) validates; the merge is marked partial', () => {
  validateSummary(summaryText, join(runDir, 'summary.json'));
  const m = validateSummary(mergedText, join(tmp, 'runs', 'merged', 'summary.json'));
  assert.deepEqual(m.partial?.missing, ['b']);
  assert.equal(m.timings.shards?.length, 1);
  assert.ok(
    render(m).includes(`<p id="partial" class="partial">PARTIAL: 1 of 2 images are missing`),
    'the report page says the run is partial',
  );
});

test('summary.json: a payload in every field is refused by validation or rendered inert', (t) => {
  let refused = 0;
  let rendered = 0;
  for (const [base, p] of [summaryText, mergedText].flatMap((b) => leaves(JSON.parse(b)).map(([p]) => [b, p] as const))) {
    for (const payload of PAYLOADS) {
      const text = withLeaf(base, p, payload);
      let s;
      try {
        s = validateSummary(text, join(runDir, 'summary.json'));
      } catch (e) {
        assert.ok(e instanceof UnreadableResult, String(e));
        assert.match(e.message, /^unreadable result: \S+/);
        refused++;
        continue;
      }
      // accepted: free text (names, ids, file names confined to the run folder); it must render inert
      assert.ok(
        ['dataset', 'id', 'dir', 'host', 'note'].includes(String(p[p.length - 1])) || p[0] === 'files' || p[1] === 'missing',
        `accepted a payload in ${p.join('.')}`,
      );
      assertNoRawPayload(render(s, payload));
      rendered++;
    }
  }
  t.diagnostic(`summary.json: ${refused} tampered files refused, ${rendered} free-text payloads rendered inert`);
  assert.ok(refused > 100 && rendered > 0, `${refused} refused, ${rendered} rendered`);
  // numbers as strings name the field
  assert.throws(
    () => validateSummary(withLeaf(summaryText, ['perImage', 0, 'abstainRate'], '0.1"><h1>'), 's.json'),
    /^Error: unreadable result|unreadable result: perImage\.0\.abstainRate must be number/,
  );
});

test('summary.json: paths that leave the run folder are refused', () => {
  const file = join(runDir, 'summary.json');
  for (const dir of ['../../etc', '/etc', 'images/../../x', '..']) {
    assert.throws(() => validateSummary(withLeaf(summaryText, ['perImage', 0, 'dir'], dir), file), /unreadable result: perImage\.0\.dir/);
  }
  for (const f of ['../x.svg', '/etc/passwd', 'a/b.svg', '..']) {
    assert.throws(() => validateSummary(withLeaf(summaryText, ['files', 'plot'], f), file), /unreadable result: files\.plot/);
  }
});

test('report.json: a payload in every field is refused or is free text; file names cannot leave the folder', (t) => {
  let refused = 0;
  let accepted = 0;
  const file = join(runDir, 'images', 'a', 'report.json');
  for (const [p] of leaves(JSON.parse(reportText))) {
    for (const payload of PAYLOADS) {
      try {
        validateReport(withLeaf(reportText, p, payload), file);
        accepted++;
        // strings the preview shows with textContent only: class names, paths, provenance
        const freeText = [
          'config',
          'name',
          'path',
          'card',
          'engine',
          'backend',
          'device',
          'sha256',
          'certsegVersion',
          'node',
          'platform',
          'date',
          'note',
        ];
        assert.ok(freeText.includes(String(p[p.length - 1])) || p[0] === 'files', `accepted a payload in ${p.join('.')}`);
      } catch (e) {
        assert.ok(e instanceof UnreadableResult, String(e));
        refused++;
      }
    }
  }
  t.diagnostic(`report.json: ${refused} tampered files refused, ${accepted} accepted as free text`);
  assert.ok(refused > 100 && accepted > 0, `${refused} refused, ${accepted} accepted as text`);
  for (const f of ['../../../etc/passwd', '/etc/passwd', 'sub/counts.npy']) {
    assert.throws(() => validateReport(withLeaf(reportText, ['files', 'counts'], f), file), /unreadable result: files\.counts/);
  }
  assert.throws(
    () => validateReport(withLeaf(reportText, ['image', 'width'], 1e9), file),
    /unreadable result: image\.width must be <= 65535/,
  );
  assert.throws(
    () => validateReport(withLeaf(reportText, ['classes', 0, 'color'], 'red;background:url(x)'), file),
    /unreadable result: classes\.0\.color/,
  );
});

test('.npy files with lying headers are refused before any array is made', () => {
  const good = encodeNpy(new Uint8Array(6), [2, 3]);
  assert.equal(validateNpy(good, 'x.npy', '|u1', 2, 3).length, 6);
  const header = (s: string) => {
    const b = Buffer.from(good);
    const h = b.toString('latin1', 10, 10 + b.readUInt16LE(8));
    return Buffer.concat([
      b.subarray(0, 10),
      Buffer.from(h.replace(/'shape': \([^)]*\)/, s).padEnd(h.length, ' '), 'latin1'),
      b.subarray(10 + h.length),
    ]);
  };
  assert.throws(() => validateNpy(header("'shape': (100000, 100000)"), 'counts.npy', '|u1', 2, 3), /unreadable result: truncated data/);
  assert.throws(
    () => validateNpy(encodeNpy(new Float32Array(6), [2, 3]), 'counts.npy', '|u1', 2, 3),
    /unreadable result: dtype <f4, expected \|u1/,
  );
  assert.throws(() => validateNpy(good.subarray(0, good.length - 2), 'counts.npy', '|u1', 2, 3), /truncated data/);
  assert.throws(() => validateNpy(encodeNpy(new Uint8Array(6), [3, 2]), 'counts.npy', '|u1', 2, 3), /shape \(3, 2\), expected \(2, 3\)/);
  assert.throws(() => validateNpy(Buffer.from('<h1>not npy</h1>'), 'counts.npy', '|u1', 2, 3), /unreadable result: not a NumPy/);
});

test('messages from the webviews: only known types with typed fields pass', () => {
  assert.deepEqual(checkReportMessage({ type: 'openSample', dir: 'images/a', id: 'a' }), { type: 'openSample', dir: 'images/a', id: 'a' });
  for (const m of [
    null,
    'openSummary',
    { type: 'openSample', dir: 1, id: 'a' },
    { type: 'openRun' },
    { type: 'runCommand', command: 'x' },
    { type: 'openSummary', extra: 1 },
    { type: '__proto__' },
  ]) {
    assert.equal(checkReportMessage(m), null, JSON.stringify(m));
  }
  assert.ok(checkPreviewMessage({ type: 'recertify', tau: 0.9, correction: 'holm' }));
  assert.equal(checkPreviewMessage({ type: 'recertify', tau: '0.9' }), null);
  assert.equal(checkPreviewMessage({ type: 'recertify', correction: 'none' }), null);
  assert.equal(checkPreviewMessage({ type: 'certify', configPath: '/etc/x.certseg.json' }), null);
});

test(
  'headless Chromium: hostile free text on the real report page adds no element, navigates nowhere, posts no form',
  { skip: CHROMIUM ? false : 'chromium is not installed' },
  async () => {
    let s = validateSummary(summaryText, join(runDir, 'summary.json'));
    s = {
      ...s,
      dataset: PAYLOADS.join(' '),
      partial: { missing: PAYLOADS, note: PAYLOADS.join(' ') },
      perImage: s.perImage.map((p, i) => ({ ...p, id: PAYLOADS[i % PAYLOADS.length] + PAYLOADS[(i + 3) % PAYLOADS.length] })),
    };
    const html = render(s, PAYLOADS.join('')).replace(
      '<script nonce="n" src=',
      '<script nonce="n">window.acquireVsCodeApi=()=>({postMessage(){},setState(){}});</script><script nonce="n" src=',
    );
    const file = join(tmp, 'hostile.html');
    writeFileSync(file, html);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      let navigations = 0;
      page.on('framenavigated', () => navigations++);
      await page.goto('file://' + file);
      await page.waitForTimeout(1500); // a meta refresh with 0 s would have fired
      const found = await page.evaluate(() => ({
        pwned: (window as unknown as { __pwned?: number }).__pwned ?? 0,
        ids: ['pwned', 'pwned-form', 'pwned-img', 'pwned-frame'].filter((id) => document.getElementById(id)),
        forms: document.forms.length,
        iframes: document.querySelectorAll('iframe').length,
        metas: document.querySelectorAll('meta[http-equiv="refresh"]').length,
        text: document.getElementById('title')?.textContent ?? '',
        partial: document.getElementById('partial')?.textContent ?? '',
      }));
      assert.deepEqual(
        { ...found, text: undefined, partial: undefined },
        { pwned: 0, ids: [], forms: 0, iframes: 0, metas: 0, text: undefined, partial: undefined },
      );
      assert.equal(found.partial, PAYLOADS.join(' '), 'the partial note is shown as text');
      assert.ok(found.text.includes('<h1 id="pwned">'), 'the payload is shown as text');
      assert.equal(navigations, 1, 'only the initial load');
      assert.deepEqual(
        requests.filter((u) => !u.startsWith('file://')),
        [],
        'no request left the page',
      );
    } finally {
      await browser.close();
    }
  },
);
