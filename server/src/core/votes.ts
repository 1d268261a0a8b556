/**
 * Streaming vote counters for SegCertify. Memory is O(K·C) for the selection phase and O(K) for the
 * estimation phase, independent of the number of samples: label maps are folded in and dropped.
 */
import { CertsegError } from './errors';

/** Selection phase: per-pixel class histograms over the n0 samples. */
export class SelectionVotes {
  readonly votes: Uint16Array;
  samples = 0;

  constructor(
    readonly numPixels: number,
    readonly numClasses: number,
  ) {
    this.votes = new Uint16Array(numPixels * numClasses);
  }

  /** Add `count` label maps stored back to back in `labels` (count × numPixels). */
  add(labels: Uint8Array, count: number): void {
    const K = this.numPixels;
    const C = this.numClasses;
    const v = this.votes;
    for (let j = 0; j < count; j++) {
      const off = j * K;
      for (let i = 0; i < K; i++) {
        const c = labels[off + i];
        if (c >= C) throw new CertsegError(`segmenter returned class ${c} but its card lists ${C} classes`, 'model');
        v[i * C + c]++;
      }
    }
    this.samples += count;
    if (this.samples > 0xffff) throw new CertsegError('n0 must be at most 65535', 'config');
  }

  /** ĉ_i: most frequent class per pixel, ties to the lowest class id. */
  selected(out = new Uint8Array(this.numPixels)): Uint8Array {
    return modeOf(this.votes, this.numPixels, this.numClasses, out);
  }
}

/** Per-pixel mode of a K×C vote histogram (row-major), ties to the lowest class id. */
export function modeOf(v: ArrayLike<number>, K: number, C: number, out = new Uint8Array(K)): Uint8Array {
  for (let i = 0; i < K; i++) {
    let best = 0;
    let bestVotes = v[i * C];
    for (let c = 1; c < C; c++) {
      const x = v[i * C + c];
      if (x > bestVotes) {
        best = c;
        bestVotes = x;
      }
    }
    out[i] = best;
  }
  return out;
}

/** Estimation phase: per-pixel count of samples agreeing with the selected class. */
export class EstimationVotes {
  readonly counts: Uint16Array;
  samples = 0;

  constructor(readonly selected: Uint8Array) {
    this.counts = new Uint16Array(selected.length);
  }

  add(labels: Uint8Array, count: number): void {
    const K = this.selected.length;
    const sel = this.selected;
    const k = this.counts;
    for (let j = 0; j < count; j++) {
      const off = j * K;
      for (let i = 0; i < K; i++) if (labels[off + i] === sel[i]) k[i]++;
    }
    this.samples += count;
    if (this.samples > 0xffff) throw new CertsegError('n must be at most 65535', 'config');
  }
}
