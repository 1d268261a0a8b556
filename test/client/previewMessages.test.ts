/** The worker's answers as the preview page's messages (client/src/previewMessages.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeArray,
  type CertifyImageResultWire,
  type ConsistencyResultWire,
  type PartialResultWire,
  type ShiftMeasurementWire,
} from '../../protocol/messages';
import { arraysOf, classesOf, consistencyMessage, partialMessage, storedFromWire } from '../../client/src/previewMessages';

test('a partial result: arrays decoded, the elapsed time added', () => {
  const p: PartialResultWire = {
    width: 2,
    height: 1,
    phase: 'estimation' as PartialResultWire['phase'],
    samplesDone: 3,
    samplesTotal: 10,
    selected: encodeArray(new Uint8Array([1, 0])) as never,
    counts: encodeArray(new Uint16Array([3, 2])) as never,
    certifiedSoFar: null,
    thresholds: { n: 10, certainAt: 8, reachableAt: 5 },
  };
  const m = partialMessage(p, 42);
  assert.equal(m.type, 'partial');
  assert.deepEqual([...m.selected], [1, 0]);
  assert.ok(m.counts instanceof Uint16Array);
  assert.deepEqual([...m.counts], [3, 2]);
  assert.equal(m.certifiedSoFar, null);
  assert.equal(m.elapsedMs, 42);
  assert.deepEqual(m.thresholds, { n: 10, certainAt: 8, reachableAt: 5 });
});

test('a certification answer as a stored result: its folder, or the default one', () => {
  const r = {
    report: { classes: [{ name: 'polyp', color: '#f00', extra: 1 }] },
    width: 1,
    height: 1,
    outDir: null,
    runMs: 1,
    clean: encodeArray(new Uint8Array([1])),
    selected: encodeArray(new Uint8Array([1])),
    counts: encodeArray(new Uint16Array([9])),
    certified: encodeArray(new Uint8Array([255])),
    radiusMap: encodeArray(new Float32Array([0.5])),
    mask: null,
  } as unknown as CertifyImageResultWire;
  const s = storedFromWire(r, '/w/.certseg/a.png');
  assert.equal(s.dir, '/w/.certseg/a.png');
  assert.equal(storedFromWire({ ...r, outDir: '/elsewhere' }, '/x').dir, '/elsewhere');
  assert.deepEqual([...s.certified], [255]);
  assert.ok(s.radiusMap instanceof Float32Array);
  assert.equal(s.mask, null);
  assert.deepEqual(Object.keys(arraysOf(s)).sort(), ['certified', 'clean', 'counts', 'height', 'mask', 'radiusMap', 'selected', 'width']);
  assert.deepEqual(classesOf(s.report.classes), [{ name: 'polyp', color: '#f00' }]);
  assert.deepEqual(classesOf(undefined), []);
});

test('a consistency result: flip maps decoded, the segmenter named', () => {
  const shift = (): ShiftMeasurementWire =>
    ({
      directions: [],
      meanFraction: 0,
      worst: { dy: 0, dx: 1, fraction: 0 },
      anyChanged: false,
      changedAnyFraction: 0,
      coverage: 1,
      flipMap: encodeArray(new Uint8Array([0, 1])),
    }) as unknown as ShiftMeasurementWire;
  const r = {
    imagePath: '/a.png',
    width: 2,
    height: 1,
    plain: shift(),
    cropSelection: null,
    segmenter: { card: '/m/polyp.card.json', engine: 'onnx', backend: 'cpu', device: 'cpu' },
    runMs: 1,
  } as ConsistencyResultWire;
  const m = consistencyMessage(r);
  assert.equal(m.type, 'consistency');
  assert.equal(m.segmenter, 'polyp.card.json on onnx (cpu, cpu)');
  assert.deepEqual([...(m.plain.flipMap as Uint8Array)], [0, 1]);
  assert.equal(m.cropSelection, null);
});
