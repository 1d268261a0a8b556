/**
 * The worker's answers as the preview page's messages (protocol/webview.ts): partial results, a
 * certification result, a translation-consistency result. Without `vscode` (unit-tested in
 * test/client/previewMessages.test.ts).
 */
import * as path from 'node:path';
import type { ClassInfo, ConsistencyView, ToWebview } from '../../protocol/webview';
import {
  decodeArray,
  type CertifyImageResultWire,
  type ConsistencyResultWire,
  type PartialResultWire,
  type ShiftMeasurementWire,
} from '../../protocol/messages';
import type { StoredResult } from './store';

/** A partial result streamed while a run goes on, `elapsedMs` after it was sent. */
export function partialMessage(p: PartialResultWire, elapsedMs: number): Extract<ToWebview, { type: 'partial' }> {
  return {
    type: 'partial',
    width: p.width,
    height: p.height,
    phase: p.phase,
    samplesDone: p.samplesDone,
    selected: decodeArray(p.selected),
    counts: decodeArray(p.counts),
    certifiedSoFar: p.certifiedSoFar ? decodeArray(p.certifiedSoFar) : null,
    samplesTotal: p.samplesTotal,
    thresholds: p.thresholds,
    elapsedMs,
  };
}

/** A certification's answer as a stored result (in `outDir`, or `defaultDir` when the worker names none). */
export function storedFromWire(r: CertifyImageResultWire, defaultDir: string): StoredResult {
  return {
    report: r.report,
    dir: r.outDir ?? defaultDir,
    width: r.width,
    height: r.height,
    clean: decodeArray(r.clean),
    selected: decodeArray(r.selected),
    counts: decodeArray(r.counts),
    certified: decodeArray(r.certified),
    radiusMap: r.radiusMap ? decodeArray(r.radiusMap) : null,
    mask: r.mask ? decodeArray(r.mask) : null,
  };
}

function measurement(m: ShiftMeasurementWire) {
  return { ...m, flipMap: decodeArray(m.flipMap) };
}

export function consistencyMessage(r: ConsistencyResultWire): Extract<ToWebview, { type: 'consistency' }> {
  const view: ConsistencyView = {
    width: r.width,
    height: r.height,
    plain: measurement(r.plain),
    cropSelection: r.cropSelection
      ? {
          ...measurement(r.cropSelection),
          M: r.cropSelection.M,
          bound: r.cropSelection.bound,
          exchangeable: r.cropSelection.exchangeable,
          anyShift: r.cropSelection.anyShift,
        }
      : null,
    segmenter: `${path.basename(r.segmenter.card)} on ${r.segmenter.engine} (${r.segmenter.backend}, ${r.segmenter.device})`,
  };
  return { type: 'consistency', ...view };
}

/** The arrays of a stored result, as the page's `result` message carries them. */
export function arraysOf(r: StoredResult) {
  return {
    width: r.width,
    height: r.height,
    clean: r.clean,
    selected: r.selected,
    counts: r.counts,
    certified: r.certified,
    radiusMap: r.radiusMap,
    mask: r.mask,
  };
}

export function classesOf(c: { name: string; color: string }[] | undefined): ClassInfo[] {
  return (c ?? []).map((x) => ({ name: x.name, color: x.color }));
}
