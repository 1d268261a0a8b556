/**
 * Contract tests of the worker process: the real server bundle, the real pipeline, the shipped models.
 * Build first: `node esbuild.mjs`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CANNOT_CERTIFY, UNDECIDED, WILL_CERTIFY, provisionalState } from '../../common/provisional';
import {
  CancellationTokenSource,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ErrorCodes,
  HoverRequest,
  LSPErrorCodes,
  PublishDiagnosticsNotification,
  type PublishDiagnosticsParams,
  WorkDoneProgress,
} from 'vscode-languageserver-protocol/node';
import {
  CertifyImageRequest,
  CertsegErrorCodes,
  EngineInfoRequest,
  QueueStatusNotification,
  RecertifyRequest,
  decodeArray,
  type CertifyImageParams,
  type PartialResultWire,
  type QueueStatusParams,
} from '../../protocol/messages';
import { ROOT, SAMPLE, SAMPLE_MASK, baseOverrides, expectError, startWorker, type Worker } from './harness';

let w: Worker;
const tmp = mkdtempSync(join(tmpdir(), 'certseg-worker-'));
before(async () => {
  w = await startWorker();
});
after(async () => {
  if (w) await w.stop();
  rmSync(tmp, { recursive: true, force: true });
});

let tokenSeq = 0;
function run(params: Omit<CertifyImageParams, 'workDoneToken' | 'partialResultToken'>, cts?: CancellationTokenSource) {
  const workDoneToken = `wd-${++tokenSeq}`;
  const partialResultToken = `pr-${tokenSeq}`;
  const t0 = performance.now();
  const progress: { t: number; kind: string; percentage?: number; message?: string }[] = [];
  const partials: { t: number; p: PartialResultWire }[] = [];
  const d1 = w.conn.onProgress(WorkDoneProgress.type, workDoneToken, (v) => {
    progress.push({
      t: performance.now() - t0,
      kind: v.kind,
      percentage: 'percentage' in v ? v.percentage : undefined,
      message: 'message' in v ? v.message : undefined,
    });
  });
  const d2 = w.conn.onProgress(CertifyImageRequest.type, partialResultToken, (p) => {
    partials.push({ t: performance.now() - t0, p });
  });
  const overrides = { ...baseOverrides(), ...params.overrides };
  let settled = false;
  const promise = w.conn
    .sendRequest(CertifyImageRequest.type, { ...params, overrides, workDoneToken, partialResultToken }, cts?.token)
    .finally(() => {
      settled = true;
      d1.dispose();
      d2.dispose();
    });
  return { promise, progress, partials, t0, settled: () => settled };
}

test('initialize advertises hovers and incremental sync', () => {
  assert.equal(w.init.capabilities.hoverProvider, true);
  assert.equal(w.init.serverInfo?.name, 'certseg-worker');
});

test('engineInfo names an available engine', async () => {
  const info = await w.conn.sendRequest(EngineInfoRequest.type);
  assert.ok(info.preferred, JSON.stringify(info));
  assert.ok(['onnx', 'tfjs'].includes(info.preferred.engine));
  assert.ok(info.engines.some((e) => e.available));
});

test('certifyImage with the shipped defaults: progress, partial results, final result', async () => {
  const queue: QueueStatusParams[] = [];
  const sub = w.conn.onNotification(QueueStatusNotification.type, (q) => {
    queue.push(q);
  });
  const outDir = join(tmp, 'sample');
  const r = run({ imagePath: SAMPLE, maskPath: SAMPLE_MASK, outDir, partialIntervalMs: 100 });
  const res = await r.promise;
  const total = performance.now() - r.t0;
  const { width: W, height: H } = res;
  const firstPartial = r.partials[0]?.t;
  console.log(
    `certify ${W}x${H}: total ${total.toFixed(0)} ms (run ${res.runMs} ms), ${r.partials.length} partials, first after ${firstPartial?.toFixed(0)} ms, ${r.progress.length} progress messages`,
  );
  // progress: begin … reports with non-decreasing percentages … end
  assert.equal(r.progress[0]?.kind, 'begin');
  assert.equal(r.progress.at(-1)?.kind, 'end');
  const pcts = r.progress.filter((p) => p.kind === 'report').map((p) => p.percentage ?? 0);
  assert.ok(pcts.length >= 3, `${pcts.length} progress reports`);
  for (let i = 1; i < pcts.length; i++) assert.ok(pcts[i] >= pcts[i - 1], `percentages go down: ${pcts.join(',')}`);
  assert.ok(
    r.progress.some((p) => /estimation/.test(p.message ?? '')),
    'an estimation-phase message',
  );
  // partial results stream before the final result, with consistent sizes
  assert.ok(r.partials.length >= 1, 'at least one partial result');
  for (const { p } of r.partials) {
    assert.equal(p.width, W);
    assert.equal(p.height, H);
    assert.equal(decodeArray(p.selected).length, W * H);
    assert.equal(decodeArray(p.counts).length, W * H);
  }
  assert.ok(
    r.partials.some(({ p }) => p.phase === 'estimation'),
    'estimation-phase partials',
  );
  // the first one comes before any noisy sample: the clean prediction
  assert.equal(r.partials[0].p.phase, 'clean');
  assert.deepEqual(decodeArray(r.partials[0].p.selected), decodeArray(res.clean));
  // final result
  const clean = decodeArray(res.clean);
  const selected = decodeArray(res.selected);
  const counts = decodeArray(res.counts);
  const certified = decodeArray(res.certified);
  for (const a of [clean, selected, counts, certified]) assert.equal(a.length, W * H);
  let nCert = 0;
  for (let i = 0; i < W * H; i++) {
    if (certified[i] !== 255) {
      nCert++;
      assert.equal(certified[i], selected[i]);
      assert.ok(counts[i] >= res.report.minCertifiedCount);
    } else assert.ok(counts[i] < res.report.minCertifiedCount);
  }
  assert.equal(nCert, res.report.certifiedPixels);
  assert.ok(nCert > 0, 'some pixels certified on the sample');
  // every estimation partial's early decisions (core/provisional.ts) hold in the final result
  let decided = 0;
  for (const { p } of r.partials) {
    if (p.phase !== 'estimation') continue;
    assert.ok(p.thresholds, 'estimation partials carry the thresholds');
    assert.equal(p.samplesTotal, res.report.params.n);
    const k = decodeArray(p.counts);
    for (let i = 0; i < W * H; i++) {
      const s = provisionalState(k[i], p.samplesDone, p.thresholds);
      if (s === WILL_CERTIFY) assert.notEqual(certified[i], 255, `pixel ${i} was "will be certified" after ${p.samplesDone} samples`);
      if (s === CANNOT_CERTIFY)
        assert.equal(certified[i], 255, `pixel ${i} was "can no longer be certified" after ${p.samplesDone} samples`);
      if (s !== UNDECIDED) decided++;
    }
  }
  assert.ok(decided > 0, 'some pixels decided before the end');
  assert.ok(!r.progress.some((p) => /^(\w+):? \1\b/.test(p.message ?? '')), 'no progress message repeats its phase');
  assert.ok(res.mask && decodeArray(res.mask).length === W * H, 'the mask comes back');
  assert.ok(res.report.clean && res.report.certified, 'metrics against the mask');
  assert.equal(res.outDir, outDir);
  assert.ok(existsSync(join(outDir, 'report.json')), 'report.json written to outDir');
  // queue notifications: running this run, then idle (once its process is free again, just after the answer)
  assert.ok(
    queue.some((q) => q.running?.label === SAMPLE),
    'queueStatus shows the running run',
  );
  const idleBy = Date.now() + 5000;
  while (queue.at(-1)?.running !== null && Date.now() < idleBy) await new Promise((res) => setTimeout(res, 20));
  assert.equal(queue.at(-1)?.running, null);
  sub.dispose();

  // recertify the stored counts with a stricter τ: fewer (or equal) certified pixels, consistent minCertifiedCount
  const rep = await w.conn.sendRequest(RecertifyRequest.type, { dir: outDir, tau: 0.8 });
  assert.equal(rep.kind, 'recertify');
  assert.equal(rep.exploratory, true);
  assert.ok(rep.certifiedPixels <= res.report.certifiedPixels);
  let n2 = 0;
  for (let i = 0; i < W * H; i++) if (counts[i] >= rep.minCertifiedCount) n2++;
  assert.equal(n2, rep.certifiedPixels, 'certified ⇔ counts ≥ minCertifiedCount');
});

/** The worker's run processes (runChild.js children), by pid. */
function runProcesses(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(w.proc.pid)])
    .toString()
    .trim();
  return out
    ? out
        .split('\n')
        .filter((l) => l.includes('runChild'))
        .map((l) => Number(l.trim().split(/\s+/)[0]))
    : [];
}

