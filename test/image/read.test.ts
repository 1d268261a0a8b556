import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { readImage, readMask, greyToLabels, vocColormap } from '../../server/src/image/read';
import { CertsegError } from '../../server/src/core/errors';
import { encodeBmp, tempDir, KVASIR, SKIP_KVASIR } from './helpers';

const W = 6;
const H = 4;
/** deterministic RGB test pattern */
function pattern(): Uint8Array {
  const rgb = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const i = 3 * (y * W + x);
      rgb[i] = x * 40;
      rgb[i + 1] = y * 60;
      rgb[i + 2] = 255 - x * 10 - y * 5;
    }
  return rgb;
}
const raw3 = (rgb: Uint8Array, w = W, h = H) => sharp(Buffer.from(rgb), { raw: { width: w, height: h, channels: 3 } });
const raw1 = (g: Uint8Array, w = W, h = H) => sharp(Buffer.from(g), { raw: { width: w, height: h, channels: 1 } }).toColourspace('b-w');

function assertPlanarEquals(data: Float32Array, rgb: Uint8Array, tol: number) {
  const n = W * H;
  assert.equal(data.length, 3 * n);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < 3; c++) {
      const d = Math.abs(data[c * n + i] - rgb[3 * i + c] / 255);
      assert.ok(d <= tol, `pixel ${i} channel ${c}: ${data[c * n + i]} vs ${rgb[3 * i + c] / 255}`);
    }
}

async function rejectsInput(p: Promise<unknown>, re: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CertsegError, `expected CertsegError, got ${e}`);
    assert.equal(e.code, 'input');
    assert.ok(!e.message.includes('\n'), 'one-line message');
    assert.match(e.message, re);
    return true;
  });
}

test('readImage: lossless formats give exact planar RGB in [0,1] and the file sha256', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const rgb = pattern();
    const files: Record<string, Buffer> = {
      'a.png': await raw3(rgb).png().toBuffer(),
      'a.tif': await raw3(rgb).tiff({ compression: 'lzw' }).toBuffer(),
      'a.webp': await raw3(rgb).webp({ lossless: true }).toBuffer(),
      'a.bmp': encodeBmp(rgb, W, H, 24),
    };
    for (const [name, bytes] of Object.entries(files)) {
      const p = path.join(dir, name);
      writeFileSync(p, bytes);
      const img = await readImage(p);
      assert.equal(img.width, W, name);
      assert.equal(img.height, H, name);
      assertPlanarEquals(img.data, rgb, 1e-6);
      assert.equal(img.sha256, createHash('sha256').update(bytes).digest('hex'));
    }
    // JPEG: lossy, close
    const pj = path.join(dir, 'a.jpg');
    writeFileSync(pj, await raw3(rgb).jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer());
    assertPlanarEquals((await readImage(pj)).data, rgb, 0.05);
  } finally {
    cleanup();
  }
});

