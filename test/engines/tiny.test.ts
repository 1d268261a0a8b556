/**
 * Exact engine parity on identical weights: one 3×3 conv segmenter written as ONNX (NCHW, dynamic size)
 * and as a TF.js layers model (NHWC), both through loadSegmenter with their own cards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadSegmenter } from '../../server/src/engines/load';
import { convModel } from './onnxWriter';
import { seededUniform, tempDir, writeCard } from './helpers';

const K = 3; // classes
const wOIHW = seededUniform(K * 27, 11).map((v) => v - 0.5);
const bias = Float32Array.of(0.1, -0.05, 0);

function writeTfjsConv(dir: string): string {
  const hwio = new Float32Array(27 * K);
  for (let o = 0; o < K; o++)
    for (let i = 0; i < 3; i++)
      for (let y = 0; y < 3; y++)
        for (let x = 0; x < 3; x++) {
          hwio[((y * 3 + x) * 3 + i) * K + o] = wOIHW[((o * 3 + i) * 3 + y) * 3 + x];
        }
  const bin = Buffer.concat([Buffer.from(hwio.buffer), Buffer.from(bias.buffer)]);
  writeFileSync(path.join(dir, 'group1-shard1of1.bin'), bin);
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'certseg test',
    convertedBy: null,
    modelTopology: {
      class_name: 'Sequential',
      keras_version: '2.13.1',
      backend: 'tensorflow',
      config: {
        name: 'seq',
        layers: [
          {
            class_name: 'Conv2D',
            config: {
              name: 'conv',
              filters: K,
              kernel_size: [3, 3],
              strides: [1, 1],
              padding: 'same',
              data_format: 'channels_last',
              dilation_rate: [1, 1],
              activation: 'linear',
              use_bias: true,
              batch_input_shape: [null, null, null, 3],
              dtype: 'float32',
              kernel_initializer: { class_name: 'Zeros', config: {} },
              bias_initializer: { class_name: 'Zeros', config: {} },
            },
          },
        ],
      },
    },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: [
          { name: 'conv/kernel', shape: [3, 3, 3, K], dtype: 'float32' },
          { name: 'conv/bias', shape: [K], dtype: 'float32' },
        ],
      },
    ],
  };
  const p = path.join(dir, 'model.json');
  writeFileSync(p, JSON.stringify(modelJson));
  return p;
}

const classes = [
  { name: 'a', color: '#ff0000' },
  { name: 'b', color: '#00ff00' },
  { name: 'c', color: '#0000ff' },
];

test('conv segmenter: ONNX (NCHW) and TF.js layers (NHWC) give identical labels on any size', async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'conv.onnx'), convModel(wOIHW, bias, K));
  writeTfjsConv(dir);
  const base = { cardVersion: 1, name: 'conv', role: 'segmenter', classes };
  const onnxCard = writeCard(dir, 'conv-onnx', {
    ...base,
    file: 'conv.onnx',
    input: { layout: 'NCHW', height: null, width: null, batch: null, channels: 3, range: [0, 255], mean: [120, 110, 100], std: [60] },
    output: { layout: 'NCHW', height: null, width: null, batch: null, channels: K, kind: 'logits' },
  });
  const tfCard = writeCard(dir, 'conv-tfjs', {
    ...base,
    file: 'model.json',
    input: { layout: 'NHWC', height: null, width: null, batch: null, channels: 3, range: [0, 255], mean: [120, 110, 100], std: [60] },
    output: { layout: 'NHWC', height: null, width: null, batch: null, channels: K, kind: 'logits' },
  });
  const a = await loadSegmenter(onnxCard);
  const b = await loadSegmenter(tfCard);
  assert.equal(a.info.engine, 'onnx');
  assert.equal(b.info.engine, 'tfjs');
  const [n, h, w] = [2, 37, 53];
  const imgs = seededUniform(n * 3 * h * w, 4);
  const la = await a.segment(imgs, n, h, w);
  const before = tf.memory().numTensors;
  const lb = await b.segment(imgs, n, h, w);
  assert.equal(tf.memory().numTensors, before, 'tfjs tensors leaked');
  let agree = 0;
  for (let i = 0; i < la.length; i++) if (la[i] === lb[i]) agree++;
  console.log(`# conv parity: ${agree}/${la.length} labels agree`);
  assert.ok(agree / la.length > 0.9995);
  // all classes occur: the argmax really ran over channels
  for (let c = 0; c < K; c++) assert.ok(la.includes(c), `class ${c} never predicted`);
  // reference: pixel (1,1) of image 0, computed by hand
  const hw = h * w;
  const px = (c: number, y: number, x: number) => (imgs[c * hw + y * w + x] * 255 - [120, 110, 100][c]) / 60;
  const logits = [0, 1, 2].map((o) => {
    let s = bias[o];
    for (let i = 0; i < 3; i++)
      for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) s += wOIHW[((o * 3 + i) * 3 + dy) * 3 + dx] * px(i, dy, dx);
    return s;
  });
  assert.equal(la[w + 1], logits.indexOf(Math.max(...logits)));
  await a.dispose();
  await b.dispose();
});
