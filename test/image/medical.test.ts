/**
 * DICOM and NIfTI on real pixel data: files written at test time from ../shared's chest X-rays (Debian's
 * python3-pydicom and python3-nibabel; compressed copies by dcmtk and gdcmconv), decoded values checked
 * against the source arrays, the window and MONOCHROME1 rules, volumes and slices, bad files, and the same
 * certification counts through PNG and through DICOM.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readImage, readMask } from '../../server/src/image/read';
import { maskCandidates } from '../../common/imageNaming';
import { readNpy } from '../../server/src/image/write';
import { parseSlice } from '../../server/src/image/medical';

const root = path.resolve(__dirname, '../..');
const shared = path.resolve(root, '../shared/datasets');
const cxrDir = path.join(shared, 'cxr-lungs-256/images');
const python = '/usr/bin/python3';
const dir = mkdtempSync(path.join(os.tmpdir(), 'certseg-medical-'));
let missing: string | null = null;
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

before(() => {
  if (!existsSync(cxrDir)) return void (missing = '../shared/datasets is absent');
  const libs = spawnSync(python, ['-c', 'import pydicom, nibabel, numpy, PIL']);
  if (libs.status !== 0) return void (missing = 'Debian python3-pydicom / python3-nibabel / python3-numpy / python3-pil are not installed');
  const kvasir = path.join(shared, 'kvasir-seg-256/images');
  const rgb = path.join(kvasir, readdirSync(kvasir).sort()[0]);
  const r = spawnSync(python, [path.join(__dirname, 'make_medical.py'), dir, cxrDir, rgb], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

function skipIfMissing(t: { skip: (m: string) => void }): boolean {
  if (missing) t.skip(`skipped: ${missing}`);
  return missing !== null;
}

/** Planar [0,1] values the window maps `v` to (LINEAR_EXACT: [c − w/2, c + w/2] → [0,1], clipped). */
const windowed = (v: number, c: number, w: number) => Math.min(1, Math.max(0, (v - (c - w / 2)) * (1 / w)));

test('8-bit DICOM with window 127.5/255 decodes to exactly the PNG values', async (t) => {
  if (skipIfMissing(t)) return;
  const png = await readImage(path.join(cxrDir, 'cxr000.png'));
  const dcm = await readImage(path.join(dir, 'cxr8.dcm'));
  assert.equal(dcm.width, png.width);
  assert.equal(dcm.height, png.height);
  assert.deepEqual(dcm.data, png.data);
  assert.deepEqual(dcm.intensity, { format: 'dicom', source: 'dicom', center: 127.5, width: 255, photometric: 'MONOCHROME2', slice: null });
});

