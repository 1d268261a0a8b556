// Measures which DICOM/NIfTI decoders on the npm registry decode certseg's test files exactly (docs/medical.md,
// "Choosing the decoding library"). The candidates are NOT dependencies of certseg: install them in a scratch
// folder and run this script from there, e.g.
//   mkdir /tmp/libcmp && cd /tmp/libcmp && npm init -y && npm i dcmjs dicom-parser nifti-reader-js \
//     @cornerstonejs/dicom-codec @itk-wasm/image-io @itk-wasm/dicom
//   mkdir files && /usr/bin/python3 REPO/test/image/make_medical.py files CXR_IMAGES_DIR RGB_IMAGE
//   (cd files && dcmconv +ti cxr12.dcm implicit.dcm && dcmconv +tb cxr12.dcm bigendian.dcm &&
//    dcmcjpeg cxr8.dcm jpegll8.dcm && dcmcjpeg cxr12.dcm jpegll.dcm && dcmcjpls cxr8.dcm jls8.dcm &&
//    dcmcjpls cxr12.dcm jls.dcm && dcmcrle cxr12.dcm rle.dcm && dcmcrle cxr12-mono1.dcm mono1-rle.dcm &&
//    dcmcrle rgb.dcm rgb-rle.dcm && gdcmconv --j2k cxr12.dcm j2k.dcm && gdcmconv --j2k rgb.dcm rgb-j2k.dcm)
//   cp REPO/scripts/measure-medical-libs.mjs . && node measure-medical-libs.mjs files
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const dicomParser = require('dicom-parser');
const dcmjs = require('dcmjs');
const codec = require('@cornerstonejs/dicom-codec');
const nifti = await import('nifti-reader-js');
const io = await import('@itk-wasm/image-io');
const itkDicom = await import('@itk-wasm/dicom');
const dir = path.resolve(process.argv[2]);

function npy(file) {
  const b = fs.readFileSync(file);
  const hlen = b.readUInt16LE(8);
  const header = b.toString('latin1', 10, 10 + hlen);
  const descr = /'descr': '([^']+)'/.exec(header)[1];
  const data = b.subarray(10 + hlen);
  const ab = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  return descr === '|u1' ? new Uint8Array(ab) : descr === '<f4' ? new Float32Array(ab) : descr === '<i2' ? new Int16Array(ab) : null;
}
const s8 = npy(path.join(dir, 'cxr8.npy'));
const r12 = npy(path.join(dir, 'cxr12.npy')); // rescaled: stored*2-100
const s12 = Float64Array.from(r12, (v) => (v + 100) / 2);
const m1 = Float64Array.from(s12, (v) => 4095 - v); // GDCM's MONOCHROME1 → 2 inversion of the stored values
const rgb = npy(path.join(dir, 'rgb.npy'));
const stack = npy(path.join(dir, 'stack.npy'));

const same = (a, b) => a && a.length === b.length && Array.prototype.every.call(a, (v, i) => v === b[i]);
/** which expectation the decoded array matches */
function verdict(arr, f) {
  if (!arr) return 'no';
  const exp = f.exp;
  if (same(arr, exp)) return 'exact';
  if (f.photometric === 'RGB' && arr.length === exp.length) {
    // planar (RRR…GGG…BBB…) instead of interleaved?
    const n = arr.length / 3;
    const inter = new Uint8Array(arr.length);
    for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) inter[3 * i + k] = arr[k * n + i];
    if (same(inter, exp)) return 'exact, planar (caller reorders)';
  }
  if (f.bits === 12 && same(arr, r12)) return 'exact (rescaled)';
  if (f.mono1 && same(arr, Float64Array.from(m1, (v) => v * 2 - 100))) return 'exact (rescaled, inverted)';
  if (f.mono1 && same(arr, m1)) return 'exact (inverted)';
  let maxd = 0;
  if (arr.length === exp.length) for (let i = 0; i < arr.length; i++) maxd = Math.max(maxd, Math.abs(arr[i] - exp[i]));
  return arr.length === exp.length ? `WRONG (max |Δ| ${maxd})` : `WRONG (length ${arr.length} vs ${exp.length})`;
}

const files = [
  ['cxr8.dcm', 'Explicit VR LE', 8, 'MONOCHROME2', s8],
  ['implicit.dcm', 'Implicit VR LE', 12, 'MONOCHROME2', s12],
  ['bigendian.dcm', 'Explicit VR BE', 12, 'MONOCHROME2', s12],
  ['cxr12.dcm', 'Explicit VR LE', 12, 'MONOCHROME2', s12],
  ['cxr12-mono1.dcm', 'Explicit VR LE', 12, 'MONOCHROME1', s12, true],
  ['rgb.dcm', 'Explicit VR LE', 8, 'RGB', rgb],
  ['jpegll8.dcm', 'JPEG Lossless SV1', 8, 'MONOCHROME2', s8],
  ['jpegll.dcm', 'JPEG Lossless SV1', 12, 'MONOCHROME2', s12],
  ['jls8.dcm', 'JPEG-LS lossless', 8, 'MONOCHROME2', s8],
  ['jls.dcm', 'JPEG-LS lossless', 12, 'MONOCHROME2', s12],
  ['rle.dcm', 'RLE', 12, 'MONOCHROME2', s12],
  ['mono1-rle.dcm', 'RLE', 12, 'MONOCHROME1', s12, true],
  ['rgb-rle.dcm', 'RLE', 8, 'RGB', rgb],
  ['j2k.dcm', 'JPEG 2000 lossless', 12, 'MONOCHROME2', s12],
  ['rgb-j2k.dcm', 'JPEG 2000 lossless', 8, 'RGB', rgb],
].map(([file, ts, bits, photometric, exp, mono1]) => ({ file, ts, bits, photometric, exp, mono1: !!mono1 }));

