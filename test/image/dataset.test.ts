import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { findDatasetPairs } from '../../server/src/image/dataset';
import { readImage, readMask } from '../../server/src/image/read';
import { CertsegError } from '../../server/src/core/errors';
import { tempDir, KVASIR, CVC, SKIP_KVASIR, SKIP_CVC } from './helpers';

function touch(p: string) {
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, 'x'); // discovery never decodes
}

async function rejectsInput(p: Promise<unknown>, re: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CertsegError && e.code === 'input', String(e));
    assert.match(e.message, re);
    return true;
  });
}

test('images/ + masks/: natural order, other extensions, nested folders, _mask suffix, missing masks', async () => {
  const { dir, cleanup } = tempDir();
  try {
    for (const f of ['10.jpg', '2.jpg', '1.png', 'sub/b.tif', 'sub/a.jpeg', 'c.bmp', 'notes.txt']) touch(path.join(dir, 'images', f));
    for (const f of ['10.png', '2.png', '1.png', 'sub/b.png', 'sub/a_mask.png']) touch(path.join(dir, 'masks', f));
    const warnings: string[] = [];
    const pairs = await findDatasetPairs(dir, { onWarning: (m) => warnings.push(m) });
    assert.deepEqual(
      pairs.map((p) => p.id),
      ['1', '2', '10', 'c', 'sub/a', 'sub/b'],
    );
    const by = Object.fromEntries(pairs.map((p) => [p.id, p]));
    assert.equal(by['2'].image, path.join(dir, 'images', '2.jpg'));
    assert.equal(by['2'].mask, path.join(dir, 'masks', '2.png'));
    assert.equal(by['sub/a'].mask, path.join(dir, 'masks', 'sub', 'a_mask.png'));
    assert.equal(by['sub/b'].mask, path.join(dir, 'masks', 'sub', 'b.png'));
    assert.equal(by['c'].mask, null);
    assert.deepEqual(warnings, ['1 of 6 images have no mask (c); they get no accuracy metrics']);

    // splits keep file order; unknown split lists the available ones
    touch(path.join(dir, 'splits', 'val.txt'));
    writeFileSync(path.join(dir, 'splits', 'test.txt'), '10\n2\n\nsub/b\n');
    assert.deepEqual(
      (await findDatasetPairs(dir, { split: 'test' })).map((p) => p.id),
      ['10', '2', 'sub/b'],
    );
    await rejectsInput(findDatasetPairs(dir, { split: 'train' }), /has no split 'train' \(available: test, val\)/);
    writeFileSync(path.join(dir, 'splits', 'bad.txt'), '2\nghost\n');
    await rejectsInput(findDatasetPairs(dir, { split: 'bad' }), /lists 1 ids with no image in images\/: ghost/);

    // duplicate ids
    touch(path.join(dir, 'images', '2.png'));
    await rejectsInput(findDatasetPairs(dir), /two files for '2': 2\.jpg and 2\.png|two files for '2': 2\.png and 2\.jpg/);
  } finally {
    cleanup();
  }
});

test('symbolic links: linked files and folders are followed, a cycle is walked once, broken links are reported', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const data = path.join(dir, 'data');
    for (const f of ['orig/1.jpg', 'orig/2.jpg', 'orig/1.png', 'orig/2.png', 'more/3.jpg', 'moremasks/3.png']) touch(path.join(data, f));
    const ds = path.join(dir, 'ds');
    mkdirSync(path.join(ds, 'images'), { recursive: true });
    mkdirSync(path.join(ds, 'masks'), { recursive: true });
    symlinkSync(path.join(data, 'orig/1.jpg'), path.join(ds, 'images/1.jpg'));
    symlinkSync('../../data/orig/2.jpg', path.join(ds, 'images/2.jpg')); // a relative link
    symlinkSync(path.join(data, 'orig/1.png'), path.join(ds, 'masks/1.png'));
    symlinkSync(path.join(data, 'orig/2.png'), path.join(ds, 'masks/2.png'));
    symlinkSync(path.join(data, 'more'), path.join(ds, 'images/sub')); // linked folders
    symlinkSync(path.join(data, 'moremasks'), path.join(ds, 'masks/sub'));
    symlinkSync(path.join(ds, 'images'), path.join(data, 'more/loop')); // a cycle back to images/
    symlinkSync(path.join(data, 'gone.jpg'), path.join(ds, 'images/gone.jpg')); // broken
    const warnings: string[] = [];
    const pairs = await findDatasetPairs(ds, { onWarning: (m) => warnings.push(m) });
    assert.deepEqual(
      pairs.map((p) => [p.id, path.relative(ds, p.image), p.mask && path.relative(ds, p.mask)]),
      [
        ['1', 'images/1.jpg', 'masks/1.png'],
        ['2', 'images/2.jpg', 'masks/2.png'],
        ['sub/3', 'images/sub/3.jpg', 'masks/sub/3.png'],
      ],
    );
    assert.deepEqual(warnings, [`dataset ${ds} has 1 broken symbolic link (images/gone.jpg); skipped`]);
    // the images folder itself may be a link
    const ds2 = path.join(dir, 'ds2');
    mkdirSync(ds2);
    symlinkSync(path.join(ds, 'images'), path.join(ds2, 'images'));
    assert.deepEqual(
      (await findDatasetPairs(ds2)).map((p) => p.id),
      ['1', '2', 'sub/3'],
    );
  } finally {
    cleanup();
  }
});

