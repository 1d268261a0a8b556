/**
 * The preview webview in headless Chromium (playwright-core + Debian's chromium): the built
 * dist/webview/preview.js in a static page with a stub acquireVsCodeApi and the production CSP, fed a REAL
 * result (the worker certifying models/default/sample.png with the shipped models); checks pixels of a
 * screenshot and the hover readout. Skips when no chromium is installed (`apt-get install -y chromium`).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { chromium, type Browser, type Page } from 'playwright-core';
import {
  CertifyImageRequest,
  ConsistencyRequest,
  decodeArray,
  type CertifyImageResultWire,
  type ConsistencyResultWire,
  type PartialResultWire,
  type ShiftMeasurementWire,
} from '../../protocol/messages';
import { CANNOT_CERTIFY, UNDECIDED, WILL_CERTIFY, provisionalState } from '../../common/provisional';
import { ROOT, SAMPLE, SAMPLE_MASK, baseOverrides, startWorker } from '../worker/harness';
import { webviewCsp } from '../../client/src/html';
import { validateConsistency } from '../../client/src/validate/stored';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const PREVIEW_JS = join(ROOT, 'dist', 'webview', 'preview.js');
const OUT = join(ROOT, 'dist', 'test-out'); // git-ignored
const skip = !CHROMIUM
  ? 'chromium is not installed (apt-get install -y chromium)'
  : !existsSync(PREVIEW_JS)
    ? 'dist/webview/preview.js missing: run node esbuild.mjs'
    : false;

let browser: Browser | undefined;
let page: Page;
let result: CertifyImageResultWire;
/** the partial results of that same real run, as the worker streamed them */
const partials: PartialResultWire[] = [];
const dir = mkdtempSync(join(tmpdir(), 'certseg-webview-'));
const cspViolations: string[] = [];
const pageErrors: string[] = [];

before(async () => {
  if (skip) return;
  const w = await startWorker();
  try {
    const d = w.conn.onProgress(CertifyImageRequest.type, 'partials', (p) => void partials.push(p));
    result = await w.conn.sendRequest(CertifyImageRequest.type, {
      imagePath: SAMPLE,
      maskPath: SAMPLE_MASK,
      overrides: baseOverrides(),
      partialResultToken: 'partials',
      partialIntervalMs: 0,
    });
    d.dispose();
  } finally {
    await w.stop();
  }
  copyFileSync(PREVIEW_JS, join(dir, 'preview.js'));
  copyFileSync(join(ROOT, 'media', 'preview.css'), join(dir, 'preview.css'));
  copyFileSync(SAMPLE, join(dir, 'sample.png'));
  // the production page shape (client/src/preview.ts) with file: standing in for webview.cspSource
  const csp = webviewCsp('file:', 'test', 'source');
  writeFileSync(
    join(dir, 'index.html'),
    `<!DOCTYPE html><html><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<link rel="stylesheet" href="preview.css"></head><body>
<div id="app" data-image-name="sample.png"></div>
<script nonce="test">
  window.__posted = [];
  let st;
  window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => st, setState: (s) => { st = s; } });
</script>
<script nonce="test" src="preview.js"></script></body></html>`,
  );
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
  page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto('file://' + join(dir, 'index.html'));
});

after(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends a host → webview message (typed arrays rebuilt in the page from plain arrays). */
async function post(m: Record<string, unknown>) {
  const plain: Record<string, unknown> = {};
  const typed: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (v instanceof Uint8Array || v instanceof Uint16Array || v instanceof Float32Array) {
      plain[k] = Array.from(v);
      typed[k] = v.constructor.name;
    } else plain[k] = v;
  }
  await page.evaluate(
    ([msg, types]) => {
      const g = globalThis as unknown as Record<string, new (a: number[]) => unknown>;
      const o = msg as Record<string, unknown>;
      for (const [k, t] of Object.entries(types as Record<string, string>)) o[k] = new g[t](o[k] as number[]);
      window.postMessage(o, '*');
    },
    [plain, typed] as const,
  );
}

function hexToRgb(hex: string): number[] {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(hex)!;
  return [1, 2, 3].map((i) => parseInt(m[i], 16));
}

