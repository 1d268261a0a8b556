/**
 * The webview messages, one typed module: between the extension host (client/src/preview.ts, report.ts) and the webviews (media/src/preview/,
 * report.ts).
 * Arrays travel as typed arrays: VS Code transfers them as binary (no base64, no JSON number arrays).
 */
import type { ImageReport } from './results';
import type { Decoded, DisplayImageResult, PartialResultWire, ShiftMeasurementWire } from './messages';

/** A DICOM/NIfTI plane for display (certseg/displayImage with its intensities decoded): the webview windows it. */
export type MedicalImageView = Decoded<DisplayImageResult>;

/** One translation-consistency measurement with its flip map decoded (0..8 shifts changed the pixel). */
export type ShiftMeasurement = Decoded<ShiftMeasurementWire>;

/** The result of certseg/consistency for the preview (also stored beside the result, shown again on reload). */
export interface ConsistencyView {
  width: number;
  height: number;
  plain: ShiftMeasurement;
  cropSelection: (ShiftMeasurement & { M: number; bound: number; exchangeable: number; anyShift: number }) | null;
  /** engine/backend/device of the segmenter */
  segmenter: string;
}

export interface ClassInfo {
  name: string;
  color: string;
}

export interface ResultArrays {
  width: number;
  height: number;
  clean: Uint8Array | null;
  selected: Uint8Array;
  counts: Uint16Array;
  certified: Uint8Array;
  radiusMap: Float32Array | null;
  mask: Uint8Array | null;
}

/** Host → webview. */
export type ToWebview =
  | {
      type: 'init';
      /** webview URI of the image (cache-busted); null when the format cannot be shown (TIFF) */
      imageUrl: string | null;
      imageName: string;
      /** absolute path of the image (kept in the webview state for the panel serializer) */
      imagePath: string;
      /** true while a run for this panel is in flight */
      running: boolean;
      /** runs are refused (untrusted workspace) */
      canRun: boolean;
      /** n0 and n of the config about to run, for the partial-result progress bars */
      n0?: number;
      n?: number;
    }
  | { type: 'progress'; percent: number; message: string }
  /** a partial result of the run (certseg/certifyImage's PartialResultWire, arrays decoded) */
  | ({
      type: 'partial';
      /** ms since the run was sent */
      elapsedMs: number;
    } & Decoded<PartialResultWire>)
  | ({ type: 'result'; report: ImageReport; classes: ClassInfo[]; resultDir: string | null; fromCache: boolean } & ResultArrays)
  | { type: 'recertified'; report: ImageReport; certified: Uint8Array }
  /** runEnded: the message ends a run of this panel (its partial picture is dropped) */
  | { type: 'error'; message: string; runEnded?: boolean }
  | { type: 'cancelled' }
  | ({ type: 'consistency' } & ConsistencyView)
  | { type: 'consistencyRunning'; running: boolean; error?: string }
  /** a DICOM/NIfTI file: the plane to draw (media/src/windowLevel.ts), sent after init and on a slice change */
  | ({ type: 'medicalImage' } & MedicalImageView);

/** Webview → host. */
export type FromWebview =
  | { type: 'ready' }
  | { type: 'certify' }
  | { type: 'cancel' }
  | { type: 'recertify'; tau?: number; alpha?: number; correction?: 'holm' | 'bonferroni' }
  | { type: 'openReport' }
  | { type: 'checkConsistency' }
  /** show another plane of a volume (the slice slider) */
  | { type: 'slice'; axis: string; index: number };

/** What the webview keeps in getState/setState (small: the host reloads the arrays from .certseg/). */
export interface WebviewState {
  imagePath: string;
  resultDir: string | null;
  view?: { zoom: number; panX: number; panY: number; layers: Record<string, boolean>; opacity: number };
}

/** Report page → host. */
export type FromReport = { type: 'openSample'; dir: string; id: string } | { type: 'openRun'; runDir: string } | { type: 'openSummary' };
/** What the report page keeps in getState/setState: the run folder, for the panel serializer. */
export interface ReportState {
  runDir: string;
}
