/**
 * Re-apply the SegCertify test to stored counts with other τ / α / correction, without sampling again.
 * Looking at the data and then choosing the test parameters voids the family-wise guarantee, so the
 * result is always marked exploratory.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { checkOutputDir } from './outputLocation';
import * as path from 'node:path';
import { CertsegError } from '../core/errors';
import { certifyFromCounts } from '../core/multipleTesting';
import { certifiedRadius } from '../core/stats';
import { assertFeasible } from '../core/feasibility';
import { readImage, readMask } from '../image/read';
import { certifiedOverlay } from '../image/overlay';
import { readNpy, writeFileAtomic, writeNpy, writePngRGBA } from '../image/write';
import { metricBlock } from './metricBlock';
import { OUTPUT_FILES } from './outputs';
import { NOT_COVERED } from '../consistency/common';
import { cutToCrop } from './region';
import { storedIgnoreLabel } from './datasetSummary';
import type { Correction } from '../../../protocol/config';
import type { ImageReport } from '../../../protocol/results';

export interface RecertifyParams {
  tau?: number;
  alpha?: number;
  correction?: Correction;
}

export async function recertifyDir(dir: string, params: RecertifyParams, outDir?: string): Promise<ImageReport> {
  const reportPath = path.join(dir, OUTPUT_FILES.report);
  if (!existsSync(reportPath)) throw new CertsegError(`${dir} holds no ${OUTPUT_FILES.report}: run certseg certify first`, 'input');
  let base: ImageReport;
  try {
    base = JSON.parse(await readFile(reportPath, 'utf8')) as ImageReport;
  } catch {
    throw new CertsegError(`${reportPath} is not valid JSON`, 'input');
  }
  if (base.reportVersion !== 1) throw new CertsegError(`${reportPath}: unsupported report version ${String(base.reportVersion)}`, 'input');
  const tau = params.tau ?? base.params.tau;
  const alpha = params.alpha ?? base.params.alpha;
  const correction = params.correction ?? base.params.correction;
  if (!(tau > 0.5 && tau < 1)) throw new CertsegError(`tau must be in (0.5, 1), got ${tau}`, 'config');
  if (!(alpha > 0 && alpha < 1)) throw new CertsegError(`alpha must be in (0, 1), got ${alpha}`, 'config');
  if (correction !== 'holm' && correction !== 'bonferroni') throw new CertsegError(`correction must be holm or bonferroni`, 'config');

  const counts = await readNpy(path.join(dir, OUTPUT_FILES.counts));
  const selected = await readNpy(path.join(dir, OUTPUT_FILES.selected));
  const { width: w, height: h } = base.image;
  if (counts.data.length !== w * h || selected.data.length !== w * h || !(selected.data instanceof Uint8Array)) {
    throw new CertsegError(`${dir}: counts.npy / selected.npy do not match the ${w}×${h} image in report.json`, 'input');
  }
  const n = base.params.n;
  assertFeasible(n, tau, alpha, w * h, correction);
  const test = certifyFromCounts(selected.data, counts.data as Uint16Array, n, tau, alpha, correction);
  // Pixels outside a selected crop were never sampled: keep them marked as such.
  for (let i = 0; i < test.certified.length; i++) if (selected.data[i] === NOT_COVERED) test.certified[i] = NOT_COVERED;
  const numClasses = base.classes.length;

  let certifiedBlock = null;
  if (base.mask) {
    // the ground truth as the run read it (mask.npy: its maskValues and ignore label applied), else the file
    const stored = path.join(dir, OUTPUT_FILES.mask);
    const mask = existsSync(stored)
      ? ((await readNpy(stored)).data as Uint8Array)
      : await readMask(base.mask.path, {
          numClasses,
          expectWidth: w,
          expectHeight: h,
          classes: base.classes,
          slice: base.image.intensity?.slice,
        });
    certifiedBlock = metricBlock(cutToCrop(test.certified, base), cutToCrop(mask, base), numClasses, storedIgnoreLabel(mask, numClasses));
  }
  const target = outDir ?? path.join(dir, `recertified-tau${tau}-alpha${alpha}-${correction}`);
  const report: ImageReport = {
    ...base,
    kind: 'recertify',
    exploratory: true,
    params: { ...base.params, tau, alpha, correction },
    radius: certifiedRadius(base.params.sigma, tau),
    abstainRate: 1 - test.rejected / (w * h),
    minCertifiedCount: test.minCount,
    certifiedPixels: test.rejected,
    certified: certifiedBlock,
    files: { certified: OUTPUT_FILES.certified, certifiedNpy: OUTPUT_FILES.certifiedNpy },
  };
  await checkOutputDir(target, 'image');
  await mkdir(target, { recursive: true });
  await writeNpy(path.join(target, OUTPUT_FILES.certifiedNpy), test.certified, [h, w]);
  if (existsSync(base.image.path)) {
    const img = await readImage(base.image.path);
    await writePngRGBA(path.join(target, OUTPUT_FILES.certified), certifiedOverlay(img.data, test.certified, w, h, base.classes), w, h);
  }
  await writeFileAtomic(path.join(target, OUTPUT_FILES.report), JSON.stringify(report, null, 2) + '\n');
  return report;
}
