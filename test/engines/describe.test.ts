import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEngines } from '../../server/src/engines/load';

test('describeEngines reports both engines honestly (no GPU here: cpu / wasm fallbacks)', async () => {
  const list = await describeEngines();
  console.log(`# engines: ${list.map((e) => `${e.engine} ${e.backend} ${e.version} (${e.note ?? ''})`).join('; ')}`);
  const onnx = list.find((e) => e.engine === 'onnx')!;
  const tfjs = list.find((e) => e.engine === 'tfjs')!;
  assert.ok(onnx.available && tfjs.available);
  assert.match(onnx.version!, /^\d+\.\d+/);
  assert.ok(['cuda', 'cpu'].includes(onnx.backend!));
  assert.ok(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'].includes(tfjs.backend!));
  assert.equal(tfjs.device === 'gpu', tfjs.backend === 'tensorflow-gpu');
});
