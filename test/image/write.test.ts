import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { encodeNpy, readNpy, writeFileAtomic, writeNpy, writePngRGBA } from '../../server/src/image/write';
import { CertsegError } from '../../server/src/core/errors';
import { tempDir } from './helpers';

test('writeFileAtomic writes, replaces, leaves no temp files, and fails cleanly', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const p = path.join(dir, 'r.json');
    await writeFileAtomic(p, '{"a":1}');
    await writeFileAtomic(p, Buffer.from('{"a":2}'));
    assert.equal(readFileSync(p, 'utf8'), '{"a":2}');
    assert.deepEqual(readdirSync(dir), ['r.json']);
    await assert.rejects(writeFileAtomic(path.join(dir, 'no', 'such', 'x.txt'), 'x'), (e: unknown) => {
      assert.ok(e instanceof CertsegError);
      assert.match(e.message, /^cannot write .*x\.txt: ENOENT$/);
      return true;
    });
    assert.deepEqual(readdirSync(dir), ['r.json']);
  } finally {
    cleanup();
  }
});

test('writePngRGBA round-trips through sharp', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const rgba = new Uint8Array(3 * 2 * 4).map((_, i) => (i * 37) % 256);
    const p = path.join(dir, 'o.png');
    await writePngRGBA(p, rgba, 3, 2);
    const { data, info } = await sharp(p).raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.width, 3);
    assert.equal(info.height, 2);
    assert.equal(info.channels, 4);
    assert.deepEqual(new Uint8Array(data), rgba);
    await assert.rejects(writePngRGBA(p, rgba, 4, 2), CertsegError);
  } finally {
    cleanup();
  }
});

test('.npy bytes follow the v1.0 format spec exactly', () => {
  const buf = encodeNpy(new Uint8Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  const header = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }";
  assert.deepEqual([...buf.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const hlen = buf.readUInt16LE(8);
  assert.equal((10 + hlen) % 64, 0);
  assert.equal(hlen, 128 - 10); // 10 + 61 + '\n' > 64
  const h = buf.subarray(10, 10 + hlen).toString('latin1');
  assert.equal(h, header + ' '.repeat(hlen - header.length - 1) + '\n');
  assert.deepEqual([...buf.subarray(128)], [1, 2, 3, 4, 5, 6]);

  // 1-D shape uses the Python tuple "(n,)"; float32 little-endian
  const f = encodeNpy(new Float32Array([1.5, -2]), [2]);
  const fh = f.subarray(10, 10 + f.readUInt16LE(8)).toString('latin1');
  assert.match(fh, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2,\), \} +\n$/);
  assert.equal(f.readFloatLE(128), 1.5);
  assert.equal(f.readFloatLE(132), -2);
  // long shapes push the data to the next multiple of 64
  const big = encodeNpy(new Int32Array(1), new Array(40).fill(1));
  assert.equal((10 + big.readUInt16LE(8)) % 64, 0);
  assert.equal(big.length, 192 + 4);
  assert.throws(() => encodeNpy(new Uint8Array(5), [2, 3]), CertsegError);
});