test('readImage: grey → 3 channels, alpha dropped, 16-bit scaled, EXIF orientation applied', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const g = new Uint8Array(W * H).map((_, i) => i * 10);
    writeFileSync(path.join(dir, 'g.png'), await raw1(g).png().toBuffer());
    const gi = await readImage(path.join(dir, 'g.png'));
    const n = W * H;
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) assert.equal(gi.data[c * n + i], Math.fround(g[i] / 255));

    // grey BMP with a palette
    writeFileSync(path.join(dir, 'g.bmp'), encodeBmp(new Uint8Array([...g].flatMap((v) => [v, v, v])), W, H, 8));
    assert.deepEqual((await readImage(path.join(dir, 'g.bmp'))).data, gi.data);

    // RGBA: alpha dropped, RGB kept as stored (like PIL convert('RGB'))
    const rgba = new Uint8Array(n * 4);
    const rgb = pattern();
    for (let i = 0; i < n; i++) {
      rgba.set(rgb.subarray(3 * i, 3 * i + 3), 4 * i);
      rgba[4 * i + 3] = i % 2 ? 0 : 128;
    }
    writeFileSync(
      path.join(dir, 'rgba.png'),
      await sharp(Buffer.from(rgba), { raw: { width: W, height: H, channels: 4 } })
        .png()
        .toBuffer(),
    );
    assertPlanarEquals((await readImage(path.join(dir, 'rgba.png'))).data, rgb, 1e-6);

    // 16-bit grey PNG: 65535 → 1, 32768 → 0.50001
    const g16 = new Uint16Array(n).map((_, i) => (i === 0 ? 65535 : i === 1 ? 32768 : i * 1000));
    writeFileSync(
      path.join(dir, 'g16.png'),
      await sharp(g16, { raw: { width: W, height: H, channels: 1 } })
        .toColourspace('grey16')
        .png()
        .toBuffer(),
    );
    const i16 = await readImage(path.join(dir, 'g16.png'));
    assert.equal(i16.data[0], 1);
    assert.ok(Math.abs(i16.data[1] - 32768 / 65535) < 1e-6);
    assert.ok(Math.abs(i16.data[2 * n + 5] - 5000 / 65535) < 1e-6);

    // EXIF orientation 6 (rotate 90° clockwise): a W×H stored image displays as H×W
    const rot = pattern();
    writeFileSync(path.join(dir, 'exif.jpg'), await raw3(rot).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer());
    const ri = await readImage(path.join(dir, 'exif.jpg'));
    assert.equal(ri.width, H);
    assert.equal(ri.height, W);
    // displayed top-right pixel = stored top-left pixel (red 0)
    const nn = W * H;
    assert.ok(ri.data[0 * nn + (H - 1)] < 0.1, 'stored (0,0) is now at the top-right');
  } finally {
    cleanup();
  }
});

test('readImage: missing, corrupt and unsupported files give one-line CertsegErrors', async () => {
  const { dir, cleanup } = tempDir();
  try {
    await rejectsInput(readImage(path.join(dir, 'nope.png')), /^cannot read image nope\.png: no such file$/);
    writeFileSync(path.join(dir, 'bad.png'), 'this is not a png');
    await rejectsInput(readImage(path.join(dir, 'bad.png')), /^cannot read image bad\.png: unsupported or unrecognised image format$/);
    const png = await raw3(pattern()).png().toBuffer();
    writeFileSync(path.join(dir, 'trunc.png'), png.subarray(0, 40));
    await rejectsInput(readImage(path.join(dir, 'trunc.png')), /^cannot read image trunc\.png: /);
    const jpg = await raw3(pattern(), W, H).jpeg().toBuffer();
    writeFileSync(path.join(dir, 'trunc.jpg'), jpg.subarray(0, Math.floor(jpg.length / 2)));
    await rejectsInput(readImage(path.join(dir, 'trunc.jpg')), /^cannot read image trunc\.jpg: /);
    writeFileSync(path.join(dir, 'bad.bmp'), Buffer.concat([Buffer.from('BM'), Buffer.alloc(30, 0xff)]));
    await rejectsInput(readImage(path.join(dir, 'bad.bmp')), /^cannot read image bad\.bmp: /);
    const rle = encodeBmp(new Uint8Array(W * H * 3), W, H, 8);
    rle.writeUInt32LE(1, 30); // BI_RLE8
    writeFileSync(path.join(dir, 'rle.bmp'), rle);
    await rejectsInput(readImage(path.join(dir, 'rle.bmp')), /^cannot read image rle\.bmp: RLE-compressed BMP is not supported/);
    await rejectsInput(readImage(dir), /is a folder/);
  } finally {
    cleanup();
  }
});