test('webview: posts ready, renders a real result, hover readout, no CSP violations', { skip }, async () => {
  assert.deepEqual(await page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted[0]), { type: 'ready' });
  // nothing yet: said in the header's status line, not over the picture
  assert.equal(await page.locator('#status-line').innerText(), 'No result yet. Click Certify to run.');
  assert.equal(await page.locator('.viewer').innerText(), '');
  const W = result.width;
  const H = result.height;
  await post({ type: 'init', imageUrl: 'sample.png', imageName: 'sample.png', imagePath: SAMPLE, running: true, canRun: true });
  // a partial first (selection phase): the overlay shows before the result
  const selected = decodeArray(result.selected);
  const counts = decodeArray(result.counts);
  await post({
    type: 'partial',
    width: W,
    height: H,
    phase: 'estimation',
    samplesDone: 50,
    selected,
    counts,
    certifiedSoFar: null,
    elapsedMs: 123,
  });
  assert.equal(await page.evaluate(() => (document.getElementById('layer-certified') as HTMLCanvasElement).width), W);

  const certified = decodeArray(result.certified);
  await post({
    type: 'result',
    fromCache: false,
    resultDir: null,
    report: result.report,
    classes: result.report.classes,
    width: W,
    height: H,
    clean: decodeArray(result.clean),
    selected,
    counts,
    certified,
    radiusMap: result.radiusMap ? decodeArray(result.radiusMap) : null,
    mask: result.mask ? decodeArray(result.mask) : null,
  });
  await page.waitForSelector('body[data-state="result"]');
  // full opacity, image hidden: the screen shows the certified layer's colors exactly
  await page.evaluate(() => {
    const o = document.getElementById('opacity') as HTMLInputElement;
    o.value = '1';
    o.dispatchEvent(new Event('input'));
    const img = document.getElementById('toggle-image') as HTMLInputElement;
    img.checked = false;
    img.dispatchEvent(new Event('change'));
  });
  const box = (await page.locator('#stack').boundingBox())!;
  const zoom = box.width / W;
  assert.ok(zoom >= 2, `fitted zoom ${zoom}`);
  mkdirSync(OUT, { recursive: true });
  const shot = await page.screenshot({ path: join(OUT, 'preview.png') });
  const { data, info } = await sharp(shot).raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => {
    const sx = Math.floor(box.x + (x + 0.5) * zoom);
    const sy = Math.floor(box.y + (y + 0.5) * zoom);
    const o = (sy * info.width + sx) * info.channels;
    return [data[o], data[o + 1], data[o + 2]];
  };
  // a certified foreground pixel shows its class color; an abstained pixel shows the hatch
  const fg = certified.findIndex((k) => k !== 255 && k !== 0);
  const ab = certified.findIndex((k) => k === 255);
  assert.ok(fg >= 0 && ab >= 0, 'the sample has both certified foreground and abstained pixels');
  const want = hexToRgb(result.report.classes[certified[fg]].color);
  const got = at(fg % W, Math.floor(fg / W));
  assert.ok(
    got.every((v, i) => Math.abs(v - want[i]) <= 3),
    `certified pixel ${got} != class color ${want}`,
  );
  const hatchPx = at(ab % W, Math.floor(ab / W));
  assert.ok(
    [
      [40, 40, 40],
      [200, 200, 200],
    ].some((c) => c.every((v, i) => Math.abs(v - hatchPx[i]) <= 3)),
    `abstain pixel ${hatchPx} is not hatched`,
  );

  // hover readout over the certified pixel: class, votes, p-value, radius
  await page.mouse.move(box.x + ((fg % W) + 0.5) * zoom, box.y + (Math.floor(fg / W) + 0.5) * zoom);
  const text = await page.locator('#readout').innerText();
  assert.match(text, new RegExp(`certified: ${result.report.classes[certified[fg]].name}`));
  assert.match(text, new RegExp(`votes: ${counts[fg]}/${result.report.params.n}`));
  assert.match(text, /p-value: /);
  assert.match(text, /radius: \d/);
  // hover over the abstained pixel
  await page.mouse.move(box.x + ((ab % W) + 0.5) * zoom, box.y + (Math.floor(ab / W) + 0.5) * zoom);
  assert.match(await page.locator('#readout').innerText(), /certified: abstain/);
  // metrics and legend
  const metrics = await page.locator('#metrics').innerText();
  assert.match(metrics, /certified pixels/);
  assert.match(metrics, new RegExp(String(result.report.certifiedPixels)));
  const wk = result.report.working!;
  assert.match(
    metrics,
    new RegExp(`working size\\s+${wk.segmenter.width}×${wk.segmenter.height} ${wk.segmenter.how}.*, batch ${wk.batchSize}`),
    'the memory plan is shown',
  );
  assert.match(await page.locator('#legend').innerText(), /abstain/);
  // toggles: the radius layer becomes visible
  await page.locator('#toggle-radius').check();
  assert.equal(await page.locator('#layer-radius').isVisible(), result.radiusMap !== null);
  // state persisted for the serializer
  const st = await page.evaluate(() =>
    (window as unknown as { acquireVsCodeApi(): { getState(): unknown } }).acquireVsCodeApi().getState(),
  );
  assert.equal((st as { imagePath: string }).imagePath, SAMPLE);
  // zoom with the wheel keeps crisp pixels (image-rendering: pixelated)
  await page.mouse.wheel(0, -100);
  assert.equal(await page.evaluate(() => getComputedStyle(document.getElementById('layer-certified')!).imageRendering), 'pixelated');
  assert.deepEqual(cspViolations, []);
  assert.deepEqual(pageErrors, []);
});

