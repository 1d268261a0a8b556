/** Model card validation: one-line messages naming the card and the first problem; cards against real models. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { CertsegError } from '../../server/src/core/errors';
import { loadSegmenter } from '../../server/src/engines/load';
import { loadCard, modelCardSchemaPath } from '../../server/src/models/loadCard';
import { convModel } from './onnxWriter';
import { noShared, selfieCard, SELFIE_ONNX, tempDir, writeCard } from './helpers';

const dir = tempDir();
writeFileSync(path.join(dir, 'm.onnx'), convModel(new Float32Array(2 * 27), new Float32Array(2), 2));
const good = {
  cardVersion: 1,
  name: 'm',
  role: 'segmenter',
  file: 'm.onnx',
  input: { layout: 'NCHW', height: null, width: null, batch: null, channels: 3, range: [0, 1] },
  output: { layout: 'NCHW', height: null, width: null, batch: null, channels: 2, kind: 'logits' },
  classes: [
    { name: 'bg', color: '#000000' },
    { name: 'fg', color: '#ffffff' },
  ],
};

async function failsWith(card: unknown, pattern: RegExp, code: string): Promise<void> {
  const p = writeCard(dir, 'bad', card);
  await assert.rejects(loadCard(p), (e: unknown) => {
    assert.ok(e instanceof CertsegError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    assert.ok(e.message.includes('bad.card.json'), `names the card: ${e.message}`);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

test('a good card resolves: absolute files, sha256, schema path exported', async () => {
  const c = await loadCard(writeCard(dir, 'good', good), 'segmenter');
  assert.equal(c.files.onnx, path.join(dir, 'm.onnx'));
  assert.match(c.sha256, /^[0-9a-f]{64}$/);
  assert.ok(existsSync(modelCardSchemaPath()!));
});

test('bad cards give one-line config errors naming the problem', async () => {
  await failsWith('{ "cardVersion": 1, ', /not valid JSON/, 'config');
  await failsWith({ ...good, input: { ...good.input, layout: 'CHW' } }, /: input\.layout must be one of NCHW, NHWC$/, 'config');
  await failsWith({ ...good, input: { ...good.input, height: 0 } }, /input\.height must be a positive integer or null/, 'config');
  await failsWith({ ...good, classes: undefined }, /missing required property "classes" \(segmenter cards need it\)/, 'config');
  await failsWith({ ...good, output: { ...good.output, kind: undefined } }, /output: missing required property "kind"/, 'config');
  await failsWith({ ...good, colour: 'x' }, /card has unknown property "colour"/, 'config');
  await failsWith({ ...good, classes: [{ name: 'a', color: 'red' }, good.classes[1]] }, /classes\[0\]\.color must be a colour/, 'config');
  await failsWith(
    { ...good, output: { ...good.output, channels: 3 } },
    /output\.channels \(3\) must equal the number of classes \(2\)/,
    'config',
  );
  await failsWith(
    { ...good, role: 'denoiser', classes: undefined, output: { ...good.output, kind: undefined, channels: 3 } },
    /missing required property "denoiser"/,
    'config',
  );
  await failsWith(
    {
      ...good,
      role: 'denoiser',
      classes: undefined,
      output: { ...good.output, kind: undefined, channels: 3 },
      denoiser: { kind: 'ddpm-eps' },
    },
    /denoiser: missing required property "schedule" \(ddpm-eps denoisers need it\)/,
    'config',
  );
  await failsWith({ ...good, file: 'm.pt' }, /file must be a \.onnx file or a TF\.js model \.json/, 'config');
});

test('missing model file is a model error naming the file; wrong role is refused', async () => {
  await failsWith({ ...good, file: 'gone.onnx' }, new RegExp(`model file not found: .*gone\\.onnx`), 'model');
  await assert.rejects(loadCard(writeCard(dir, 'good', good), 'denoiser'), /this is a segmenter card, expected a denoiser/);
  await assert.rejects(
    loadSegmenter(writeCard(dir, 'good', good), { engine: 'tfjs' }),
    /engine tfjs was requested but the card has no TF\.js model\.json file/,
  );
});

test('cards that contradict the real selfie model are refused at load', { skip: noShared }, async () => {
  const nchw = selfieCard({ input: { ...(selfieCard().input as object), layout: 'NCHW' } });
  await assert.rejects(
    loadSegmenter(writeCard(dir, 'selfie-nchw', nchw)),
    (e: unknown) =>
      e instanceof CertsegError &&
      e.code === 'model' &&
      /input "input_1:0" has shape \[1,256,256,3\], which contradicts the card \(NCHW: input\.channels 3 expected at axis 1, model has 256\)/.test(
        e.message,
      ),
  );
  const three = selfieCard({
    output: { layout: 'NHWC', height: 256, width: 256, batch: 1, channels: 3, kind: 'logits' },
    classes: [
      { name: 'a', color: '#000000' },
      { name: 'b', color: '#111111' },
      { name: 'c', color: '#222222' },
    ],
  });
  for (const engine of ['onnx', 'tfjs'] as const) {
    await assert.rejects(
      loadSegmenter(writeCard(dir, 'selfie-3', three), { engine }),
      (e: unknown) =>
        e instanceof CertsegError &&
        e.code === 'model' &&
        /output .* contradicts the card \(NHWC: output\.channels 3 expected at axis 3, model has 1\)/.test(e.message),
    );
  }
  const anySize = selfieCard({ input: { ...(selfieCard().input as object), height: null, width: null } });
  await assert.rejects(loadSegmenter(writeCard(dir, 'selfie-any', anySize)), /input\.height is null \(any\) but the model fixes it to 256/);
  const wrongName = selfieCard({ input: { ...(selfieCard().input as object), name: 'image' } });
  await assert.rejects(loadSegmenter(writeCard(dir, 'selfie-name', wrongName)), /has no input named "image" \(it has input_1:0\)/);
  assert.ok(existsSync(SELFIE_ONNX));
});