test('the run process is kept warm between runs: the next certification runs in the same process, with the same result', async () => {
  const a = run({ imagePath: SAMPLE, overrides: { n: 100 }, partialIntervalMs: 100 });
  const first = await a.promise;
  const kept = runProcesses();
  assert.equal(kept.length, 1, `one idle run process kept: ${kept.join(', ')}`);
  const b = run({ imagePath: SAMPLE, overrides: { n: 100 }, partialIntervalMs: 100 });
  const second = await b.promise;
  assert.deepEqual(runProcesses(), kept, 'the second run used the kept process');
  assert.deepEqual(decodeArray(second.counts), decodeArray(first.counts), 'same seed, same counts: nothing carried over between runs');
  assert.deepEqual(decodeArray(second.certified), decodeArray(first.certified));
  console.log(
    `warm run process: first run ${first.runMs} ms (first partial ${a.partials[0]?.t.toFixed(0)} ms), second ${second.runMs} ms (first partial ${b.partials[0]?.t.toFixed(0)} ms)`,
  );
});

test('cancelling a running certification answers RequestCancelled within a second; the worker stays usable', async () => {
  const cts = new CancellationTokenSource();
  const r = run({ imagePath: SAMPLE, overrides: { n: 2000 } }, cts);
  // wait until sampling is under way (inside inference)
  const deadline = Date.now() + 60_000;
  while (!r.progress.some((p) => /selection|estimation/.test(p.message ?? '')) && !r.settled() && Date.now() < deadline)
    await new Promise((res) => setTimeout(res, 20));
  assert.ok(Date.now() < deadline, 'the run reached sampling');
  const tCancel = performance.now();
  cts.cancel();
  await expectError(r.promise, LSPErrorCodes.RequestCancelled, /cancel/i);
  const latency = performance.now() - tCancel;
  console.log(`cancellation latency: ${latency.toFixed(0)} ms`);
  assert.ok(latency < 1000, `cancellation took ${latency.toFixed(0)} ms`);
  // the run's process is gone shortly after (the queue goes idle), and the worker still answers
  const idle = new Promise<number>((resolve) => {
    const d = w.conn.onNotification(QueueStatusNotification.type, (q) => {
      if (!q.running) {
        d.dispose();
        resolve(performance.now() - tCancel);
      }
    });
  });
  const idleMs = await Promise.race([idle, new Promise<number>((res) => setTimeout(() => res(Infinity), 5000))]);
  console.log(`run process gone ${idleMs.toFixed(0)} ms after the cancel`);
  assert.ok(idleMs < 2000, `queue idle after ${idleMs} ms`);
  const info = await w.conn.sendRequest(EngineInfoRequest.type);
  assert.ok(info.preferred);
});