test('12-bit DICOM: rescale slope/intercept, then the file window; every transfer syntax decodes the same', async (t) => {
  if (skipIfMissing(t)) return;
  const src = (await readNpy(path.join(dir, 'cxr12.npy'))).data as Float32Array; // rescaled values
  const plain = await readImage(path.join(dir, 'cxr12.dcm'));
  const n = plain.width * plain.height;
  for (let i = 0; i < n; i += 97) assert.ok(Math.abs(plain.data[i] - windowed(src[i], 3000, 4000)) < 1e-6, `pixel ${i}`);
  assert.ok(plain.data.some((v) => v > 0.5) && plain.data.some((v) => v < 0.1), 'the window spreads the values');
  const tools: [string, string, string[]][] = [
    ['jls.dcm', 'dcmcjpls', []],
    ['jpegll.dcm', 'dcmcjpeg', []],
    ['rle.dcm', 'dcmcrle', []],
    ['j2k.dcm', 'gdcmconv', ['--j2k']],
  ];
  for (const [file, tool, flags] of tools) {
    if (!has(tool)) {
      t.diagnostic(`${file}: ${tool} is not installed (Debian dcmtk / libgdcm-tools); not checked`);
      continue;
    }
    const r = spawnSync(tool, [...flags, path.join(dir, 'cxr12.dcm'), path.join(dir, file)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const img = await readImage(path.join(dir, file));
    assert.deepEqual(img.data, plain.data, `${file} decodes to different values`);
  }
});

test('MONOCHROME1 is inverted; without a window the 0.5–99.5 percentile window is used', async (t) => {
  if (skipIfMissing(t)) return;
  const m2 = await readImage(path.join(dir, 'cxr12.dcm'));
  const m1 = await readImage(path.join(dir, 'cxr12-mono1.dcm'));
  for (let i = 0; i < m2.data.length; i += 101) assert.ok(Math.abs(m1.data[i] - (1 - m2.data[i])) < 1e-6);
  assert.equal(m1.intensity?.photometric, 'MONOCHROME1');
  const nowin = await readImage(path.join(dir, 'cxr12-nowin.dcm'));
  assert.equal(nowin.intensity?.source, 'percentile');
  const src = Float64Array.from((await readNpy(path.join(dir, 'cxr12.npy'))).data).sort();
  const lo = src[Math.floor(0.005 * (src.length - 1))];
  const hi = src[Math.ceil(0.995 * (src.length - 1))];
  assert.equal(nowin.intensity?.center, lo + (hi - lo) / 2);
  assert.equal(nowin.intensity?.width, hi - lo);
});

test('RGB DICOM decodes to the written pixels', async (t) => {
  if (skipIfMissing(t)) return;
  const src = (await readNpy(path.join(dir, 'rgb.npy'))).data as Uint8Array; // H×W×3
  const img = await readImage(path.join(dir, 'rgb.dcm'));
  const n = img.width * img.height;
  for (let i = 0; i < n; i += 53) for (let c = 0; c < 3; c++) assert.equal(img.data[c * n + i], Math.fround(src[3 * i + c] * (1 / 255)));
});

test('NIfTI: a 2-D image, and slices of a volume chosen with AXIS:INDEX', async (t) => {
  if (skipIfMissing(t)) return;
  const png = await readImage(path.join(cxrDir, 'cxr000.png'));
  const nii = await readImage(path.join(dir, 'cxr2d.nii.gz'));
  assert.equal(nii.intensity?.format, 'nifti');
  assert.equal(nii.width, png.width);
  const stack = (await readNpy(path.join(dir, 'stack.npy'))).data as Uint8Array; // 3×H×W
  const s1 = await readImage(path.join(dir, 'stack.nii.gz'), { slice: parseSlice('z:1') });
  const n = s1.width * s1.height;
  const { center, width } = s1.intensity!;
  for (let i = 0; i < n; i += 89) assert.ok(Math.abs(s1.data[i] - windowed(stack[n + i], center, width)) < 1e-6, `pixel ${i}`);
  assert.deepEqual(s1.intensity?.slice, { axis: 'z', index: 1 });
  const y = await readImage(path.join(dir, 'stack.nii.gz'), { slice: parseSlice('y:10') });
  assert.deepEqual([y.width, y.height], [png.width, 3]);
  // the x-z plane's row r is slice r's row 10
  for (let c = 0; c < y.width; c += 31)
    assert.ok(
      Math.abs(y.data[2 * y.width + c] - windowed(stack[2 * n + 10 * y.width + c], y.intensity!.center, y.intensity!.width)) < 1e-6,
    );
});

test('bad medical files give one clear line', async (t) => {
  if (skipIfMissing(t)) return;
  const cases: [string, { slice?: ReturnType<typeof parseSlice> }, RegExp][] = [
    ['nopixels.dcm', {}, /cannot read image nopixels\.dcm: .*(no pixel data|not a readable DICOM)/],
    [
      'badsyntax.dcm',
      {},
      /cannot read image badsyntax\.dcm: GDCM cannot decode it \(an unsupported transfer syntax, or corrupt pixel data\)/,
    ],
    ['stack.nii.gz', {}, /volume of 256×256×3 voxels: choose a slice with --slice AXIS:INDEX/],
    ['stack.nii.gz', { slice: parseSlice('z:3') }, /slice z:3 is out of range \(axis z has 3 slices, 0–2\)/],
    ['cxr8.dcm', { slice: parseSlice('z:2') }, /out of range/],
  ];
  for (const [file, opts, pattern] of cases) {
    await assert.rejects(readImage(path.join(dir, file), opts), (e: Error) => {
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes('\n'), 'one line');
      return true;
    });
  }
  await assert.rejects(readImage(path.join(cxrDir, 'cxr000.png'), { slice: parseSlice('z:0') }), /--slice applies to volumes/);
  assert.throws(() => parseSlice('w:1'), /AXIS:INDEX/);
});

test('the same pixels certify to the same counts through PNG and through DICOM', async (t) => {
  if (skipIfMissing(t)) return;
  const cli = path.join(root, 'dist/server/cli.js');
  assert.ok(existsSync(cli), 'run `npm run build` first (npm test does)');
  const quick = ['--n0', '4', '--n', '60', '--alpha', '0.01', '--no-denoiser', '--seed', '3'];
  const runs = [
    ['png', path.join(cxrDir, 'cxr000.png')],
    ['dcm', path.join(dir, 'cxr8.dcm')],
  ].map(([name, file]) => {
    const out = path.join(dir, `run-${name}`);
    const r = spawnSync(process.execPath, [cli, 'certify', file, '--out', out, ...quick], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    // the console says which window made the model's input, since σ is measured on it
    if (name === 'dcm')
      assert.match(
        r.stdout,
        /intensity window 127\.5\/255 \(the file's Window Center\/Width; MONOCHROME2\): σ and the radius are on this window's \[0,1\] scale/,
      );
    else assert.doesNotMatch(r.stdout, /intensity window/);
    return out;
  });
  assert.ok(readFileSync(path.join(runs[0], 'counts.npy')).equals(readFileSync(path.join(runs[1], 'counts.npy'))), 'counts differ');
  const report = JSON.parse(readFileSync(path.join(runs[1], 'report.json'), 'utf8'));
  assert.deepEqual(report.image.intensity, {
    format: 'dicom',
    source: 'dicom',
    center: 127.5,
    width: 255,
    photometric: 'MONOCHROME2',
    slice: null,
  });
});

test('a mask of another size than the DICOM is refused in one line, and nothing is written', async (t) => {
  if (skipIfMissing(t)) return;
  const cli = path.join(root, 'dist/server/cli.js');
  const out = path.join(dir, 'run-badmask');
  const r = spawnSync(
    process.execPath,
    [
      cli,
      'certify',
      path.join(dir, 'cxr8.dcm'),
      '--mask',
      path.join(root, 'models/default/sample-mask.png'),
      '--out',
      out,
      '--n0',
      '4',
      '--n',
      '60',
      '--alpha',
      '0.01',
      '--no-denoiser',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^certseg: mask sample-mask\.png is 128×128 but image is 256×256$/m);
  assert.equal(
    r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('certseg:')).length,
    1,
  );
  assert.ok(!existsSync(out), 'no output folder');
});

test("masks in DICOM and NIfTI read as the same labels as the PNG masks; a volume mask gives the image's slice", async (t) => {
  if (skipIfMissing(t)) return;
  const masks = path.join(shared, 'cxr-lungs-256/masks');
  const opts = { numClasses: 2 };
  const png0 = await readMask(path.join(masks, 'cxr000.png'), opts);
  const png2 = await readMask(path.join(masks, 'cxr002.png'), opts);
  assert.ok(png0.includes(1) && png0.includes(0), 'a lung mask with both classes');
  assert.deepEqual(await readMask(path.join(dir, 'mask8.dcm'), opts), png0);
  assert.deepEqual(await readMask(path.join(dir, 'mask2d.nii.gz'), opts), png0);
  // a 2-D mask goes with any plane of a volume image
  assert.deepEqual(await readMask(path.join(dir, 'mask2d.nii.gz'), { ...opts, slice: parseSlice('z:2') }), png0);
  assert.deepEqual(await readMask(path.join(dir, 'maskstack.nii.gz'), { ...opts, slice: parseSlice('z:2') }), png2);
  await assert.rejects(
    readMask(path.join(dir, 'maskstack.nii.gz'), opts),
    /cannot read mask maskstack\.nii\.gz: it is a volume of 256×256×3 voxels: choose a slice/,
  );
  await assert.rejects(
    readMask(path.join(dir, 'rgb.dcm'), opts),
    /cannot read mask rgb\.dcm: a mask holds one label per pixel, not 3 components/,
  );
  // found by the naming rules beside a DICOM or NIfTI image
  assert.ok(maskCandidates('/d/chest.dcm', path).includes('/d/chest_mask.nii.gz'));
  assert.ok(maskCandidates('/d/scan.nii.gz', path).includes('/d/scan_seg.nii.gz'));
  assert.ok(maskCandidates('/d/scan.nii.gz', path).includes('/d/masks/scan.png'));
});