test('symbolic links to real Kvasir-SEG files decode like the files themselves', { skip: SKIP_KVASIR }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    mkdirSync(path.join(dir, 'images'));
    mkdirSync(path.join(dir, 'masks'));
    const id = 'cju0qkwl35piu0993l0dewei2';
    symlinkSync(path.join(KVASIR, 'images', `${id}.jpg`), path.join(dir, 'images', `${id}.jpg`));
    symlinkSync(path.join(KVASIR, 'masks', `${id}.png`), path.join(dir, 'masks', `${id}.png`));
    const [pair] = await findDatasetPairs(dir);
    assert.equal(pair.id, id);
    const img = await readImage(pair.image);
    assert.deepEqual(img.data, (await readImage(path.join(KVASIR, 'images', `${id}.jpg`))).data);
    const mask = await readMask(pair.mask!, { numClasses: 2, expectWidth: img.width, expectHeight: img.height });
    assert.ok(mask.some((v) => v === 1) && mask.some((v) => v === 0));
  } finally {
    cleanup();
  }
});

test('manifests: txt (tab), csv with header, json, passed directly or found in DIR', async () => {
  const { dir, cleanup } = tempDir();
  try {
    for (const f of ['img/a.jpg', 'img/b.jpg', 'img/c.jpg', 'lbl/a.png', 'lbl/b.png']) touch(path.join(dir, f));
    writeFileSync(path.join(dir, 'manifest.txt'), '# comment\nimg/b.jpg\tlbl/b.png\nimg/a.jpg\tlbl/a.png\nimg/c.jpg\n');
    const warnings: string[] = [];
    const pairs = await findDatasetPairs(dir, { onWarning: (m) => warnings.push(m) });
    assert.deepEqual(pairs, [
      { id: 'img/b', image: path.join(dir, 'img/b.jpg'), mask: path.join(dir, 'lbl/b.png') },
      { id: 'img/a', image: path.join(dir, 'img/a.jpg'), mask: path.join(dir, 'lbl/a.png') },
      { id: 'img/c', image: path.join(dir, 'img/c.jpg'), mask: null },
    ]);
    assert.equal(warnings.length, 1);

    writeFileSync(path.join(dir, 'list.csv'), 'image,mask\nimg/a.jpg,lbl/a.png\n"img/b.jpg","lbl/b.png"\n');
    assert.deepEqual(
      (await findDatasetPairs(path.join(dir, 'list.csv'))).map((p) => [p.id, path.basename(p.mask!)]),
      [
        ['img/a', 'a.png'],
        ['img/b', 'b.png'],
      ],
    );
    writeFileSync(
      path.join(dir, 'm.json'),
      JSON.stringify([{ image: 'img/a.jpg', mask: 'lbl/a.png', id: 'A' }, ['img/b.jpg', 'lbl/b.png']]),
    );
    assert.deepEqual(
      (await findDatasetPairs(path.join(dir, 'm.json'))).map((p) => p.id),
      ['A', 'img/b'],
    );

    writeFileSync(path.join(dir, 'broken.csv'), 'img/a.jpg,lbl/zzz.png\n');
    await rejectsInput(findDatasetPairs(path.join(dir, 'broken.csv')), /^manifest broken\.csv, line 1: mask lbl\/zzz\.png not found$/);
    writeFileSync(path.join(dir, 'bad.json'), '{oops');
    await rejectsInput(findDatasetPairs(path.join(dir, 'bad.json')), /^manifest bad\.json is not valid JSON/);
  } finally {
    cleanup();
  }
});

test('not a dataset: says which layouts are accepted', async () => {
  const { dir, cleanup } = tempDir();
  try {
    touch(path.join(dir, 'x.jpg'));
    await rejectsInput(findDatasetPairs(dir), /is not a dataset: expected DIR\/images \+ DIR\/masks, a manifest/);
    await rejectsInput(findDatasetPairs(path.join(dir, 'nope')), /not found/);
    mkdirSync(path.join(dir, 'images'));
    await rejectsInput(findDatasetPairs(dir), /images\/ holds no supported images/);
  } finally {
    cleanup();
  }
});

test('Kvasir-SEG: 998 pairs, test split 100', { skip: SKIP_KVASIR }, async () => {
  const all = await findDatasetPairs(KVASIR);
  assert.equal(all.length, 998);
  assert.ok(all.every((p) => p.mask !== null && p.mask.endsWith(`${p.id}.png`) && p.image.endsWith(`${p.id}.jpg`)));
  const t = await findDatasetPairs(KVASIR, { split: 'test' });
  assert.equal(t.length, 100);
  const train = await findDatasetPairs(KVASIR, { split: 'train' });
  const val = await findDatasetPairs(KVASIR, { split: 'val' });
  assert.equal(train.length + val.length + t.length, 998);
  const ids = new Set(t.map((p) => p.id));
  assert.ok(
    train.every((p) => !ids.has(p.id)),
    'train and test are disjoint',
  );
});

test('CVC-ClinicDB: 399 pairs in natural order', { skip: SKIP_CVC }, async () => {
  const all = await findDatasetPairs(CVC);
  assert.equal(all.length, 399);
  assert.deepEqual(
    all.slice(0, 3).map((p) => p.id),
    ['1', '2', '3'],
  );
  assert.ok(all.every((p) => p.mask !== null));
});
