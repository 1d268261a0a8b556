import { confusionMatrix, segMetrics } from '../core/metrics';
import type { MetricBlock } from '../../../protocol/results';

/** The report's metric block for one prediction (certified or clean) against a ground-truth mask. */
export function metricBlock(pred: Uint8Array, gt: Uint8Array, numClasses: number, ignoreLabel?: number): MetricBlock {
  return segMetrics(confusionMatrix(pred, gt, numClasses, ignoreLabel));
}