test('a run process killed from outside: the request says so in one line, the log names the run, the signal and its stderr tail; the worker stays usable', async () => {
  const r = run({ imagePath: SAMPLE, overrides: { n: 2000 } });
  const deadline = Date.now() + 60_000;
  while (!r.progress.some((p) => /selection|estimation/.test(p.message ?? '')) && !r.settled() && Date.now() < deadline)
    await new Promise((res) => setTimeout(res, 20));
  assert.ok(Date.now() < deadline, 'the run reached sampling');
  // the run's own process: the worker's child running runChild.js
  const kids = runProcesses();
  assert.equal(kids.length, 1, `one run process: ${kids.join(' | ')}`);
  const pid = kids[0];
  process.kill(pid, 'SIGKILL');
  await expectError(
    r.promise,
    CertsegErrorCodes.InternalRunError,
    /^The run stopped unexpectedly \(signal SIGKILL\); see the certseg log$/,
  );
  const line = w.logs.find((l) => l.includes(`(process ${pid}) stopped unexpectedly`));
  assert.ok(line, `the log has the run's end: ${w.logs.slice(-5).join(' | ')}`);
  console.log(`log: ${line}`);
  assert.match(line, /^run certifyImage \(process \d+\) stopped unexpectedly: signal SIGKILL/);
  assert.match(line, /Last lines on its stderr:\n.+|It wrote nothing on stderr\./s);
  const info = await w.conn.sendRequest(EngineInfoRequest.type);
  assert.ok(info.preferred);
});