test('greyToLabels: the documented rules', () => {
  const g = (a: number[]) => new Uint8Array(a);
  assert.deepEqual(greyToLabels(g([0, 255, 255, 0]), 255, { numClasses: 2 }), g([0, 1, 1, 0]));
  assert.deepEqual(greyToLabels(g([0, 255, 255, 0]), 255, { numClasses: 2, ignoreLabel: 255 }), g([0, 1, 1, 0]));
  assert.deepEqual(greyToLabels(g([0, 1, 255, 0]), 255, { numClasses: 2, ignoreLabel: 255 }), g([0, 1, 255, 0]));
  assert.deepEqual(greyToLabels(g([0, 1, 1, 0]), 255, { numClasses: 2 }), g([0, 1, 1, 0]));
  assert.deepEqual(greyToLabels(g([0, 3, 2, 1]), 255, { numClasses: 4 }), g([0, 3, 2, 1]));
  // evenly scaled grey levels are not guessed to be classes any more (0/128/255 on 3 classes): maskValues says
  assert.throws(
    () => greyToLabels(g([0, 128, 255, 128]), 255, { numClasses: 3 }),
    /has values 0, 128, 255 but the segmenter's classes are 0\.\.2/,
  );
  // thresholding only for a lossy (JPEG) mask on a binary card
  assert.deepEqual(greyToLabels(g([0, 3, 130, 250, 127, 128]), 255, { numClasses: 2, lossy: true }), g([0, 0, 1, 1, 0, 1]));
  assert.throws(() => greyToLabels(g([0, 3, 130, 250, 127, 128]), 255, { numClasses: 2 }), CertsegError);
  assert.deepEqual(greyToLabels(new Uint16Array([0, 65535]), 65535, { numClasses: 2 }), g([0, 1]));
  assert.throws(
    () => greyToLabels(g([0, 7, 40, 200]), 255, { numClasses: 3, ignoreLabel: 255 }, 'mask m.png'),
    (e: Error) =>
      e instanceof CertsegError &&
      /^mask m\.png has values 0, 7, 40, 200 but the segmenter's classes are 0\.\.2, or 255 \(ignore\)/.test(e.message),
  );
});