test('webview: translation consistency (real measurement) as the Shift flips layer with its numbers', { skip }, async () => {
  const w = await startWorker();
  let r: ConsistencyResultWire;
  try {
    r = await w.conn.sendRequest(ConsistencyRequest.type, { imagePath: SAMPLE, overrides: baseOverrides() });
  } finally {
    await w.stop();
  }
  // stored as-is by the extension, then read back as untrusted input: the real one validates, tampered ones do not
  const file = '/ws/.certseg/sample.png.consistency.json';
  assert.equal(validateConsistency(JSON.stringify(r), file).width, r.width);
  const tampered: [(c: ConsistencyResultWire) => void, RegExp][] = [
    [(c) => void ((c as unknown as { width: string }).width = '<h1>'), /unreadable result: width must be integer/],
    [(c) => void (c.plain.flipMap.length = 1e9), /plain\.flipMap\.length 1000000000 is not width × height/],
    [(c) => void (c.plain.flipMap.base64 = c.plain.flipMap.base64.slice(8)), /plain\.flipMap holds \d+ bytes/],
    [(c) => void ((c.plain.directions[0] as unknown as { dy: number }).dy = 5), /plain\.directions\.0\.dy must be <= 1/],
    [(c) => void ((c as unknown as { extra: string }).extra = 'x'), /extra is not an expected field/],
  ];
  for (const [tamper, pattern] of tampered) {
    const c = JSON.parse(JSON.stringify(r)) as ConsistencyResultWire;
    tamper(c);
    assert.throws(() => validateConsistency(JSON.stringify(c), file), pattern);
  }
  const m = (x: ShiftMeasurementWire) => ({ ...x, flipMap: decodeArray(x.flipMap) });
  const plain = m(r.plain);
  await post({
    type: 'consistency',
    width: r.width,
    height: r.height,
    plain,
    cropSelection: {
      ...m(r.cropSelection!),
      M: 8,
      bound: r.cropSelection!.bound,
      exchangeable: r.cropSelection!.exchangeable,
      anyShift: r.cropSelection!.anyShift,
    },
    segmenter: 'segmenter.card.json on onnx',
  });
  await page.waitForSelector('body[data-consistency="shown"]');
  const table = await page.locator('#consistency-table').innerText();
  assert.match(table, /crop selection M = 8/);
  assert.ok(table.includes(`${(100 * r.plain.changedAnyFraction).toFixed(1)}%`), table);
  assert.ok(table.includes(`${(100 * r.cropSelection!.bound).toFixed(1)}%`), table);
  assert.ok(table.includes(`${(100 * r.cropSelection!.anyShift).toFixed(1)}%`), table);
  assert.equal(await page.locator('#toggle-flips').isChecked(), true);
  assert.equal(await page.locator('#layer-flips').isVisible(), true);
  const flipped = plain.flipMap.findIndex((v) => v > 0);
  assert.ok(flipped >= 0, 'some pixel of the sample flips under a one-pixel shift');
  const px = await page.evaluate((i) => {
    const c = document.getElementById('layer-flips') as HTMLCanvasElement;
    return Array.from(c.getContext('2d')!.getImageData(i % c.width, Math.floor(i / c.width), 1, 1).data);
  }, flipped);
  assert.equal(px[0], 255);
  assert.equal(px[3], 255);
  const box = (await page.locator('#stack').boundingBox())!;
  const zoom = box.width / r.width;
  await page.mouse.move(box.x + ((flipped % r.width) + 0.5) * zoom, box.y + (Math.floor(flipped / r.width) + 0.5) * zoom);
  assert.match(await page.locator('#readout').innerText(), new RegExp(`shift flips: ${plain.flipMap[flipped]}/8`));
  await page.click('#check-consistency');
  assert.deepEqual(await page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted.at(-1)), { type: 'checkConsistency' });
  assert.deepEqual(cspViolations, []);
  assert.deepEqual(pageErrors, []);
});