test('a second run waits in the queue; cancelling it while queued removes it', async () => {
  const queue: QueueStatusParams[] = [];
  const sub = w.conn.onNotification(QueueStatusNotification.type, (q) => {
    queue.push(q);
  });
  const cts1 = new CancellationTokenSource();
  const cts2 = new CancellationTokenSource();
  const a = run({ imagePath: SAMPLE, overrides: { n: 2000 } }, cts1);
  const b = run({ imagePath: SAMPLE_MASK, overrides: { n: 2000 } }, cts2);
  const deadline = Date.now() + 20_000;
  const bothThere = () => queue.some((q) => q.running?.label === SAMPLE && q.queued.length === 1 && q.queued[0]?.label === SAMPLE_MASK);
  while (!bothThere() && !a.settled() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  assert.ok(bothThere(), JSON.stringify(queue.at(-1)));
  cts2.cancel();
  await expectError(b.promise, LSPErrorCodes.RequestCancelled, /cancel/i);
  assert.equal(
    b.progress.filter((p) => p.kind === 'report' && /selection|estimation/.test(p.message ?? '')).length,
    0,
    'the queued run never ran',
  );
  cts1.cancel();
  await expectError(a.promise, LSPErrorCodes.RequestCancelled, /cancel/i);
  sub.dispose();
});

test('malformed requests fail with clear messages and the worker stays alive', async () => {
  await expectError(w.conn.sendRequest(CertifyImageRequest.method, {}), ErrorCodes.InvalidParams, /params\.imagePath .* is required/);
  // no params at all: refused by JSON-RPC itself (handlers are registered with their request type, which declares one param)
  await expectError(
    w.conn.sendRequest(CertifyImageRequest.method),
    ErrorCodes.InvalidParams,
    /certseg\/certifyImage defines 1 params but received none/,
  );
  await expectError(
    w.conn.sendRequest(CertifyImageRequest.method, { imagePath: 'relative.png' }),
    ErrorCodes.InvalidParams,
    /absolute path/,
  );
  await expectError(
    w.conn.sendRequest(CertifyImageRequest.type, { imagePath: join(tmp, 'nope.png') }),
    CertsegErrorCodes.UserError,
    /Image not found: .*nope\.png/,
  );
  await expectError(
    w.conn.sendRequest(CertifyImageRequest.type, { imagePath: SAMPLE, overrides: { sigmaa: 1 } as never }),
    CertsegErrorCodes.UserError,
    /sigmaa/,
  );
  await expectError(
    w.conn.sendRequest(CertifyImageRequest.type, { imagePath: SAMPLE, configPath: join(tmp, 'missing.certseg.json') }),
    CertsegErrorCodes.UserError,
    /Config not found/,
  );
  await expectError(w.conn.sendRequest(RecertifyRequest.type, { dir: tmp }), CertsegErrorCodes.UserError, /report\.json/);
  // output folders are checked before the run is queued: no progress, no model load
  await expectError(
    w.conn.sendRequest(CertifyImageRequest.type, { imagePath: SAMPLE, outDir: '/proc/certseg-out' }),
    CertsegErrorCodes.UserError,
    /cannot write results to \/proc\/certseg-out: \/proc is not writable/,
  );
  await expectError(
    w.conn.sendRequest(CertifyImageRequest.type, { imagePath: SAMPLE, outDir: join(SAMPLE, 'out') }),
    CertsegErrorCodes.UserError,
    /sample\.png is a file, not a folder/,
  );
  await expectError(
    w.conn.sendRequest(CertifyImageRequest.type, { imagePath: SAMPLE, outDir: ROOT }),
    CertsegErrorCodes.UserError,
    /not empty and is not a certseg image result/,
  );
  await expectError(w.conn.sendRequest('certseg/noSuchMethod', {}), ErrorCodes.MethodNotFound, /noSuchMethod/);
  const info = await w.conn.sendRequest(EngineInfoRequest.type);
  assert.ok(info.preferred, 'still answering');
  assert.equal(w.proc.exitCode, null);
});

test('nothing is ever written to stdout', () => {
  assert.equal(w.stdout.join(''), '');
});

test('a killed worker exits; shutdown/exit exits cleanly with 0; a new worker works', async () => {
  const crash = await startWorker();
  crash.proc.kill('SIGKILL');
  const { signal } = await crash.exited;
  assert.equal(signal, 'SIGKILL');
  crash.conn.dispose();
  const fresh = await startWorker();
  const info = await fresh.conn.sendRequest(EngineInfoRequest.type);
  assert.ok(info.preferred);
  assert.equal(await fresh.stop(), 0);
});

test("*.certseg.json: one source per problem: structure is the JSON Schema's, the worker reports what needs the models; hovers add implications", async () => {
  const open = async (uri: string, text: string) => {
    const diags = new Promise<PublishDiagnosticsParams>((resolve) => {
      const d = w.conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
        if (p.uri === uri) {
          d.dispose();
          resolve(p);
        }
      });
    });
    await w.conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'json', version: 1, text } });
    return diags;
  };
  // a structural mistake: the editor's JSON language service reports it from the schema (jsonValidation), not the worker
  const bad = 'file:///tmp/certseg-test/bad.certseg.json';
  assert.deepEqual((await open(bad, '{\n  "sigma": 0.25,\n  "sigmaa": 1\n}\n')).diagnostics, []);
  await w.conn.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri: bad } });
  // what only the worker can know: the model card does not exist; n too small to certify anything
  const uri = 'file:///tmp/certseg-test/semantic.certseg.json';
  const p = await open(uri, '{\n  "sigma": 0.25,\n  "segmenter": "missing.card.json",\n  "n": 5\n}\n');
  // every problem, each once, at its key
  assert.equal(p.diagnostics.length, 2, JSON.stringify(p.diagnostics));
  assert.match(String(p.diagnostics[0].message), /model card not found: .*missing\.card\.json/);
  assert.equal(p.diagnostics[0].range.start.line, 2, 'points at the "segmenter" line');
  assert.match(String(p.diagnostics[1].message), /n = 5 is too small/);
  assert.equal(p.diagnostics[1].range.start.line, 3, 'points at the "n" line');
  const hover = await w.conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 1, character: 5 } });
  const contents = hover?.contents as { kind: string; value: string } | undefined;
  assert.equal(contents?.kind, 'markdown', JSON.stringify(hover));
  assert.match(contents.value, /\*\*sigma\*\*/);
  assert.match(contents.value, /range: > 0/);
  assert.doesNotMatch(contents.value, /Noise level σ in/, "the schema description is the JSON hover's, not repeated");
  await w.conn.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
  // a valid config: the hover says what the value implies
  const good = 'file:///tmp/certseg-test/good.certseg.json';
  assert.deepEqual((await open(good, '{\n  "sigma": 0.25,\n  "tau": 0.75\n}\n')).diagnostics, []);
  const h2 = await w.conn.sendRequest(HoverRequest.type, { textDocument: { uri: good }, position: { line: 1, character: 5 } });
  assert.match((h2?.contents as { value: string }).value, /certified radius σ·Φ⁻¹\(τ\) = 0\.1686/);
  await w.conn.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri: good } });
});
