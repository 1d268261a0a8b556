/**
 * DICOM and NIfTI in the extension. A webview cannot decode them, so the preview asks the worker for one
 * plane's real intensities (certseg/displayImage) and the page windows them for display (media/src/
 * windowLevel.ts); certification keeps the worker's own window. For a volume, the plane shown is the plane
 * certified (CertifyImageParams.slice).
 *
 * Kept free of the server's medical.ts on purpose: that module loads the ITK WebAssembly readers, which
 * the extension host must not bundle.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import * as path from 'node:path';
import { DisplayImageRequest, decodeArray, type DisplayImageResult, type SliceSpecWire } from '../../protocol/messages';
import type { ImageReport } from '../../protocol/results';
import type { ToWebview } from '../../protocol/webview';
import { IMAGE_EXTENSIONS } from './store';
import { MEDICAL_EXTENSIONS as COMMON_MEDICAL_EXTENSIONS } from '../../common/imageNaming';
import type { Worker } from './worker';

/** The Segmentation Preview as the default editor of DICOM/NIfTI files (package.json customEditors). */
export const MEDICAL_EDITOR_VIEW_TYPE = 'certseg.medicalPreview';

/** by name, without the dot (common/imageNaming.ts MEDICAL_EXTENSIONS) */
export const MEDICAL_EXTENSIONS: string[] = COMMON_MEDICAL_EXTENSIONS.map((e) => e.slice(1));
/** for file dialogs, which match the last extension only (x.nii.gz → gz) */
export const DIALOG_EXTENSIONS = [...new Set([...IMAGE_EXTENSIONS, ...MEDICAL_EXTENSIONS.map((e) => e.split('.').pop() as string)])];

/** .dcm/.dicom/.nii/.nii.gz by name; an extensionless file with the DICOM preamble ("DICM" at byte 128). */
export function isMedicalFile(file: string): boolean {
  const lower = file.toLowerCase();
  if (MEDICAL_EXTENSIONS.some((e) => lower.endsWith(`.${e}`))) return true;
  if (path.extname(file) !== '') return false; // a named format that is not DICOM: don't open it to look
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const head = Buffer.alloc(132);
    return readSync(fd, head, 0, 132, 0) === 132 && head.toString('latin1', 128, 132) === 'DICM';
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Something certseg can certify: the common formats by extension, DICOM/NIfTI by name or preamble. */
export function isCertifiableImage(file: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(file).slice(1).toLowerCase()) || isMedicalFile(file);
}

const sameSlice = (a: SliceSpecWire | null | undefined, b: SliceSpecWire | null | undefined) =>
  (a ?? null) === (b ?? null) || (!!a && !!b && a.axis === b.axis && a.index === b.index);

/** One preview's DICOM/NIfTI picture: which plane is shown, fetched from the worker, posted to the page. */
export class MedicalDisplay {
  private shown: DisplayImageResult | null = null;
  /** the last request: a slider dragged quickly sends several, only the latest is drawn */
  private seq = 0;

  constructor(
    private readonly imagePath: string,
    private readonly worker: Worker,
    private readonly post: (m: ToWebview) => void,
    private readonly describeError: (e: unknown) => string,
  ) {}

  /** The plane to certify: the one shown, for a volume; null for a 2-D image. */
  get certifySlice(): SliceSpecWire | null {
    return this.shown && this.shown.size[2] > 1 ? this.shown.slice : null;
  }

  /** Fetches and posts a plane (null: the middle z slice of a volume); a failure becomes one line in the panel. */
  async show(slice: SliceSpecWire | null = null): Promise<void> {
    const seq = ++this.seq;
    try {
      const client = await this.worker.ensureStarted();
      const r = await client.sendRequest(DisplayImageRequest.type, { imagePath: this.imagePath, slice });
      if (seq !== this.seq) return;
      this.shown = r;
      this.post({ type: 'medicalImage', ...r, values: decodeArray(r.values) });
    } catch (e) {
      if (seq !== this.seq) return;
      const message = this.describeError(e);
      this.worker.log.warn(`preview of ${path.basename(this.imagePath)}: ${message}`);
      this.post({ type: 'error', message });
    }
  }

  /** The page's slice slider (untrusted: checked against the volume's size). */
  async select(axis: string, index: number): Promise<void> {
    const size = this.shown?.size;
    if (!size || size[2] <= 1 || (axis !== 'x' && axis !== 'y' && axis !== 'z')) return;
    const depth = size[axis === 'x' ? 0 : axis === 'y' ? 1 : 2];
    if (!Number.isInteger(index) || index < 0 || index >= depth) return;
    await this.show({ axis, index });
  }

  /** A result arrived (stored, or from the CLI): show the plane it was certified on. */
  async follow(report: ImageReport): Promise<void> {
    const s = report.image.intensity?.slice;
    if (s && this.shown && !sameSlice(s, this.shown.slice)) await this.show(s);
  }
}
