/**
 * --only=inferencethread (run.ts): the other half of issue 16's "noise off the critical path": run inference
 * from a worker thread (inferenceWorker.ts) and keep the main thread for noise and counting, against the
 * serial loop that does all three on one thread. onnxruntime-node's run() blocks the thread that calls it, so
 * with inference on a worker the main thread draws batch k+1's noise and counts batch k−1's votes while
 * batch k runs. Both variants do the same work (rng.ts noisyBatch on the same seeded streams, the same models
 * on the composed path, the same vote counting), and their vote counts must come out identical.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as esbuild from 'esbuild';
import { noisyBatch } from '../../server/src/core/rng';
import { EstimationVotes } from '../../server/src/core/votes';
import { readImage } from '../../server/src/image/read';
import { disposeModels } from '../../server/src/pipeline/models';
import { loadPair, type InferenceJob, type InferenceReply, type InferenceRequest } from './inferenceWorker';
import { generatedBy, loadavg, median, startedAt, writeSections } from './common';

export const INFERENCE_THREAD_HEADING = '## Inference in a worker thread';

interface Run {
  total: number;
  /** time the main thread spent drawing noise and counting (serial: on the critical path; threaded: beside inference) */
  noise: number;
  count: number;
  /** time inference took (in the worker, for the threaded variant) */
  infer: number;
  counts: Uint16Array;
}

const SEED = 0;
const SAMPLES = 110; // n0 + n of the polyp config