test('writeNpy / readNpy round-trip every dtype; readNpy rejects bad files clearly', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cases = [
      { data: new Uint8Array([0, 255, 7]), shape: [3], dtype: '|u1' },
      { data: new Uint16Array([0, 65535, 300, 4]), shape: [2, 2], dtype: '<u2' },
      { data: new Float32Array([0.25, -1e-8, Infinity, 3]), shape: [1, 2, 2], dtype: '<f4' },
      { data: new Int32Array([-5, 2 ** 31 - 1]), shape: [2, 1], dtype: '<i4' },
      { data: new Uint8Array(0), shape: [0, 4], dtype: '|u1' },
    ] as const;
    for (const c of cases) {
      const p = path.join(dir, `a${c.dtype.slice(1)}.npy`);
      await writeNpy(p, c.data, [...c.shape]);
      const r = await readNpy(p);
      assert.equal(r.dtype, c.dtype);
      assert.deepEqual(r.shape, c.shape);
      assert.deepEqual(r.data, c.data);
    }
    const bad = async (name: string, bytes: Buffer, re: RegExp) => {
      writeFileSync(path.join(dir, name), bytes);
      await assert.rejects(readNpy(path.join(dir, name)), (e: unknown) => {
        assert.ok(e instanceof CertsegError && e.code === 'input');
        assert.match(e.message, re);
        return true;
      });
    };
    await bad('magic.npy', Buffer.from('PK\x03\x04not npy'), /^cannot read magic\.npy: not a NumPy \.npy file/);
    const good = encodeNpy(new Uint8Array([1, 2]), [2]);
    const v9 = Buffer.from(good);
    v9[6] = 9;
    await bad('v9.npy', v9, /unsupported \.npy version 9\.0/);
    const f8 = Buffer.from(good.toString('latin1').replace("'|u1'", "'<f8'"), 'latin1');
    await bad('f8.npy', f8, /unsupported dtype '<f8'/);
    const fo = Buffer.from(good.toString('latin1').replace('False', 'True '), 'latin1');
    await bad('fortran.npy', fo, /Fortran-order/);
    await bad('trunc.npy', encodeNpy(new Float32Array(8), [8]).subarray(0, 130), /truncated data/);
    await assert.rejects(readNpy(path.join(dir, 'none.npy')), /cannot read none\.npy: no such file/);
  } finally {
    cleanup();
  }
});

const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0);

test(
  'NumPy loads what writeNpy wrote and writeNpy reads what NumPy saved',
  { skip: python ? false : 'python3 with numpy not found' },
  async () => {
    const { dir, cleanup } = tempDir();
    try {
      await writeNpy(path.join(dir, 'f.npy'), new Float32Array([1.5, 2, 3, 4, 5, 6]), [2, 3]);
      await writeNpy(path.join(dir, 'u.npy'), new Uint8Array([0, 1, 255]), [3]);
      await writeNpy(path.join(dir, 'h.npy'), new Uint16Array([65535]), [1, 1]);
      await writeNpy(path.join(dir, 'i.npy'), new Int32Array([-7, 8]), [2]);
      const script = `
import numpy as np, sys, os
d = sys.argv[1]
f = np.load(os.path.join(d, 'f.npy')); assert f.dtype == np.float32 and f.shape == (2, 3) and f[0, 0] == 1.5 and f[1, 2] == 6, f
u = np.load(os.path.join(d, 'u.npy')); assert u.dtype == np.uint8 and list(u) == [0, 1, 255]
h = np.load(os.path.join(d, 'h.npy')); assert h.dtype == np.uint16 and h.shape == (1, 1) and h[0, 0] == 65535
i = np.load(os.path.join(d, 'i.npy')); assert i.dtype == np.int32 and list(i) == [-7, 8]
np.save(os.path.join(d, 'py.npy'), np.arange(12, dtype=np.float32).reshape(3, 4) / 2)
np.save(os.path.join(d, 'pyb.npy'), np.array([[1, 0], [255, 3]], dtype=np.uint8))
print('ok')
`;
      assert.equal(execFileSync(python!, ['-c', script, dir], { encoding: 'utf8' }).trim(), 'ok');
      const r = await readNpy(path.join(dir, 'py.npy'));
      assert.deepEqual(r.shape, [3, 4]);
      assert.equal(r.dtype, '<f4');
      assert.deepEqual(
        [...r.data],
        Array.from({ length: 12 }, (_, k) => k / 2),
      );
      const b = await readNpy(path.join(dir, 'pyb.npy'));
      assert.deepEqual([...b.data], [1, 0, 255, 3]);
      assert.ok(existsSync(path.join(dir, 'py.npy')));
    } finally {
      cleanup();
    }
  },
);
