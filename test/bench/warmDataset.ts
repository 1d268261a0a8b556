/**
 * --only=warmdataset (run.ts): dataset throughput per image with warm sessions. One `certseg dataset` process
 * loads the models once and certifies every image with the same (warm) sessions and composed graphs; the
 * alternative a script would otherwise write is one `certseg certify` process per image, each paying process
 * start, model load and the runtimes' first runs. Both through the bundled CLI (npm run build first), on the
 * first Kvasir-SEG test images with the shipped polyp config, with and without its denoiser, interleaved.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DatasetSummary } from '../../protocol/results';
import { generatedBy, loadavg, median, startedAt, writeSections } from './common';
import { SKIP_NO_KVASIR, certseg, makeDataset } from '../cluster/helpers';

export const WARM_DATASET_HEADING = '## Dataset throughput with warm sessions';

async function timed(args: string[]): Promise<number> {
  const t0 = performance.now();
  const r = await certseg(args);
  if (r.code !== 0) throw new Error(`certseg ${args.join(' ')}: ${r.stderr.trim()}`);
  return performance.now() - t0;
}

export async function warmDatasetBench(root: string, doc: string, opts: { images: number; reps: number }): Promise<void> {
  if (SKIP_NO_KVASIR) throw new Error(SKIP_NO_KVASIR);
  const config = path.join(root, 'models/polyp/polyp.certseg.json');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'certseg-warm-dataset-'));
  const started = startedAt();
  const sets = [
    { name: 'polyp config, with the denoiser', args: [] as string[] },
    { name: 'polyp config, no denoiser', args: ['--no-denoiser'] },
  ];
  type Round = { datasetWall: number; first: number; rest: number[]; separate: number[] };
  const rounds = new Map<string, Round[]>();
  const loads = [loadavg()];
  try {
    const ds = path.join(tmp, 'ds');
    makeDataset(ds, opts.images);
    const images = readdirSync(path.join(ds, 'images')).sort();
    let k = 0;
    for (let rep = 0; rep < opts.reps; rep++) {
      for (const set of sets) {
        const params = ['--config', config, ...set.args];
        const dataset = async () => {
          const out = path.join(tmp, `run${k++}`);
          const wall = await timed(['dataset', ds, '--out', out, ...params]);
          const s = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as DatasetSummary;
          if (s.perImage.length !== images.length) throw new Error(`dataset certified ${s.perImage.length} of ${images.length} images`);
          return { wall, times: s.perImage.map((p) => p.totalMs) };
        };
        const separate = async () => {
          const walls: number[] = [];
          for (const img of images)
            walls.push(await timed(['certify', path.join(ds, 'images', img), '--out', path.join(tmp, `run${k++}`), ...params]));
          return walls;
        };
        // alternate which runs first
        const [d, sep] =
          rep % 2
            ? await separate().then(async (s) => [await dataset(), s] as const)
            : await dataset().then(async (d) => [d, await separate()] as const);
        const r: Round = { datasetWall: d.wall, first: d.times[0], rest: d.times.slice(1), separate: sep };
        rounds.set(set.name, [...(rounds.get(set.name) ?? []), r]);
        console.log(
          `${set.name} round ${rep + 1}: dataset ${d.wall.toFixed(0)} ms (first image ${r.first}, then ${r.rest.join(', ')}); separate ${sep.map((x) => x.toFixed(0)).join(', ')}`,
        );
      }
      loads.push(loadavg());
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const s = (ms: number) => (ms / 1000).toFixed(2);
  const out = [
    WARM_DATASET_HEADING,
    '',
    `${generatedBy('warmdataset', started)}: the first ${opts.images} Kvasir-SEG test images (256×256), models/polyp/polyp.certseg.json as shipped (σ 0.25, n0 10, n 100, batch 8; ONNX Runtime CPU, composed graphs), with and without its denoiser, through the bundled CLI. "one dataset process": \`certseg dataset\`, the models loaded once, every image on the same warm sessions; its wall time includes process start, model load and the summary. "first image" / "warm images" are the summary's per-image certification times (perImage.totalMs). "one process per image": \`certseg certify\` on each image in its own process, wall time each (start, load and first runs every time). ${opts.reps} rounds, the order alternating; medians over all images of all rounds. Load average (1/5/15 min) at the start and after each round: ${loads.join('; ')}.`,
    '',
    '| models | one dataset process: wall s per image | images/min | first image s | warm images s (median) | one process per image: wall s (median) | images/min | per image, dataset / separate |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const set of sets) {
    const rs = rounds.get(set.name)!;
    const perImage = median(rs.map((r) => r.datasetWall / opts.images));
    const sep = median(rs.flatMap((r) => r.separate));
    out.push(
      `| ${set.name} | ${s(perImage)} | ${(60_000 / perImage).toFixed(1)} | ${s(median(rs.map((r) => r.first)))} | ${s(median(rs.flatMap((r) => r.rest)))} | ${s(sep)} | ${(60_000 / sep).toFixed(1)} | ${(perImage / sep).toFixed(2)} |`,
    );
  }
  writeSections(doc, out.join('\n'));
  console.log(out.join('\n'));
}
