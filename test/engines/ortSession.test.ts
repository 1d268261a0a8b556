/**
 * ONNX Runtime sessions (engines/onnx.ts, engines/warmUp.ts): the optimized-model cache gives the same output
 * tensors as a cold session for the shipped models, never fails a load (unwritable folder, broken cached file),
 * the chosen session options reach the report's provenance in the schema's shape, and the warm-up runs once per
 * shape and batch.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import { loadDenoiser, loadSegmenter } from '../../server/src/engines/load';
import { ORT_SPINNING_DEFAULT, ortCacheDir } from '../../server/src/engines/onnx';
import { denoiserFeeds, segmenterFeeds, warmUp } from '../../server/src/engines/warmUp';
import { workingShape } from '../../server/src/engines/workingShape';
import { provenance } from '../../server/src/pipeline/provenance';
import { certifyImage } from '../../server/src/pipeline/certifyImage';
import { disposeModels } from '../../server/src/pipeline/models';
import { loadConfig } from '../../server/src/config/config';
import type { Denoiser, Segmenter } from '../../server/src/engines/engine';
import { seededUniform } from './helpers';

const ROOT = path.resolve(__dirname, '../..');
const tmp = mkdtempSync(path.join(tmpdir(), 'certseg-ortcache-'));
// the warm-up is on by default on a GPU only (engines/warmUp.ts); these tests exercise it on the CPU
process.env.CERTSEG_WARMUP = '1';
const savedEnv = process.env.CERTSEG_CACHE_DIR;
after(() => {
  if (savedEnv === undefined) delete process.env.CERTSEG_CACHE_DIR;
  else process.env.CERTSEG_CACHE_DIR = savedEnv;
  rmSync(tmp, { recursive: true, force: true });
});

const SETS = ['default', 'polyp'].map((s) => path.join(ROOT, 'models', s)).filter((d) => existsSync(path.join(d, 'segmenter.card.json')));
const H = 64,
  W = 64,
  B = 2;

type Model = Segmenter | Denoiser;
const load = (card: string): Promise<Model> =>
  card.includes('denoiser') ? loadDenoiser(card, { engine: 'onnx' }) : loadSegmenter(card, { engine: 'onnx' });

/** The model's raw output tensor (InferenceSession.run through the runner) on a fixed input. */
async function rawOutput(m: Model): Promise<Float32Array | Int32Array> {
  const ad = m.adapter!;
  const isSeg = 'numClasses' in ad.plan;
  const n = B * (isSeg ? (ad.plan as { inChannels: number }).inChannels : 3) * H * W;
  const x = seededUniform(n, 11).map((v) => v * 2 - 1);
  const feeds = isSeg ? segmenterFeeds(ad.plan as never, B, H, W, x) : denoiserFeeds(ad.plan as never, B, H, W, x, 50);
  return (await ad.runner.run(feeds, ad.plan.outName)).data;
}

test(
  "optimized-model cache: a cached session gives the cold session's output tensors, bit for bit, for the shipped models",
  { skip: SETS.length ? false : 'no shipped models' },
  async () => {
    process.env.CERTSEG_CACHE_DIR = path.join(tmp, 'cache');
    for (const dir of SETS) {
      for (const cardName of ['segmenter.card.json', 'denoiser.card.json']) {
        const card = path.join(dir, cardName);
        if (!existsSync(card)) continue;
        const cold = await load(card);
        assert.equal(cold.info.session?.optimizedModelCache, 'miss', `${card}: first load optimizes and saves`);
        const a = await rawOutput(cold);
        await cold.dispose();
        const cached = await load(card);
        assert.equal(cached.info.session?.optimizedModelCache, 'hit', `${card}: second load comes from the cache`);
        assert.equal(cached.info.session?.graphOptimizationLevel, 'all', 'the record says the level the graph was optimized at');
        const b = await rawOutput(cached);
        await cached.dispose();
        assert.equal(a.length, b.length);
        let same = true;
        for (let i = 0; i < a.length && same; i++) same = Object.is(a[i], b[i]);
        assert.ok(same, `${card}: cold and cached outputs differ`);
      }
    }
    const files = readdirSync(ortCacheDir());
    assert.ok(
      files.every((f) => /^[0-9a-f]{64}-ort[\w.]+-cpu-all-[0-9a-f]{12}\.onnx$/.test(f)),
      files.join(', '),
    );
  },
);