test('webview: hostile names in a (validated) result add no element, run no script, navigate nowhere', { skip }, async () => {
  const payload =
    '"><h1 id="pwned">x</h1><form id="pwned-form" action="https://example.invalid"></form><img id="pwned-img" src=x onerror="window.__pwned=1"><meta http-equiv="refresh" content="0;url=https://example.invalid">';
  let navigations = 0;
  page.on('framenavigated', () => navigations++);
  const W = result.width;
  const H = result.height;
  await post({ type: 'init', imageUrl: 'sample.png', imageName: payload, imagePath: '/ws/' + payload, running: false, canRun: true });
  const classes = result.report.classes.map((c) => ({ ...c, name: payload + c.name }));
  const report = {
    ...result.report,
    classes,
    image: { ...result.report.image, path: '/ws/' + payload },
    provenance: { ...result.report.provenance, date: payload },
  };
  await post({
    type: 'result',
    fromCache: true,
    resultDir: '/ws/.certseg/' + payload,
    report,
    classes,
    width: W,
    height: H,
    clean: decodeArray(result.clean),
    selected: decodeArray(result.selected),
    counts: decodeArray(result.counts),
    certified: decodeArray(result.certified),
    radiusMap: result.radiusMap ? decodeArray(result.radiusMap) : null,
    mask: result.mask ? decodeArray(result.mask) : null,
  });
  await post({ type: 'error', message: 'unreadable result: ' + payload });
  await page.waitForTimeout(1000);
  const found = await page.evaluate(() => ({
    pwned: (window as unknown as { __pwned?: number }).__pwned ?? 0,
    ids: ['pwned', 'pwned-form', 'pwned-img'].filter((id) => document.getElementById(id)),
    forms: document.forms.length,
    metas: document.querySelectorAll('meta[http-equiv="refresh"]').length,
    shown: document.body.innerText.includes('<h1 id="pwned">'),
  }));
  assert.deepEqual(found, { pwned: 0, ids: [], forms: 0, metas: 0, shown: true });
  assert.equal(navigations, 0);
  assert.deepEqual(cspViolations, []);
});

/** A partial as the host posts it (arrays decoded). */
function partialMessage(p: PartialResultWire, elapsedMs: number) {
  return {
    type: 'partial',
    width: p.width,
    height: p.height,
    phase: p.phase,
    samplesDone: p.samplesDone,
    samplesTotal: p.samplesTotal,
    thresholds: p.thresholds,
    selected: decodeArray(p.selected),
    counts: decodeArray(p.counts),
    certifiedSoFar: p.certifiedSoFar ? decodeArray(p.certifiedSoFar) : null,
    elapsedMs,
  };
}

/** RGBA of one pixel of a layer canvas. */
const layerPixel = (layer: string, i: number) =>
  page.evaluate(
    ([id, i]) => {
      const c = document.getElementById(id as string) as HTMLCanvasElement;
      return Array.from(c.getContext('2d')!.getImageData((i as number) % c.width, Math.floor((i as number) / c.width), 1, 1).data);
    },
    [`layer-${layer}`, i] as const,
  );

