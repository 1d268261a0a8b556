/**
 * certseg/displayImage through the real worker on DICOM/NIfTI files written at test time from the shared chest
 * X-rays (test/helpers/medicalFiles.ts): the intensities match the source arrays, the windows offered are the
 * file's and the percentile one, volumes show the middle slice or the one asked for, an extensionless DICOM is
 * recognised, and every bad file is one line (UserError). Then a certification of a NIfTI slice over the
 * protocol, with the slice in the params, as the preview sends it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  CertifyImageRequest,
  CertsegErrorCodes,
  ConsistencyRequest,
  DisplayImageRequest,
  ListDatasetRequest,
  decodeArray,
  type DisplayImageResult,
} from '../../protocol/messages';
import { CXR_DIR } from '../helpers/medicalFiles';
import { readNpy } from '../../server/src/image/write';
import { startWorker, expectError, type Worker } from './harness';
import { makeMedicalFiles } from '../helpers/medicalFiles';

let files: { dir: string; missing: string | null };
let w: Worker;

before(async () => {
  files = makeMedicalFiles();
  w = await startWorker();
});
after(async () => {
  await w?.stop();
  if (files) rmSync(files.dir, { recursive: true, force: true });
});

const show = (file: string, slice?: { axis: 'x' | 'y' | 'z'; index: number }) =>
  w.conn.sendRequest(DisplayImageRequest.type, {
    imagePath: path.join(files.dir, file),
    ...(slice ? { slice } : {}),
  }) as Promise<DisplayImageResult>;

function skipped(t: { skip(m: string): void }): boolean {
  if (files.missing) t.skip(files.missing);
  return files.missing !== null;
}

test('displayImage: a 12-bit DICOM gives its rescaled values, the file window and the percentile window', async (t) => {
  if (skipped(t)) return;
  const src = (await readNpy(path.join(files.dir, 'cxr12.npy'))).data as Float32Array;
  const r = await show('cxr12.dcm');
  assert.equal(r.format, 'dicom');
  assert.deepEqual([r.width, r.height, r.channels], [256, 256, 1]);
  assert.deepEqual(Array.from(decodeArray(r.values)), Array.from(src), 'values = stored × 2 − 100');
  assert.deepEqual(r.window, { center: 3000, width: 4000, source: 'dicom' });
  const sorted = Float64Array.from(src).sort();
  const lo = sorted[Math.floor(0.005 * (sorted.length - 1))];
  const hi = sorted[Math.ceil(0.995 * (sorted.length - 1))];
  assert.deepEqual(r.percentile, { center: lo + (hi - lo) / 2, width: hi - lo });
  assert.deepEqual(r.range, { min: sorted[0], max: sorted[sorted.length - 1] });
  assert.equal(r.invert, false);
  assert.deepEqual(r.size, [256, 256, 1]);
  assert.equal(r.slice, null);
  // MONOCHROME1: the same real values (GDCM's inversion undone), drawn inverted
  const m1 = await show('cxr12-mono1.dcm');
  assert.deepEqual(Array.from(decodeArray(m1.values)), Array.from(src));
  assert.equal(m1.invert, true);
  assert.equal(m1.photometric, 'MONOCHROME1');
  // no window in the file: certification's window is the percentile one
  const nowin = await show('cxr12-nowin.dcm');
  assert.deepEqual(nowin.window, { ...nowin.percentile, source: 'percentile' });
});

test('displayImage: an extensionless DICOM is recognised by its preamble; RGB stays RGB', async (t) => {
  if (skipped(t)) return;
  copyFileSync(path.join(files.dir, 'cxr8.dcm'), path.join(files.dir, 'IM000001'));
  const r = await show('IM000001');
  const src = (await readNpy(path.join(files.dir, 'cxr8.npy'))).data as Uint8Array;
  assert.deepEqual(Array.from(decodeArray(r.values)), Array.from(src));
  const rgb = await show('rgb.dcm');
  assert.equal(rgb.channels, 3);
  assert.deepEqual(Array.from(decodeArray(rgb.values)), Array.from((await readNpy(path.join(files.dir, 'rgb.npy'))).data as Uint8Array));
});

test('displayImage: a volume shows its middle slice, or the slice asked for', async (t) => {
  if (skipped(t)) return;
  const stack = (await readNpy(path.join(files.dir, 'stack.npy'))).data as Uint8Array; // 3 × 256 × 256
  const plane = (k: number) => Array.from(stack.subarray(k * 65536, (k + 1) * 65536));
  const mid = await show('stack.nii.gz');
  assert.equal(mid.format, 'nifti');
  assert.deepEqual(mid.size, [256, 256, 3]);
  assert.deepEqual(mid.slice, { axis: 'z', index: 1 });
  assert.deepEqual(Array.from(decodeArray(mid.values)), plane(1));
  const z2 = await show('stack.nii.gz', { axis: 'z', index: 2 });
  assert.deepEqual(Array.from(decodeArray(z2.values)), plane(2));
  // a y-slice is 256 wide (x) by 3 high (z): row r is plane r's row y
  const y10 = await show('stack.nii.gz', { axis: 'y', index: 10 });
  assert.deepEqual([y10.width, y10.height], [256, 3]);
  assert.deepEqual(Array.from(decodeArray(y10.values).subarray(256 * 2, 256 * 3)), plane(2).slice(10 * 256, 11 * 256));
});

test('displayImage: bad files are one line each', async (t) => {
  if (skipped(t)) return;
  writeFileSync(path.join(files.dir, 'notes.txt'), 'not an image\n');
  const cases: [string, RegExp, { axis: 'z'; index: number }?][] = [
    ['nopixels.dcm', /^cannot read image nopixels\.dcm: .*(no pixel data|cannot decode)/],
    ['badsyntax.dcm', /^cannot read image badsyntax\.dcm: GDCM cannot decode it/],
    ['notes.txt', /^cannot read image notes\.txt: not a DICOM or NIfTI file$/],
    ['missing.dcm', /^cannot read image missing\.dcm: no such file$/],
    ['stack.nii.gz', /slice z:3 is out of range \(axis z has 3 slices, 0–2\)/, { axis: 'z', index: 3 }],
  ];
  for (const [file, pattern, slice] of cases) {
    await expectError(show(file, slice), CertsegErrorCodes.UserError, pattern);
    await show(file, slice).catch((e: Error) =>
      assert.ok(!e.message.includes('\n') && !/ at \S+:\d+/.test(e.message), `one line, no stack: ${e.message}`),
    );
  }
  await expectError(
    w.conn.sendRequest(DisplayImageRequest.type, {
      imagePath: path.join(files.dir, 'stack.nii.gz'),
      slice: { axis: 'w' as 'z', index: 0 },
    }),
    -32602,
    /params\.slice/,
  );
});

test('certifyImage: the slice of a volume in the params is the one certified and reported', async (t) => {
  if (skipped(t)) return;
  const r = await w.conn.sendRequest(CertifyImageRequest.type, {
    imagePath: path.join(files.dir, 'stack.nii.gz'),
    slice: { axis: 'z', index: 2 },
    overrides: { n0: 4, n: 60, alpha: 0.01, denoiser: null, seed: 3 },
  });
  assert.deepEqual([r.width, r.height], [256, 256]);
  assert.deepEqual(r.report.image.intensity?.slice, { axis: 'z', index: 2 });
  assert.equal(r.report.image.intensity?.format, 'nifti');
  await expectError(
    w.conn.sendRequest(CertifyImageRequest.type, {
      imagePath: path.join(files.dir, 'stack.nii.gz'),
      overrides: { n0: 4, n: 60, alpha: 0.01, denoiser: null },
    }),
    CertsegErrorCodes.UserError,
    /volume of 256×256×3 voxels: choose a slice/,
  );
});

test('listDataset (the Datasets view): DICOM and NIfTI images pair with their PNG masks; x.nii.gz has the id x', async (t) => {
  if (skipped(t)) return;
  const ds = path.join(files.dir, 'ds');
  for (const d of ['images', 'masks']) mkdirSync(path.join(ds, d), { recursive: true });
  copyFileSync(path.join(files.dir, 'cxr12.dcm'), path.join(ds, 'images', 'a.dcm'));
  copyFileSync(path.join(files.dir, 'cxr2d.nii.gz'), path.join(ds, 'images', 'b.nii.gz'));
  for (const id of ['a', 'b']) copyFileSync(path.join(CXR_DIR, '..', 'masks', 'cxr000.png'), path.join(ds, 'masks', `${id}.png`));
  const r = await w.conn.sendRequest(ListDatasetRequest.type, { dir: ds });
  assert.deepEqual(
    r.pairs.map((p) => [p.id, path.basename(p.image), p.mask && path.basename(p.mask)]),
    [
      ['a', 'a.dcm', 'a.png'],
      ['b', 'b.nii.gz', 'b.png'],
    ],
  );
  assert.deepEqual(r.warnings, []);
});

test('consistency: the slice of a volume in the params is the plane measured', async (t) => {
  if (skipped(t)) return;
  const r = await w.conn.sendRequest(ConsistencyRequest.type, {
    imagePath: path.join(files.dir, 'stack.nii.gz'),
    slice: { axis: 'y', index: 5 },
    cropSelection: null,
  });
  assert.deepEqual([r.width, r.height], [256, 3], 'the y-plane of a 256×256×3 stack');
  assert.equal(r.cropSelection, null);
});