test('optimized-model cache: never fails a load (unwritable folder, broken cached file)', async () => {
  const card = path.join(ROOT, 'models/default/segmenter.card.json');
  // a file where the folder should be: nothing can be written there
  const blocker = path.join(tmp, 'not-a-dir');
  writeFileSync(blocker, 'x');
  process.env.CERTSEG_CACHE_DIR = blocker;
  const m1 = await load(card);
  assert.equal(m1.info.session?.optimizedModelCache, 'off');
  const ref = await rawOutput(m1);
  await m1.dispose();
  // a broken cached file is replaced
  process.env.CERTSEG_CACHE_DIR = path.join(tmp, 'broken');
  const m2 = await load(card);
  await m2.dispose();
  const [f] = readdirSync(ortCacheDir());
  writeFileSync(path.join(ortCacheDir(), f), 'not an onnx model');
  const m3 = await load(card);
  assert.equal(m3.info.session?.optimizedModelCache, 'miss');
  assert.deepEqual(await rawOutput(m3), ref);
  await m3.dispose();
  assert.ok(readFileSync(path.join(ortCacheDir(), f)).length > 1000, 'saved again');
  assert.deepEqual(readdirSync(ortCacheDir()), [f], 'no temporary files left');
});

test('ortCacheDir: CERTSEG_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
  assert.equal(ortCacheDir({ CERTSEG_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x' }), path.join('/c', 'ort'));
  assert.equal(ortCacheDir({ XDG_CACHE_HOME: '/x' }), path.join('/x', 'certseg', 'ort'));
  assert.match(ortCacheDir({ XDG_CACHE_HOME: 'relative' }), /\.cache[/\\]certseg[/\\]ort$/);
});

test("session options reach the provenance in the report schema's shape", async () => {
  process.env.CERTSEG_CACHE_DIR = path.join(tmp, 'prov');
  const seg = (await load(path.join(ROOT, 'models/default/segmenter.card.json'))) as Segmenter;
  try {
    const p = provenance(seg, null);
    assert.deepEqual(p.segmenter.session, {
      intraOpNumThreads: 0,
      graphOptimizationLevel: 'all',
      enableCpuMemArena: true,
      executionMode: 'sequential',
      allowSpinning: ORT_SPINNING_DEFAULT,
      optimizedModelCache: 'miss',
    });
    const ajv = new Ajv({ strict: false });
    ajv.addSchema(JSON.parse(readFileSync(path.join(ROOT, 'docs/report.schema.json'), 'utf8')), 'report');
    const validate = ajv.getSchema('report#/definitions/model')!;
    assert.ok(validate(p.segmenter), JSON.stringify(validate.errors));
    assert.ok(!validate({ ...p.segmenter, session: { ...p.segmenter.session, optimizedModelCache: 'maybe' } }));
  } finally {
    await seg.dispose();
  }
});

test('warmUp: one run on zeros per shape and batch, none for a shape already warm', async () => {
  process.env.CERTSEG_CACHE_DIR = path.join(tmp, 'warm');
  const seg = (await load(path.join(ROOT, 'models/default/segmenter.card.json'))) as Segmenter;
  const den = (await load(path.join(ROOT, 'models/default/denoiser.card.json'))) as Denoiser;
  try {
    const shape = workingShape(seg.card.input, 32, 48);
    assert.ok((await warmUp(seg, shape, 2)) > 0);
    assert.equal(await warmUp(seg, shape, 2), 0);
    assert.ok((await warmUp(seg, shape, 3)) > 0, 'another batch is another warm-up');
    assert.ok((await warmUp(den, workingShape(den.card.input, 32, 48), 2)) > 0);
  } finally {
    await seg.dispose();
    await den.dispose();
  }
});

test('certifyImage: the warm-up and the cached sessions leave seeded results bit-identical', async () => {
  process.env.CERTSEG_CACHE_DIR = path.join(tmp, 'certify');
  const config = await loadConfig(null, { n0: 2, n: 40, alpha: 0.4, batchSize: 8, seed: 5 });
  const imagePath = path.join(ROOT, 'models/default/sample.png');
  await disposeModels();
  const first = await certifyImage({ imagePath, config }); // fresh sessions (cache miss), warmed before the clean pass
  const second = await certifyImage({ imagePath, config }); // same sessions, already warm
  await disposeModels();
  const third = await certifyImage({ imagePath, config }); // sessions from the optimized-model cache
  await disposeModels();
  assert.ok(first.report.timings.warmUp! > 0);
  assert.equal(second.report.timings.warmUp, 0);
  assert.ok(third.report.timings.warmUp! > 0);
  assert.equal(first.report.provenance.segmenter.session?.optimizedModelCache, 'miss');
  assert.equal(third.report.provenance.segmenter.session?.optimizedModelCache, 'hit');
  assert.equal(third.report.provenance.denoiser?.session?.optimizedModelCache, 'hit');
  for (const r of [second, third]) {
    assert.deepEqual(r.counts, first.counts);
    assert.deepEqual(r.selected, first.selected);
    assert.deepEqual(r.clean, first.clean);
    assert.deepEqual(r.certified, first.certified);
  }
});

test("CERTSEG_ORT_THREADS sets every session's intra-op threads (recorded in the provenance); anything but a whole number is refused in one line", async () => {
  const saved = process.env.CERTSEG_ORT_THREADS;
  process.env.CERTSEG_ORT_THREADS = '1';
  try {
    const seg = await loadSegmenter(path.join(ROOT, 'models/default/segmenter.card.json'), { engine: 'onnx' });
    try {
      assert.equal(seg.info.session?.intraOpNumThreads, 1);
      // and its output is the one the default threads give (threads change speed, not values, for these models)
      const x = seededUniform(2 * 3 * 32 * 32, 3);
      const one = await seg.segment(x, 2, 32, 32);
      delete process.env.CERTSEG_ORT_THREADS;
      const seg2 = await loadSegmenter(path.join(ROOT, 'models/default/segmenter.card.json'), { engine: 'onnx' });
      assert.equal(seg2.info.session?.intraOpNumThreads, 0);
      assert.deepEqual(await seg2.segment(x, 2, 32, 32), one);
      await seg2.dispose();
    } finally {
      await seg.dispose();
    }
    for (const bad of ['two', '-1', '1.5']) {
      process.env.CERTSEG_ORT_THREADS = bad;
      await assert.rejects(loadSegmenter(path.join(ROOT, 'models/default/segmenter.card.json'), { engine: 'onnx' }), (e: Error) => {
        assert.equal(e.message, `CERTSEG_ORT_THREADS must be a whole number of threads (0: ONNX Runtime's default), not "${bad}"`);
        return true;
      });
    }
  } finally {
    if (saved === undefined) delete process.env.CERTSEG_ORT_THREADS;
    else process.env.CERTSEG_ORT_THREADS = saved;
  }
});

test("CERTSEG_ORT_SPINNING sets whether every session's threads spin-wait (recorded in the provenance, same outputs); anything but 1 / 0 is refused in one line", async () => {
  const saved = process.env.CERTSEG_ORT_SPINNING;
  const card = path.join(ROOT, 'models/default/segmenter.card.json');
  const x = seededUniform(2 * 3 * 32 * 32, 5);
  try {
    const outputs: Uint8Array[] = [];
    for (const v of ['1', '0', undefined]) {
      if (v === undefined) delete process.env.CERTSEG_ORT_SPINNING;
      else process.env.CERTSEG_ORT_SPINNING = v;
      const seg = await loadSegmenter(card, { engine: 'onnx' });
      try {
        assert.equal(seg.info.session?.allowSpinning, v === undefined ? ORT_SPINNING_DEFAULT : v === '1');
        outputs.push(await seg.segment(x, 2, 32, 32));
      } finally {
        await seg.dispose();
      }
    }
    assert.deepEqual(outputs[1], outputs[0], 'spinning changes speed, not values');
    assert.deepEqual(outputs[2], outputs[0]);
    for (const bad of ['yes', '2', 'off']) {
      process.env.CERTSEG_ORT_SPINNING = bad;
      await assert.rejects(loadSegmenter(card, { engine: 'onnx' }), (e: Error) => {
        assert.equal(e.message, `CERTSEG_ORT_SPINNING must be 1 (ONNX Runtime's threads spin-wait) or 0 (they sleep), not "${bad}"`);
        return true;
      });
    }
  } finally {
    if (saved === undefined) delete process.env.CERTSEG_ORT_SPINNING;
    else process.env.CERTSEG_ORT_SPINNING = saved;
  }
});