test('readMask: 0/255, 0/1, class ids, palette, VOC, JPEG, BMP, 16-bit, size mismatch', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const n = W * H;
    const ids = new Uint8Array(n).map((_, i) => (i % 7 === 0 ? 2 : i % 3 === 0 ? 1 : 0));
    const bin = new Uint8Array(n).map((_, i) => (i % 3 === 0 ? 1 : 0));
    const w = async (name: string, bytes: Buffer | Promise<Buffer>) => {
      const p = path.join(dir, name);
      writeFileSync(p, await bytes);
      return p;
    };
    // 0/255 binary PNG
    let p = await w(
      'm255.png',
      raw1(bin.map((v) => v * 255))
        .png()
        .toBuffer(),
    );
    assert.deepEqual(await readMask(p, { numClasses: 2 }), bin);
    // 0/1 PNG
    p = await w('m01.png', raw1(bin).png().toBuffer());
    assert.deepEqual(await readMask(p, { numClasses: 2 }), bin);
    // class ids 0..2, plus ignore 255 kept
    const withIgnore = ids.map((v, i) => (i === 5 ? 255 : v));
    p = await w('ids.png', raw1(withIgnore).png().toBuffer());
    assert.deepEqual(await readMask(p, { numClasses: 3, ignoreLabel: 255 }), withIgnore);
    await rejectsInput(readMask(p, { numClasses: 3 }), /^mask ids\.png has values 0, 1, 2, 255 but the segmenter's classes are 0\.\.2/);
    // palette PNG with class colours
    const classes = [
      { name: 'bg', color: '#000000' },
      { name: 'a', color: '#ff0000' },
      { name: 'b', color: '#00ff00' },
    ];
    const colRgb = new Uint8Array(n * 3);
    ids.forEach((v, i) => colRgb.set(v === 1 ? [255, 0, 0] : v === 2 ? [0, 255, 0] : [0, 0, 0], 3 * i));
    p = await w('pal.png', raw3(colRgb).png({ palette: true, colours: 4, dither: 0 }).toBuffer());
    assert.equal((await sharp(p).metadata()).isPalette, true);
    assert.deepEqual(await readMask(p, { numClasses: 3, classes }), ids);
    await rejectsInput(readMask(p, { numClasses: 3 }), /colour mask with colours that are not in the PASCAL VOC palette.*#ff0000/);
    // VOC palette without classes
    const voc = vocColormap();
    const vocRgb = new Uint8Array(n * 3);
    ids.forEach((v, i) => vocRgb.set(voc.subarray(3 * v, 3 * v + 3), 3 * i));
    p = await w('voc.png', raw3(vocRgb).png().toBuffer());
    assert.deepEqual(await readMask(p, { numClasses: 3 }), ids);
    // lossy JPEG binary mask (grey and RGB)
    const big = 32;
    const disk = new Uint8Array(big * big).map((_, i) => (((i % big) - 16) ** 2 + (Math.floor(i / big) - 16) ** 2 < 100 ? 1 : 0));
    p = await w(
      'm.jpg',
      raw1(
        disk.map((v) => v * 255),
        big,
        big,
      )
        .jpeg({ quality: 70 })
        .toBuffer(),
    );
    let m = await readMask(p, { numClasses: 2 });
    let wrong = m.reduce((a, v, i) => a + (v !== disk[i] ? 1 : 0), 0);
    assert.ok(wrong <= 4, `${wrong} pixels wrong after thresholding a JPEG mask`);
    const diskRgb = new Uint8Array(big * big * 3).map((_, i) => disk[Math.floor(i / 3)] * 255);
    p = await w('mrgb.jpg', raw3(diskRgb, big, big).jpeg({ quality: 70 }).toBuffer());
    m = await readMask(p, { numClasses: 2 });
    wrong = m.reduce((a, v, i) => a + (v !== disk[i] ? 1 : 0), 0);
    assert.ok(wrong <= 4, `${wrong} pixels wrong after thresholding an RGB JPEG mask`);
    // BMP masks: 8-bit grey palette 0/255 and 24-bit class ids
    p = await w('m.bmp', encodeBmp(new Uint8Array([...bin].flatMap((v) => [v * 255, v * 255, v * 255])), W, H, 8));
    assert.deepEqual(await readMask(p, { numClasses: 2 }), bin);
    p = await w('ids.bmp', encodeBmp(new Uint8Array([...ids].flatMap((v) => [v, v, v])), W, H, 24));
    assert.deepEqual(await readMask(p, { numClasses: 3 }), ids);
    // 16-bit class ids
    p = await w(
      'ids16.png',
      sharp(new Uint16Array(ids), { raw: { width: W, height: H, channels: 1 } })
        .toColourspace('grey16')
        .png()
        .toBuffer(),
    );
    assert.deepEqual(await readMask(p, { numClasses: 3 }), ids);
    // size mismatch
    p = await w('small.png', raw1(bin).png().toBuffer());
    await rejectsInput(
      readMask(p, { numClasses: 2, expectWidth: 256, expectHeight: 256 }),
      /^mask small\.png is 6×4 but image is 256×256$/,
    );
    await rejectsInput(readMask(path.join(dir, 'none.png'), { numClasses: 2 }), /^cannot read mask none\.png: no such file$/);
  } finally {
    cleanup();
  }
});

test('real Kvasir-SEG image + mask', { skip: SKIP_KVASIR }, async () => {
  const ids = readdirSync(path.join(KVASIR, 'images'))
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .slice(0, 3);
  let fg = 0;
  let total = 0;
  for (const f of ids) {
    const id = f.replace(/\.jpg$/, '');
    const img = await readImage(path.join(KVASIR, 'images', f));
    assert.equal(img.width, 256);
    assert.equal(img.height, 256);
    assert.equal(img.data.length, 3 * 256 * 256);
    let mean = 0;
    for (const v of img.data) {
      assert.ok(v >= 0 && v <= 1);
      mean += v;
    }
    mean /= img.data.length;
    assert.ok(mean > 0.1 && mean < 0.9, `plausible brightness ${mean}`);
    assert.equal(
      img.sha256,
      createHash('sha256')
        .update(readFileSync(path.join(KVASIR, 'images', f)))
        .digest('hex'),
    );
    const mask = await readMask(path.join(KVASIR, 'masks', `${id}.png`), { numClasses: 2, expectWidth: 256, expectHeight: 256 });
    assert.equal(mask.length, 256 * 256);
    for (const v of mask) assert.ok(v === 0 || v === 1);
    fg += mask.reduce((a, v) => a + v, 0);
    total += mask.length;
  }
  const frac = fg / total;
  assert.ok(frac > 0.01 && frac < 0.6, `plausible polyp fraction ${frac}`);
});