export async function inferenceThreadBench(root: string, doc: string, reps: number): Promise<void> {
  const imagePath = path.join(root, '../shared/datasets/kvasir-seg-256/images/cju0qkwl35piu0993l0dewei2.jpg');
  const configPath = path.join(root, 'models/polyp/polyp.certseg.json');
  if (!existsSync(imagePath) || !existsSync(configPath)) throw new Error(`inference thread bench: needs ${imagePath} and ${configPath}`);
  // A worker thread gets none of tsx's hooks (and the engines' dynamic imports need its ESM hooks too): the
  // worker runs as a bundle, built here as the shipped ones are (esbuild.mjs), natives external.
  const entry = path.join(root, 'dist/bench/inferenceWorker.js');
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'inferenceWorker.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['onnxruntime-node', 'sharp', '@tensorflow/*', '@itk-wasm/*', 'tsx'],
    outfile: entry,
    logLevel: 'warning',
  });
  const image = await readImage(imagePath);
  const { height: h, width: w } = image;
  const len = image.data.length;
  const sets = [
    { name: 'polyp, with the denoiser', noDenoiser: false },
    { name: 'polyp, no denoiser', noDenoiser: true },
  ];
  const started = startedAt();
  const results = new Map<string, Run[]>();
  const loads: string[] = [];
  let batch = 8;
  let sigma = 0.25;

  for (const set of sets) {
    const job: InferenceJob = { configPath, noDenoiser: set.noDenoiser, height: h, width: w };
    const local = await loadPair(job);
    batch = local.config.batchSize;
    sigma = local.config.sigma;
    const worker = new Worker(entry, { workerData: job });
    const pending = new Map<number, { resolve: (r: InferenceReply) => void; reject: (e: Error) => void }>();
    worker.on('message', (r: InferenceReply) => {
      pending.get(r.id)?.resolve(r);
      pending.delete(r.id);
    });
    const failAll = (e: Error) => {
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`the inference worker exited (code ${code})`)));
    let nextId = 0;
    const remote = (buffer: Float32Array, count: number) =>
      new Promise<InferenceReply>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        const msg: InferenceRequest = { type: 'run', id, count, buffer: buffer.buffer as ArrayBuffer };
        worker.postMessage(msg, [msg.buffer]);
      });
    const selected = new Uint8Array(h * w).fill(1); // count agreement with label 1 (the polyp class)

    const serial = async (): Promise<Run> => {
      const votes = new EstimationVotes(selected);
      const buf = new Float32Array(batch * len);
      const scratch = new Float32Array(len);
      const r = { noise: 0, count: 0, infer: 0 };
      const t0 = performance.now();
      for (let done = 0; done < SAMPLES; done += batch) {
        const count = Math.min(batch, SAMPLES - done);
        let t = performance.now();
        noisyBatch(image.data, sigma, SEED, done, count, buf, scratch);
        r.noise += performance.now() - t;
        t = performance.now();
        const labels = await local.infer(buf.subarray(0, count * len), count);
        r.infer += performance.now() - t;
        t = performance.now();
        votes.add(labels, count);
        r.count += performance.now() - t;
      }
      return { ...r, total: performance.now() - t0, counts: votes.counts };
    };

    const threaded = async (): Promise<Run> => {
      const votes = new EstimationVotes(selected);
      const scratch = new Float32Array(len);
      let spare: Float32Array[] = [new Float32Array(batch * len), new Float32Array(batch * len)];
      const r = { noise: 0, count: 0, infer: 0 };
      const t0 = performance.now();
      const fill = (start: number) => {
        const count = Math.min(batch, SAMPLES - start);
        const buf = spare.pop()!;
        const t = performance.now();
        noisyBatch(image.data, sigma, SEED, start, count, buf, scratch);
        r.noise += performance.now() - t;
        return remote(buf, count).then((reply) => ({ reply, count }));
      };
      let inFlight = fill(0);
      for (let done = 0; done < SAMPLES; done += batch) {
        // the next batch's noise is drawn while the worker runs this one
        const next = done + batch < SAMPLES ? fill(done + batch) : null;
        const { reply, count } = await inFlight;
        spare = [...spare, new Float32Array(reply.buffer)];
        r.infer += reply.ms;
        const t = performance.now();
        votes.add(new Uint8Array(reply.labels), count);
        r.count += performance.now() - t;
        if (next) inFlight = next;
      }
      return { ...r, total: performance.now() - t0, counts: votes.counts };
    };

    await serial(); // warm both: sessions, composed graphs, JIT
    await threaded();
    if (!loads.length) loads.push(loadavg());
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 ? ['threaded', 'serial'] : ['serial', 'threaded'];
      for (const v of order) {
        const run = v === 'serial' ? await serial() : await threaded();
        const key = `${set.name}|${v}`;
        results.set(key, [...(results.get(key) ?? []), run]);
        console.log(`${set.name} ${v} round ${rep + 1}: ${run.total.toFixed(0)} ms`);
      }
      loads.push(loadavg());
    }
    await worker.terminate();
    await disposeModels();
    // the same work: identical votes
    const a = results.get(`${set.name}|serial`)!;
    const b = results.get(`${set.name}|threaded`)!;
    for (const run of [...a, ...b])
      if (!run.counts.every((c, i) => c === a[0].counts[i])) throw new Error(`${set.name}: the vote counts differ between runs`);
  }

  const fmt = (x: number) => x.toFixed(0);
  const med = (rs: Run[], f: (r: Run) => number) => `${fmt(median(rs.map(f)))} (${rs.map((r) => fmt(f(r))).join(', ')})`;
  const out = [
    INFERENCE_THREAD_HEADING,
    '',
    `${generatedBy('inferencethread', started)}: ${path.basename(imagePath)} (${w}×${h}), polyp config (composed graphs, ONNX Runtime CPU, default threads), σ = ${sigma}, ${SAMPLES} samples in batches of ${batch}, seed ${SEED}. "serial": noise, inference and vote counting on the main thread, one after the other (what the sampling loop does by default). "worker": the models loaded in a worker thread (test/bench/inferenceWorker.ts) that runs each batch, buffers transferred both ways, while the main thread draws the next batch's noise and counts the last batch's votes. Both variants' vote counts are identical (checked on every run). ${reps} rounds, the order alternating; medians and each round in brackets. Load average (1/5/15 min) after the warm-up and after each round: ${loads.join('; ')}.`,
    '',
    '| models | variant | total ms | noise ms (main thread) | counting ms (main thread) | inference ms |',
    '|---|---|---|---|---|---|',
  ];
  const verdicts: string[] = [];
  for (const set of sets) {
    const s = results.get(`${set.name}|serial`)!;
    const t = results.get(`${set.name}|threaded`)!;
    out.push(
      `| ${set.name} | serial | ${med(s, (r) => r.total)} | ${med(s, (r) => r.noise)} | ${med(s, (r) => r.count)} | ${med(s, (r) => r.infer)} |`,
    );
    out.push(
      `| ${set.name} | worker | ${med(t, (r) => r.total)} | ${med(t, (r) => r.noise)} | ${med(t, (r) => r.count)} | ${med(t, (r) => r.infer)} |`,
    );
    const ratios = t.map((r, i) => r.total / s[i].total);
    verdicts.push(
      `${set.name}: median ${median(ratios).toFixed(3)} (rounds ${ratios.map((x) => x.toFixed(3)).join(', ')}; faster in ${ratios.filter((x) => x < 1).length} of ${ratios.length})`,
    );
  }
  out.push('', `Worker / serial, per round: ${verdicts.join('; ')}.`);
  writeSections(doc, out.join('\n'));
  console.log(out.join('\n'));
}
