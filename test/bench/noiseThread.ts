/**
 * --only=noisethread (run.ts): certification with the noise thread (core/noiseThread.ts, CERTSEG_NOISE_THREAD=1)
 * against noise on the main thread (=0), in one process with the models loaded and warm, interleaved (the
 * order alternates every round so that neither variant always runs second). Polyp models on a Kvasir-SEG
 * image at 256², with and without the denoiser. ONNX Runtime's threads spin-wait here (CERTSEG_ORT_SPINNING=1, ORT's own
 * default), the setting this comparison was first made at; certseg's default lets them sleep ("ONNX Runtime's threads
 * spinning, and the noise thread", run.ts --only=spinning).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../../server/src/config/config';
import { certifyImage } from '../../server/src/pipeline/certifyImage';
import { disposeModels } from '../../server/src/pipeline/models';
import { noiseThreadHelps, stopNoiseThread } from '../../server/src/core/noiseThread';
import type { ImageReport } from '../../protocol/results';
import { generatedBy, loadavg, median, startedAt, withEnv, writeSections } from './common';

export const NOISE_THREAD_HEADING = '## Noise thread';

type Timings = ImageReport['timings'];

export async function noiseThreadBench(root: string, doc: string, reps: number): Promise<void> {
  await disposeModels(); // sessions take the spinning setting at load
  try {
    await withEnv({ CERTSEG_ORT_SPINNING: '1' }, () => noiseThreadRounds(root, doc, reps));
  } finally {
    await disposeModels(); // the spinning sessions must not outlive the setting
  }
}

async function noiseThreadRounds(root: string, doc: string, reps: number): Promise<void> {
  const image = path.join(root, '../shared/datasets/kvasir-seg-256/images/cju0qkwl35piu0993l0dewei2.jpg');
  const configPath = path.join(root, 'models/polyp/polyp.certseg.json');
  if (!existsSync(image) || !existsSync(configPath)) throw new Error(`noise thread bench: needs ${image} and ${configPath}`);
  const sets = [
    { name: 'polyp, with the denoiser', overrides: {} },
    { name: 'polyp, no denoiser', overrides: { denoiser: null } },
  ];
  const variants = [
    { name: 'off', thread: false, nice: 0 },
    { name: 'on', thread: true, nice: 0 },
    { name: 'on, nice 19', thread: true, nice: 19 },
  ];
  const certify = (overrides: object, v: (typeof variants)[number]): Promise<Timings> =>
    withEnv({ CERTSEG_NOISE_THREAD: v.thread ? '1' : '0', CERTSEG_NOISE_THREAD_NICE: String(v.nice) }, async () => {
      const config = await loadConfig(configPath, overrides);
      const { report } = await certifyImage({ imagePath: image, config });
      if (report.provenance.noise !== (v.thread ? 'thread' : 'main')) throw new Error(`noise ran on ${report.provenance.noise}`);
      return report.timings;
    });
  const res = new Map<string, Timings[]>();
  const key = (s: { name: string }, v: { name: string }) => `${s.name}|${v.name}`;
  const started = startedAt();
  const config0 = await loadConfig(configPath, {});
  let loads: string[] = [];
  try {
    // warm: models loaded, sessions warm, the thread started and its noise code compiled
    for (const s of sets) for (const v of variants) await certify(s.overrides, v);
    loads = [loadavg()];
    for (let r = 0; r < reps; r++) {
      for (const s of sets) {
        // the order rotates every round, so that no variant always runs first
        for (let i = 0; i < variants.length; i++) {
          const v = variants[(i + r) % variants.length];
          const t = await certify(s.overrides, v);
          res.set(key(s, v), [...(res.get(key(s, v)) ?? []), t]);
          console.log(`round ${r + 1} ${s.name} thread ${v.name}: total ${t.total} noise ${t.noise} thread ${t.noiseThread ?? '-'}`);
        }
      }
      loads.push(loadavg());
    }
  } finally {
    await disposeModels();
    await stopNoiseThread();
  }
  const fmt = (x: number) => x.toFixed(0);
  const med = (ts: Timings[], f: (t: Timings) => number) => `${fmt(median(ts.map(f)))} (${ts.map((t) => fmt(f(t))).join(', ')})`;
  const out = [
    NOISE_THREAD_HEADING,
    '',
    `${generatedBy('noisethread', started)}: ${path.basename(image)} (256×256) with the polyp config (segmenter at 256², denoiser at 128²), σ = ${config0.sigma}, n0 = ${config0.n0}, n = ${config0.n}, batch ${config0.batchSize}, seed ${config0.seed}, ONNX Runtime CPU with its default threads, spinning between parallel sections (CERTSEG_ORT_SPINNING=1, ORT's own default). One process, models loaded and warm; ${reps} rounds, each certifying with the noise on the main thread (CERTSEG_NOISE_THREAD=0), on the noise thread (=1), and on the noise thread at nice 19 (CERTSEG_NOISE_THREAD_NICE=19), in an order that rotates every round. Medians, and each round's value in brackets. "noise, critical path" is timings.noise: the time the loop drew noise (off) or waited for it (on); "noise thread" is what the thread itself spent drawing (timings.noiseThread); "inference" is denoise + segment. Load average (1/5/15 min) after the warm-up runs and after each round: ${loads.join('; ')}.`,
    '',
    '| models | noise thread | total ms | noise, critical path ms | noise thread ms | inference ms |',
    '|---|---|---|---|---|---|',
  ];
  const verdicts: string[] = [];
  // clearly faster: median at least 3% below the main-thread run and faster in all rounds but at most one, for both sets
  const clear = new Map(variants.filter((v) => v.thread).map((v) => [v.name, true]));
  for (const s of sets) {
    const off = res.get(key(s, variants[0]))!;
    for (const v of variants) {
      const ts = res.get(key(s, v))!;
      out.push(
        `| ${s.name} | ${v.name} | ${med(ts, (t) => t.total)} | ${med(ts, (t) => t.noise)} | ${v.thread ? med(ts, (t) => t.noiseThread ?? 0) : '—'} | ${med(ts, (t) => t.denoise + t.segment)} |`,
      );
      if (!v.thread) continue;
      const ratios = ts.map((t, i) => t.total / off[i].total);
      const faster = ratios.filter((x) => x < 1).length;
      if (!(median(ratios) <= 0.97 && faster >= ratios.length - 1)) clear.set(v.name, false);
      verdicts.push(
        `${s.name}, ${v.name}: median ${median(ratios).toFixed(3)} (rounds ${ratios.map((x) => x.toFixed(3)).join(', ')}; faster in ${faster} of ${ratios.length})`,
      );
    }
  }
  out.push('', `Total with the thread / without it, per round: ${verdicts.join('; ')}.`);
  const winners = [...clear].filter(([, ok]) => ok).map(([name]) => name);
  out.push(
    '',
    `${winners.length ? `Clearly faster for both sets (median ≥ 3% below the main thread's and faster in all rounds but at most one): ${winners.join(', ')}.` : "Neither variant of the thread was clearly faster for both sets (median ≥ 3% below the main thread's and faster in all rounds but at most one)."} With ORT's threads spinning on every core the default (core/noiseThread.ts noiseThreadHelps) is the noise thread ${noiseThreadHelps({ device: 'cpu', intraOpNumThreads: 0, allowSpinning: true }) ? 'on' : 'off'}; certseg's own default lets them sleep, and then the thread is ${noiseThreadHelps({ device: 'cpu', intraOpNumThreads: 0, allowSpinning: false }) ? 'on' : 'off'} ("ONNX Runtime's threads spinning, and the noise thread"). CERTSEG_NOISE_THREAD=1 / =0 and CERTSEG_NOISE_THREAD_NICE choose, and every report records which ran (provenance.noise, timings.noiseThread). The values are identical either way (test/core/noiseThread.test.ts, test/pipeline/noiseThread.test.ts).`,
  );
  writeSections(doc, out.join('\n'));
  console.log(out.join('\n'));
}
