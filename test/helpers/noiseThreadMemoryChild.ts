/**
 * Measures what the noise thread adds to the process's resident memory: RSS before the thread starts and after
 * it has drawn a batch for an image of `argv[2]` pixels (its image copy and scratch in place). Prints
 * { rssBefore, rssAfter, pixels } as JSON (test/core/noiseThread.test.ts compares it with the memory plan).
 * Run with --expose-gc, so that garbage does not count on either side.
 */
import { startNoiseRun, stopNoiseThread } from '../../server/src/core/noiseThread';

const gc = (globalThis as { gc?: () => void }).gc;
void (async () => {
  const pixels = Number(process.argv[2]);
  const image = new Float32Array(3 * pixels).fill(0.5);
  const batch = new Float32Array(3 * pixels);
  batch.fill(0); // touched: resident before the first measurement
  gc?.();
  const rssBefore = process.memoryUsage().rss;
  const run = startNoiseRun(image, 0.25, 1);
  if (!run) throw new Error('the noise thread did not start');
  await run.fill(batch, 0, 1);
  await new Promise((r) => setTimeout(r, 200));
  gc?.();
  const rssAfter = process.memoryUsage().rss;
  run.close();
  await stopNoiseThread();
  console.log(JSON.stringify({ rssBefore, rssAfter, pixels }));
})();
