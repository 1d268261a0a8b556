/**
 * The noise thread (core/noiseThread.ts): the same noise as rng.ts noisyBatch byte for byte, the same
 * certificate with it on and off, cancellation, reuse of one thread, and no thread keeping a process alive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { noisyBatch } from '../../server/src/core/rng';
import {
  noiseThreadId,
  noiseThreadNice,
  noiseThreadWanted,
  noiseThreadHelps,
  startNoiseRun,
  stopNoiseThread,
  NOISE_THREAD_DEFAULT,
  NOISE_THREAD_NICE_DEFAULT,
} from '../../server/src/core/noiseThread';
import { noisePhases, segCertify, type SegCertifyParams } from '../../server/src/core/segcertify';
import { openNoiseAhead } from '../../server/src/core/sampling';
import { constantImage, toySegmenter } from '../helpers/toySegmenter';
import { NOISE_THREAD_BYTES_PER_PIXEL, NOISE_THREAD_RESERVE_BYTES } from '../../server/src/pipeline/memoryPlan';

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function testImage(len: number, salt: number): Float32Array {
  return Float32Array.from({ length: len }, (_, i) => ((i * 7919 + salt) % 1000) / 1000);
}

test('the thread draws exactly noisyBatch, byte for byte, for several seeds, offsets, batch sizes and image sizes', async () => {
  for (const [seed, first, count, len] of [
    [0, 0, 1, 3 * 16 * 16],
    [42, 10, 8, 3 * 32 * 32],
    [7, 110, 3, 3 * 7 * 5], // odd length: the last Gaussian pair loses its second value
    [0xffffffff, 65535, 5, 1 * 9 * 9],
  ]) {
    const image = testImage(len, seed % 1000);
    const sigma = 0.25 + (seed % 3) / 10;
    const expected = new Float32Array(count * len);
    noisyBatch(image, sigma, seed, first, count, expected, new Float32Array(len));
    const run = startNoiseRun(image, sigma, seed);
    assert.ok(run, 'no noise thread: its entry file was not found');
    try {
      // a buffer larger than the batch (the last, shorter batch of a phase): only `count` samples are written
      const into = new Float32Array((count + 2) * len).fill(-1);
      const got = await run.fill(into, first, count);
      assert.equal(into.length, 0, 'the buffer moves to the thread (transferred, not copied)');
      assert.ok(bytes(got.data.subarray(0, count * len)).equals(bytes(expected)), `seed ${seed}, first ${first}, count ${count}`);
      assert.ok(got.data.subarray(count * len).every((v) => v === -1));
      // the same buffer again, for the next samples: equal to a serial draw of those
      const again = await run.fill(got.data, first + count, count);
      noisyBatch(image, sigma, seed, first + count, count, expected, new Float32Array(len));
      assert.ok(bytes(again.data.subarray(0, count * len)).equals(bytes(expected)));
    } finally {
      run.close();
    }
  }
});

test('two runs at once on the one thread keep their own images', async () => {
  const a = testImage(300, 1);
  const b = testImage(300, 2);
  const ra = startNoiseRun(a, 0.5, 3)!;
  const rb = startNoiseRun(b, 0.1, 4)!;
  try {
    const [ga, gb] = await Promise.all([ra.fill(new Float32Array(600), 5, 2), rb.fill(new Float32Array(600), 5, 2)]);
    const ea = new Float32Array(600);
    const eb = new Float32Array(600);
    noisyBatch(a, 0.5, 3, 5, 2, ea, new Float32Array(300));
    noisyBatch(b, 0.1, 4, 5, 2, eb, new Float32Array(300));
    assert.ok(bytes(ga.data).equals(bytes(ea)));
    assert.ok(bytes(gb.data).equals(bytes(eb)));
  } finally {
    ra.close();
    rb.close();
  }
});

const params: SegCertifyParams = {
  sigma: 0.25,
  n0: 10,
  n: 100,
  tau: 0.75,
  alpha: 0.05,
  correction: 'holm',
  batchSize: 8,
  seed: 5,
  radiusMap: true,
};
const probs = Array.from({ length: 48 }, (_, i) => 0.5 + i / 100);

test('segCertify: the same counts, labels and radii with the noise thread on and off, for batch sizes that do and do not divide n', async () => {
  for (const batchSize of [8, 7, 1, 200]) {
    const run = (noiseThread: boolean) =>
      segCertify({
        image: constantImage(48),
        height: 6,
        width: 8,
        segmenter: toySegmenter(probs, params.sigma),
        denoiser: null,
        params: { ...params, batchSize },
        noiseThread,
      });
    const on = await run(true);
    const off = await run(false);
    assert.equal(on.noise, 'thread');
    assert.equal(off.noise, 'main');
    assert.ok(on.timings.noiseThread! > 0 && off.timings.noiseThread === undefined);
    assert.deepEqual(on.selected, off.selected);
    assert.deepEqual(on.counts, off.counts);
    assert.deepEqual(on.certified, off.certified);
    assert.deepEqual(on.radiusMap, off.radiusMap);
    assert.ok(on.certifiedPixels > 0 && on.certifiedPixels < 48, `batch ${batchSize}: a certificate that tells pixels apart`);
  }
});

test('the noise schedule crosses the phase boundary: the first estimation batch is drawn before the last selection batch is taken; every batch is exactly noisyBatch', async () => {
  const len = 3 * 5 * 7;
  const image = testImage(len, 3);
  const ahead = openNoiseAhead(image, 0.5, 42, 4, noisePhases({ n0: 10, n: 15 }));
  assert.ok(ahead, 'a noise thread');
  try {
    // selection 0+4, 4+4, 8+2; estimation 10+4, 14+4, 18+4, 22+3
    const expected = [
      [0, 4],
      [4, 4],
      [8, 2],
      [10, 4],
      [14, 4],
      [18, 4],
      [22, 3],
    ];
    assert.equal(ahead.requestedBatches, 2, 'two buffers in flight from the start');
    for (const [i, [first, count]] of expected.entries()) {
      if (i === 2)
        assert.equal(
          ahead.requestedBatches,
          4,
          "when the selection phase's last batch is taken, the estimation phase's first is requested",
        );
      const { data, count: got } = await ahead.next(first, count);
      assert.equal(got, count);
      const want = new Float32Array(count * len);
      noisyBatch(image, 0.5, 42, first, count, want, new Float32Array(len));
      assert.ok(bytes(data.subarray(0, count * len)).equals(bytes(want)), `samples ${first}+${count}`);
      ahead.release(data);
    }
    assert.equal(ahead.requestedBatches, expected.length, 'nothing drawn beyond the schedule');
    await assert.rejects(ahead.next(25, 1), /out of step/);
  } finally {
    ahead.close();
  }
});

test('segCertify with a schedule opened by the caller (as certifyImage does, before the clean pass): the same certificate as without the thread', async () => {
  const p = { ...params, batchSize: 3 };
  const image = constantImage(48);
  const ahead = openNoiseAhead(image, p.sigma, p.seed, p.batchSize, noisePhases(p))!;
  const run = (extra: object) =>
    segCertify({ image, height: 6, width: 8, segmenter: toySegmenter(probs, p.sigma), denoiser: null, params: p, ...extra });
  try {
    const on = await run({ noiseThread: true, noiseAhead: ahead });
    const off = await run({ noiseThread: false });
    assert.equal(on.noise, 'thread');
    assert.deepEqual(on.selected, off.selected);
    assert.deepEqual(on.counts, off.counts);
    assert.deepEqual(on.certified, off.certified);
    assert.equal(ahead.requestedBatches, Math.ceil(p.n0 / 3) + Math.ceil(p.n / 3), 'both phases came from the one schedule');
  } finally {
    ahead.close();
  }
});

test('cancellation with the noise thread: a cancelled error, the thread is reused, the next run is unchanged', async () => {
  const controller = new AbortController();
  const seg = toySegmenter(probs, params.sigma);
  const p = segCertify({
    image: constantImage(48),
    height: 6,
    width: 8,
    segmenter: seg,
    denoiser: null,
    params: { ...params, n: 5000, batchSize: 2 },
    noiseThread: true,
    signal: controller.signal,
    onProgress: (e) => {
      if (e.phase === 'estimation' && e.done === 10) controller.abort();
    },
  });
  const id = noiseThreadId();
  await assert.rejects(p, (e: Error & { code?: string }) => e.code === 'cancelled');
  assert.ok(seg.calls < 100, `segmenter called ${seg.calls} times after cancel`);
  const again = (noiseThread: boolean) =>
    segCertify({
      image: constantImage(48),
      height: 6,
      width: 8,
      segmenter: toySegmenter(probs, 0.25),
      denoiser: null,
      params,
      noiseThread,
    });
  const after = await again(true);
  assert.equal(noiseThreadId(), id, 'one thread per process, reused');
  assert.deepEqual(after.counts, (await again(false)).counts);
  await stopNoiseThread();
  assert.equal(noiseThreadId(), null);
  // a stopped thread is replaced by a fresh one on the next run
  assert.deepEqual((await again(true)).counts, after.counts);
  assert.notEqual(noiseThreadId(), null);
});

test('CERTSEG_NOISE_THREAD: 1 / 0 force it, anything else is the default; CERTSEG_NOISE_THREAD_NICE: 0..19', () => {
  assert.equal(noiseThreadWanted({ CERTSEG_NOISE_THREAD: '1' }), true);
  assert.equal(noiseThreadWanted({ CERTSEG_NOISE_THREAD: '0' }), false);
  assert.equal(noiseThreadWanted({}), NOISE_THREAD_DEFAULT);
  // left open: on where it measured faster: a GPU, ORT on fewer threads than the process's CPUs, or ORT's threads sleeping
  assert.equal(noiseThreadHelps({ device: 'gpu' }, 2), true);
  assert.equal(noiseThreadHelps({ device: 'cpu', intraOpNumThreads: 0 }, 2), false, "ORT's default threads, spinning or not known");
  assert.equal(
    noiseThreadHelps({ device: 'cpu', intraOpNumThreads: 0, allowSpinning: true }, 2),
    false,
    'spinning threads hold every core',
  );
  assert.equal(
    noiseThreadHelps({ device: 'cpu', intraOpNumThreads: 0, allowSpinning: false }, 2),
    true,
    'sleeping threads leave their cores while they wait',
  );
  assert.equal(noiseThreadHelps({ device: 'cpu', intraOpNumThreads: 1 }, 2), true);
  assert.equal(noiseThreadHelps({ device: 'cpu', intraOpNumThreads: 2, allowSpinning: true }, 2), false);
  assert.equal(noiseThreadHelps({ device: 'cpu', intraOpNumThreads: 4 }, 8), true);
  assert.equal(noiseThreadHelps({ device: 'cpu', intraOpNumThreads: 1 }, 1), false, 'one CPU: nothing to spare');
  assert.equal(
    noiseThreadHelps({ device: 'cpu', intraOpNumThreads: 0, allowSpinning: false }, 1),
    false,
    'one CPU: the thread only takes turns',
  );
  assert.equal(noiseThreadWanted({}, { device: 'gpu' }), true);
  assert.equal(noiseThreadWanted({ CERTSEG_NOISE_THREAD: '0' }, { device: 'gpu' }), false, 'the variable wins');
  assert.equal(noiseThreadWanted({ CERTSEG_NOISE_THREAD: '1' }, { device: 'cpu', intraOpNumThreads: 0 }), true);
  assert.equal(noiseThreadNice({ CERTSEG_NOISE_THREAD_NICE: '19' }), 19);
  assert.equal(noiseThreadNice({ CERTSEG_NOISE_THREAD_NICE: '40' }), 19);
  assert.equal(noiseThreadNice({ CERTSEG_NOISE_THREAD_NICE: '-5' }), 0, 'never above the process priority');
  assert.equal(noiseThreadNice({ CERTSEG_NOISE_THREAD_NICE: 'low' }), NOISE_THREAD_NICE_DEFAULT);
  assert.equal(noiseThreadNice({}), NOISE_THREAD_NICE_DEFAULT);
});

test('at nice 19 the thread still draws exactly noisyBatch', async () => {
  const old = process.env.CERTSEG_NOISE_THREAD_NICE;
  process.env.CERTSEG_NOISE_THREAD_NICE = '19';
  try {
    const image = testImage(3 * 20 * 20, 9);
    const run = startNoiseRun(image, 0.25, 99)!;
    const got = await run.fill(new Float32Array(4 * image.length), 3, 4);
    run.close();
    const expected = new Float32Array(4 * image.length);
    noisyBatch(image, 0.25, 99, 3, 4, expected, new Float32Array(image.length));
    assert.ok(bytes(got.data).equals(bytes(expected)));
  } finally {
    if (old === undefined) delete process.env.CERTSEG_NOISE_THREAD_NICE;
    else process.env.CERTSEG_NOISE_THREAD_NICE = old;
  }
});

test('an idle noise thread does not keep a process alive', () => {
  const child = path.join(__dirname, '../helpers/noiseThreadChild.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', child], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.error, undefined, `the process did not end by itself: ${r.error}`);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { noise: string; thread: number | null; certified: number };
  assert.equal(out.noise, 'thread');
  assert.ok(out.thread !== null && out.thread > 0);
  assert.equal(out.certified, 64);
});

test("what the noise thread adds to a process's memory stays within what the memory plan counts for it", () => {
  // a fresh process (this one may have started the thread already); under tsx the thread loads tsx as well, so
  // this is a heavier thread than the bundled one users run
  const child = path.join(__dirname, '../helpers/noiseThreadMemoryChild.ts');
  const pixels = 512 * 512;
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', child, String(pixels)], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as { rssBefore: number; rssAfter: number };
  const added = m.rssAfter - m.rssBefore;
  const planned = NOISE_THREAD_RESERVE_BYTES + pixels * NOISE_THREAD_BYTES_PER_PIXEL; // sideBytes() for the thread (memoryPlan.test.ts)
  console.log(
    `noise thread at ${pixels} pixels: ${(added / 2 ** 20).toFixed(1)} MiB resident added, ${(planned / 2 ** 20).toFixed(1)} MiB planned`,
  );
  assert.ok(added > pixels * 12, 'the thread holds at least its copy of the image');
  assert.ok(added <= planned, `${added} bytes added, ${planned} planned`);
});