function parserPixels(buf) {
  const ds = dicomParser.parseDicom(new Uint8Array(buf));
  const el = ds.elements.x7fe00010;
  const tsuid = ds.string('x00020010');
  const info = { rows: ds.uint16('x00280010'), columns: ds.uint16('x00280011'), bitsAllocated: ds.uint16('x00280100'), samplesPerPixel: ds.uint16('x00280002'), signed: ds.uint16('x00280103') === 1 };
  return { ds, el, tsuid, info };
}
function rawPixels(bytes, bits, bigEndian) {
  if (bits === 8) return new Uint8Array(bytes);
  const out = new Uint16Array(bytes.length / 2);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = dv.getUint16(2 * i, !bigEndian);
  return out;
}

const decoders = {
  'dicom-parser': async (file) => {
    const { ds, el, tsuid, info } = parserPixels(fs.readFileSync(file));
    if (el.encapsulatedPixelData) return null;
    // dicom-parser gives the element's bytes; 16-bit values are read with the file's byte order
    return rawPixels(ds.byteArray.subarray(el.dataOffset, el.dataOffset + el.length), info.bitsAllocated, tsuid === '1.2.840.10008.1.2.2');
  },
  'dicom-parser + @cornerstonejs/dicom-codec': async (file) => {
    const { ds, el, tsuid, info } = parserPixels(fs.readFileSync(file));
    const frame = el.encapsulatedPixelData ? dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, el.fragments.length) : ds.byteArray.subarray(el.dataOffset, el.dataOffset + el.length);
    const r = await codec.decode(frame, info, tsuid);
    let f = r.imageFrame;
    if (f instanceof Int8Array && !info.signed) f = new Uint8Array(f.buffer, f.byteOffset, f.length); // the RLE codec returns signed bytes
    // the codecs hand back bytes; 16-bit samples are little-endian pairs
    return info.bitsAllocated === 16 && f.BYTES_PER_ELEMENT === 1 ? new Uint16Array(f.buffer, f.byteOffset, f.length / 2) : f;
  },
  dcmjs: async (file) => {
    const b = fs.readFileSync(file);
    const dict = dcmjs.data.DicomMessage.readFile(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    const nat = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
    const ts = dict.meta['00020010'].Value[0];
    if (!['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2'].includes(ts)) return null; // dcmjs decodes no compressed syntax
    const pd = new Uint8Array(nat.PixelData[0]);
    return nat.BitsAllocated === 8 ? pd : new Uint16Array(pd.buffer, pd.byteOffset, pd.byteLength / 2);
  },
  '@itk-wasm/image-io (GDCM)': async (file) => {
    const r = await io.gdcmReadImageNode(file);
    return r.couldRead ? r.image.data : null;
  },
  '@itk-wasm/dicom': async (file) => {
    const r = await itkDicom.readImageDicomFileSeriesNode({ inputImages: [file] });
    return r.outputImage.data;
  },
};

const rows = [];
for (const f of files) {
  const row = { file: f.file, ts: f.ts, bits: f.bits, photometric: f.photometric };
  for (const [name, dec] of Object.entries(decoders)) {
    const t = performance.now();
    try {
      row[name] = verdict(await dec(path.join(dir, f.file)), f);
    } catch (e) {
      row[name] = `error: ${String(e?.message ?? JSON.stringify(e)).split('\n')[0].slice(0, 80)}`;
    }
    row[name + ' ms'] = Math.round(performance.now() - t);
  }
  rows.push(row);
}
// NIfTI
const plane0 = stack.subarray(0, 65536);
const niftiDecoders = {
  'nifti-reader-js': async (file) => {
    let b = fs.readFileSync(file);
    let ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    if (nifti.isCompressed(ab)) ab = nifti.decompress(ab);
    const h = nifti.readHeader(ab);
    const img = nifti.readImage(h, ab);
    return h.datatypeCode === 4 ? new Int16Array(img) : null;
  },
  '@itk-wasm/image-io (NIfTI)': async (file) => (await io.niftiReadImageNode(file)).image.data,
};
for (const [file, exp, what] of [['cxr2d.nii.gz', s8, '2-D int16'], ['stack.nii.gz', stack, '3-D int16 256×256×3']]) {
  const row = { file, ts: 'NIfTI-1 (gzip)', bits: 16, photometric: what };
  for (const [name, dec] of Object.entries(niftiDecoders)) {
    const t = performance.now();
    try {
      row[name] = verdict(await dec(path.join(dir, file)), { exp, bits: 16 });
    } catch (e) {
      row[name] = `error: ${String(e?.message ?? JSON.stringify(e)).split('\n')[0].slice(0, 80)}`;
    }
    row[name + ' ms'] = Math.round(performance.now() - t);
  }
  rows.push(row);
}
console.log(JSON.stringify(rows, null, 1));
void plane0;
