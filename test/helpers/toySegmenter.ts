/**
 * A segmenter whose smoothed class probabilities are known in closed form, for testing the guarantee.
 * The clean image is constant; pixel i is labelled `cls` when the noise on its first channel is below
 * σ·Φ⁻¹(p_i), so P[f_i(x+ε) = cls] = p_i exactly under ε ~ N(0, σ²), and `other` otherwise.
 * It implements the real Segmenter interface: the certification code under test cannot tell it apart.
 */
import type { Segmenter } from '../../server/src/engines/engine';
import type { ResolvedCard } from '../../server/src/models/card';
import { normInv } from '../../server/src/core/stats';

export const TOY_LEVEL = 0.5;

export function toySegmenter(probabilities: number[], sigma: number, cls = 1, other = 0): Segmenter & { calls: number } {
  const thresholds = probabilities.map((p) => TOY_LEVEL + sigma * normInv(p));
  const K = probabilities.length;
  const seg = {
    calls: 0,
    numClasses: 2,
    card: {
      name: 'toy',
      role: 'segmenter',
      classes: [
        { name: 'a', color: '#000000' },
        { name: 'b', color: '#ffffff' },
      ],
    } as unknown as ResolvedCard,
    info: { engine: 'onnx' as const, backend: 'closed-form', device: 'cpu' as const, version: 'test' },
    async segment(images: Float32Array, b: number, h: number, w: number): Promise<Uint8Array> {
      if (h * w !== K) throw new Error('toy segmenter: wrong size');
      seg.calls++;
      const out = new Uint8Array(b * K);
      for (let j = 0; j < b; j++) {
        const base = j * 3 * K; // channel 0 of image j
        for (let i = 0; i < K; i++) out[j * K + i] = images[base + i] < thresholds[i] ? cls : other;
      }
      return out;
    },
    async dispose() {},
  };
  return seg;
}

export function constantImage(K: number): Float32Array {
  return new Float32Array(3 * K).fill(TOY_LEVEL);
}