test(
  'webview: a run in progress is PROVISIONAL from the first partial (running mode, then will / cannot / undecided from the real counts); cancel and failure drop it',
  { skip },
  async () => {
    const W = result.width;
    const H = result.height;
    await post({ type: 'init', imageUrl: 'sample.png', imageName: 'sample.png', imagePath: SAMPLE, running: true, canRun: true });
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'running');
    // first, before any noisy sample: the clean prediction, provisional
    const clean = partials[0];
    assert.equal(clean?.phase, 'clean', 'the first partial is the clean prediction');
    await post(partialMessage(clean, 50));
    await page.waitForSelector('body[data-state="partial"]');
    assert.equal(
      await page.locator('#status-line').innerText(),
      'Provisional (clean prediction, before any noisy sample): the prediction without noise — nothing is certified yet.',
    );
    assert.match(await page.locator('#legend').innerText(), /undecided \(clean prediction shown\)/);
    assert.equal(await page.locator('#provisional').getAttribute('data-informative'), 'true');
    const selection = partials.find((p) => p.phase === 'selection');
    assert.ok(selection, 'the run streamed a selection-phase partial');
    // selection: the running mode of every pixel, drawn as undecided (dotted), the badge says PROVISIONAL
    await post(partialMessage(selection, 100));
    await page.waitForSelector('body[data-state="partial"]');
    assert.equal(await page.locator('#provisional').isVisible(), true);
    assert.equal(await page.locator('#provisional').getAttribute('data-informative'), 'true');
    assert.match(
      await page.locator('#status-line').innerText(),
      /^Provisional \(selection \d+\/\d+\): the running mode per pixel — nothing is certified yet\.$/,
    );
    assert.match(await page.locator('#legend').innerText(), /undecided \(running mode shown\)/);
    const mode = decodeArray(selection.selected);
    const fgSel = mode.findIndex((k, i) => k !== 0 && k < 254 && ((i % W) + Math.floor(i / W)) % 2 === 0);
    assert.ok(fgSel >= 0, 'a foreground mode on a dotted pixel');
    const want = hexToRgb(result.report.classes[mode[fgSel]].color);
    const got = await layerPixel('certified', fgSel);
    // translucent canvas pixels are stored premultiplied: a unit or two of rounding
    assert.ok(
      got.slice(0, 3).every((v, j) => Math.abs(v - want[j]) <= 3),
      `the running mode in its class colour: ${got} vs ${want}`,
    );
    assert.ok(got[3] > 0 && got[3] < 255, `undecided: translucent (alpha ${got[3]})`);
    assert.equal(await page.locator('#layer-certified').isVisible(), true);

    // estimation: the exact early decisions from the counts, compared with core/provisional.ts and the final result
    const est = partials.filter((p) => p.phase === 'estimation');
    assert.ok(est.length >= 1, 'estimation-phase partials');
    const states = (p: PartialResultWire) => {
      const k = decodeArray(p.counts);
      return Array.from(k, (c) => provisionalState(c, p.samplesDone, p.thresholds!));
    };
    // the earliest estimation partial that already decided pixels both ways (else the last one)
    const p =
      est.find((q) => {
        const s = states(q);
        return s.includes(WILL_CERTIFY) && s.includes(CANNOT_CERTIFY) && s.includes(UNDECIDED);
      }) ?? est.at(-1)!;
    const s = states(p);
    await post(partialMessage(p, 200));
    await until(
      async () => (await page.locator('#provisional').getAttribute('data-will')) === String(s.filter((x) => x === WILL_CERTIFY).length),
    );
    assert.equal(await page.locator('#provisional').getAttribute('data-cannot'), String(s.filter((x) => x === CANNOT_CERTIFY).length));
    assert.equal(await page.locator('#provisional').getAttribute('data-undecided'), String(s.filter((x) => x === UNDECIDED).length));
    const legend = await page.locator('#legend').innerText();
    for (const label of [
      'PROVISIONAL: nothing is certified until the run ends',
      'provisional: will be certified',
      'provisional: can no longer be certified',
      'undecided (mode shown; opacity = vote fraction)',
    ])
      assert.ok(legend.includes(label), `legend: ${legend}`);
    assert.match(await page.locator('#metrics').innerText(), /will be certified\s+\d+/);
    const sel = decodeArray(p.selected);
    const certified = decodeArray(result.certified);
    const will = s.findIndex((x, i) => x === WILL_CERTIFY && sel[i] !== 0);
    const cannot = s.findIndex((x) => x === CANNOT_CERTIFY);
    const undecided = s.findIndex((x, i) => x === UNDECIDED && sel[i] !== 0 && ((i % W) + Math.floor(i / W)) % 2 === 0);
    if (will >= 0) {
      assert.notEqual(certified[will], 255, 'a "will be certified" pixel is certified in the end');
      assert.deepEqual(
        await layerPixel('certified', will),
        [...hexToRgb(result.report.classes[sel[will]].color), 255],
        'will be certified: solid class colour',
      );
    }
    if (cannot >= 0) {
      assert.equal(certified[cannot], 255, 'a "can no longer be certified" pixel abstains in the end');
      const px = await layerPixel('certified', cannot);
      assert.ok(
        [
          [40, 40, 40, 255],
          [200, 200, 200, 255],
        ].some((c) => c.every((v, j) => v === px[j])),
        `cannot: hatched, got ${px}`,
      );
    }
    if (undecided >= 0) {
      const px = await layerPixel('certified', undecided);
      const k = decodeArray(p.counts)[undecided];
      assert.equal(px[3], Math.round(70 + (185 * k) / p.samplesDone), 'undecided: opacity from the vote fraction');
    }
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, 'preview-provisional.png') }); // for a look by eye
    console.log(
      `provisional after ${p.samplesDone}/${p.samplesTotal}: will ${s.filter((x) => x === WILL_CERTIFY).length}, cannot ${s.filter((x) => x === CANNOT_CERTIFY).length}, undecided ${s.filter((x) => x === UNDECIDED).length} of ${W * H}`,
    );
    // hover: the pixel says it is provisional
    const box = (await page.locator('#stack').boundingBox())!;
    const zoom = box.width / W;
    const at = cannot >= 0 ? cannot : 0;
    await page.mouse.move(box.x + ((at % W) + 0.5) * zoom, box.y + (Math.floor(at / W) + 0.5) * zoom);
    assert.match(await page.locator('#readout').innerText(), /PROVISIONAL \(estimation \d+\/\d+\)/);

    // cancelled, nothing stored: the partial picture goes, the panel says nothing was certified
    await post({ type: 'cancelled' });
    await page.waitForSelector('body[data-state="cancelled"]');
    assert.equal(await page.locator('#status-line').innerText(), 'Cancelled — nothing certified.');
    assert.equal(await page.locator('#provisional').isVisible(), false);
    assert.equal(await page.locator('#layer-certified').isVisible(), false);
    assert.doesNotMatch(await page.locator('#metrics').innerText(), /PROVISIONAL|samples/);
    // ... and the stored result, when the host has one, comes back marked as an earlier run's
    const stored = {
      type: 'result',
      fromCache: true,
      resultDir: '/ws/.certseg/sample.png',
      report: result.report,
      classes: result.report.classes,
      width: W,
      height: H,
      clean: decodeArray(result.clean),
      selected: decodeArray(result.selected),
      counts: decodeArray(result.counts),
      certified,
      radiusMap: null,
      mask: result.mask ? decodeArray(result.mask) : null,
    };
    await post(stored);
    await page.waitForSelector('body[data-state="result"]');
    assert.equal(await page.locator('#status-line').innerText(), 'Cancelled: showing the stored result of an earlier run.');

    // a run that fails (a crash) after partials: the same, with its message
    await post({ type: 'init', imageUrl: 'sample.png', imageName: 'sample.png', imagePath: SAMPLE, running: true, canRun: true });
    await post(partialMessage(p, 300));
    await page.waitForSelector('body[data-state="partial"]');
    await post({ type: 'error', message: 'The run stopped unexpectedly (signal SIGKILL); see the certseg log', runEnded: true });
    await page.waitForSelector('body[data-state="failed"]');
    assert.equal(await page.locator('#status-line').innerText(), 'The run failed — nothing certified.');
    assert.equal(await page.locator('#layer-certified').isVisible(), false);
    await post(stored);
    await page.waitForSelector('body[data-state="result"]');
    assert.equal(await page.locator('#status-line').innerText(), 'The run failed: showing the stored result of an earlier run.');
    assert.match(await page.locator('#error').innerText(), /signal SIGKILL/, 'the failure stays visible beside the stored result');

    // ground truth: a cyan outline, apart from the error colours
    await page.locator('#toggle-groundTruth').check();
    const gt = await page.evaluate(() => {
      const c = document.getElementById('layer-groundTruth') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const colours = new Set<string>();
      for (let i = 0; i < d.length; i += 4) if (d[i + 3]) colours.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
      return [...colours];
    });
    assert.deepEqual(gt, ['0,229,255']);

    // the picture follows the panel's size (Fit, then a smaller editor group)
    await page.click('#fit');
    const before = (await page.locator('#stack').boundingBox())!.width;
    await page.setViewportSize({ width: 700, height: 500 });
    await until(async () => (await page.locator('#stack').boundingBox())!.width < before);
    await page.setViewportSize({ width: 1000, height: 700 });
    assert.deepEqual(cspViolations, []);
    assert.deepEqual(pageErrors, []);
  },
);

async function until(f: () => Promise<boolean>, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
