/** The worker's status-bar text and crash counting (client/src/workerStatus.ts), without VS Code. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CrashWindow, MAX_RESTARTS, RESTART_WINDOW_MS, statusView } from '../../client/src/workerStatus';
import type { EngineInfoResult } from '../../protocol/messages';

const engine = { preferred: { engine: 'onnx', version: '1.2', backend: 'cpu', device: 'cpu' }, engines: [] } as unknown as EngineInfoResult;
const idle = { running: null, queued: [] };

test('CrashWindow: restarts while at most 4 crashes fall in 3 minutes; old ones drop out; reset clears', () => {
  const w = new CrashWindow();
  assert.equal(w.max, MAX_RESTARTS);
  for (let i = 1; i <= MAX_RESTARTS; i++) {
    assert.equal(w.record(i * 1000), i);
    assert.ok(w.mayRestart);
  }
  assert.equal(w.record(5000), 5);
  assert.ok(!w.mayRestart);
  // later than the window after the first ones: only the recent crashes count
  assert.equal(w.record(4000 + RESTART_WINDOW_MS), 2); // 5000 and this one
  assert.ok(w.mayRestart);
  w.reset();
  assert.equal(w.count, 0);
});

test('statusView: idle with and without an engine, running with a queue, restarting, stopped', () => {
  assert.deepEqual(statusView({ engine: null, queue: idle, stopped: false }), { text: '$(shield) certseg', tooltip: 'certseg worker' });
  assert.deepEqual(statusView({ engine, queue: idle, stopped: false }), {
    text: '$(shield) certseg: onnx/cpu',
    tooltip: 'Engine: onnx 1.2, backend cpu, device cpu',
  });
  const queue = { running: { kind: 'certifyImage', label: 'a.png' }, queued: [{ kind: 'certifyDataset', label: 'ds' }] } as never;
  assert.deepEqual(statusView({ engine, queue, stopped: false }), {
    text: '$(sync~spin) certseg: certifying (+1 queued)',
    tooltip: 'Running: a.png\nQueued: ds\nEngine: onnx/cpu',
  });
  const re = statusView({ engine, queue: { running: { kind: 'recertify', label: 'b.png' }, queued: [] } as never, stopped: false });
  assert.equal(re.text, '$(sync~spin) certseg: re-certifying');
  assert.equal(re.tooltip, 'Running: b.png\nEngine: onnx/cpu');
  assert.equal(statusView({ engine, queue, restarting: true, stopped: true }).background, 'warning');
  assert.deepEqual(statusView({ engine, queue, stopped: true }), {
    text: '$(error) certseg: stopped',
    tooltip: 'The certseg worker is not running. Click for actions.',
    background: 'error',
  });
});
