/**
 * Dataset throughput, one process vs N shards at once on this machine (the figures in docs/cluster.md and
 * docs/performance.md "Dataset throughput"):
 *   node --import tsx scripts/dataset-throughput.ts [--images 12] [--shards 3] [--n 64]
 * Copies the first test-split images of Kvasir-SEG (../shared) into a temp folder and certifies them with
 * the polyp segmenter, plain smoothing (no denoiser), with the bundled CLI (npm run build first):
 *  - one `certseg dataset` process;
 *  - N `certseg dataset --shard k/N` processes started together, then `certseg merge`.
 * A process's fixed overhead (process start, model load, summary) is its wall time minus the sum of its
 * images' certification times (summary perImage totalMs): what every shard pays once.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { SKIP_NO_KVASIR, certseg, makeDataset, readSummary, root, type Run } from '../test/cluster/helpers';

const { values } = parseArgs({
  options: { images: { type: 'string', default: '12' }, shards: { type: 'string', default: '3' }, n: { type: 'string', default: '64' } },
});
const images = Number(values.images);
const shards = Number(values.shards);
if (SKIP_NO_KVASIR) throw new Error(SKIP_NO_KVASIR);

const tmp = mkdtempSync(path.join(tmpdir(), 'certseg-throughput-'));
const params = [
  '--config',
  path.join(root, 'models/polyp/polyp.certseg.json'),
  '--no-denoiser',
  '--n0',
  '4',
  '--n',
  values.n as string,
  '--seed',
  '7',
];

async function timed(run: () => Promise<Run>): Promise<number> {
  const t0 = performance.now();
  const r = await run();
  if (r.code !== 0) throw new Error(r.stderr.trim());
  return performance.now() - t0;
}
const sumImagesMs = (file: string) =>
  (JSON.parse(readFileSync(file, 'utf8')) as { perImage: { totalMs: number }[] }).perImage.reduce((t, p) => t + p.totalMs, 0);
const perMin = (ms: number) => (images / (ms / 60_000)).toFixed(1);

async function main(): Promise<void> {
  const ds = path.join(tmp, 'ds');
  makeDataset(ds, images);
  const load0 = loadavg()[0];

  const oneMs = await timed(() => certseg(['dataset', ds, '--out', path.join(tmp, 'one'), ...params]));
  const oneOverhead = oneMs - sumImagesMs(path.join(tmp, 'one', 'summary.json'));

  const out = path.join(tmp, 'sharded');
  const shardWall: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: shards }, (_, k) =>
      timed(() => certseg(['dataset', ds, '--out', out, '--shard', `${k}/${shards}`, ...params])).then((ms) => (shardWall[k] = ms)),
    ),
  );
  const shardsMs = performance.now() - t0;
  const mergeMs = await timed(() => certseg(['merge', out, '--out', out]));
  const overheads = shardWall.map((ms, k) => ms - sumImagesMs(path.join(out, `shard-${k}-of-${shards}.json`)));
  if (readSummary(path.join(out, 'summary.json')).images !== images) throw new Error('the merge lost images');

  const s = (ms: number) => (ms / 1000).toFixed(1);
  console.log(
    `${new Date().toISOString().slice(0, 10)}: ${images} Kvasir-SEG images 256×256, polyp segmenter, plain smoothing, n0 = 4, n = ${values.n}; ${cpus().length} cores (${cpus()[0]?.model.trim()}), load average ${load0.toFixed(1)} at the start`,
  );
  console.log(`| run | wall s | images/min |\n|---|---|---|`);
  console.log(`| 1 process | ${s(oneMs)} | ${perMin(oneMs)} |`);
  console.log(`| ${shards} shards at once | ${s(shardsMs)} | ${perMin(shardsMs)} |`);
  console.log(`| ${shards} shards + merge | ${s(shardsMs + mergeMs)} | ${perMin(shardsMs + mergeMs)} |`);
  console.log(`certification per image (1 process, mean of Σ image times): ${s((oneMs - oneOverhead) / images)} s`);
  console.log(
    `fixed overhead per process (wall − Σ image times): 1 process ${s(oneOverhead)} s; shards ${overheads.map(s).join(', ')} s; merge ${s(mergeMs)} s`,
  );
}

main().finally(() => rmSync(tmp, { recursive: true, force: true }));
