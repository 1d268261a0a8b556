/**
 * The noise thread's entry (dist/server/noiseWorker.js in the bundles; this file under tsx): draws noisy
 * batches with the very same function as the main thread (rng.ts noisyBatch), so its values are those of
 * the serial loop, bit for bit. Requests and replies: noiseThread.ts.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { noisyBatch } from './rng';
import type { NoiseReply, NoiseRequest } from './noiseThread';

interface Job {
  image: Float32Array;
  sigma: number;
  seed: number;
  scratch: Float32Array;
}

if (!parentPort) throw new Error('noiseWorker.js must run as a worker thread (core/noiseThread.ts starts it)');
const port = parentPort;
// several runs may share the thread (a process certifying in parallel): each has its own image
const jobs = new Map<number, Job>();

port.on('message', (m: NoiseRequest) => {
  switch (m.type) {
    case 'begin':
      jobs.set(m.job, { image: m.image, sigma: m.sigma, seed: m.seed, scratch: new Float32Array(m.image.length) });
      return;
    case 'end':
      jobs.delete(m.job);
      return;
    case 'nice':
      // Linux nice values are per thread: this thread's kernel id is the last part of /proc/thread-self
      try {
        setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), m.value);
      } catch {
        // elsewhere (or not allowed to lower it again): the thread keeps its priority
      }
      return;
    case 'fill': {
      const job = jobs.get(m.job);
      let reply: NoiseReply;
      if (!job) {
        reply = { id: m.id, buffer: m.buffer, ms: 0, error: `noise thread: no run ${m.job}` };
      } else {
        const t0 = performance.now();
        noisyBatch(job.image, job.sigma, job.seed, m.first, m.count, new Float32Array(m.buffer), job.scratch);
        reply = { id: m.id, buffer: m.buffer, ms: performance.now() - t0 };
      }
      port.postMessage(reply, [m.buffer]); // the buffer goes back without a copy
    }
  }
});
