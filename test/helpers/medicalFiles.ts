/**
 * DICOM and NIfTI files written at test time from ../shared's chest X-rays by test/image/make_medical.py
 * (Debian's python3-pydicom / python3-nibabel), with the source arrays beside them as .npy. Never committed.
 * `missing` says why they could not be made (no ../shared, no Python libraries): tests skip with it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
export const CXR_DIR = path.resolve(ROOT, '../shared/datasets/cxr-lungs-256/images');
const PYTHON = '/usr/bin/python3';

export function makeMedicalFiles(): { dir: string; missing: string | null } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'certseg-medical-'));
  if (!existsSync(CXR_DIR)) return { dir, missing: '../shared/datasets is absent' };
  if (spawnSync(PYTHON, ['-c', 'import pydicom, nibabel, numpy, PIL']).status !== 0) {
    return { dir, missing: 'Debian python3-pydicom / python3-nibabel / python3-numpy / python3-pil are not installed' };
  }
  const kvasir = path.resolve(ROOT, '../shared/datasets/kvasir-seg-256/images');
  const rgb = path.join(kvasir, readdirSync(kvasir).sort()[0]);
  const r = spawnSync(PYTHON, [path.join(ROOT, 'test/image/make_medical.py'), dir, CXR_DIR, rgb], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make_medical.py failed: ${r.stderr}`);
  return { dir, missing: null };
}
