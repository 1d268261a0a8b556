/** The dataset folders the Datasets view lists (client/src/datasetDiscovery.ts), on a real folder tree. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { findDatasets, looksLikeDataset } from '../../client/src/datasetDiscovery';

const tmp = mkdtempSync(path.join(tmpdir(), 'certseg-discovery-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const dir = (name: string) => ({ name, isDirectory: () => true, isFile: () => false });
const file = (name: string) => ({ name, isDirectory: () => false, isFile: () => true });

test('a dataset folder by its entries: images + masks/labels/annotations/gt or splits, or a manifest', () => {
  assert.ok(looksLikeDataset([dir('images'), dir('masks')]));
  assert.ok(looksLikeDataset([dir('images'), dir('gt')]));
  assert.ok(looksLikeDataset([dir('images'), dir('splits')]));
  assert.ok(looksLikeDataset([file('manifest.csv')]));
  assert.ok(!looksLikeDataset([dir('images')]));
  assert.ok(!looksLikeDataset([dir('masks'), file('a.png')]));
  assert.ok(!looksLikeDataset([dir('manifest.txt')]), 'a folder named like a manifest is not one');
});

test('findDatasets: breadth first under the roots, sorted; not inside a dataset, node_modules or hidden folders; through linked images/', async () => {
  const mk = (...p: string[]) => mkdirSync(path.join(tmp, ...p), { recursive: true });
  mk('a', 'polyps', 'images');
  mk('a', 'polyps', 'masks');
  mk('a', 'polyps', 'images', 'inner', 'images'); // inside a dataset: not searched
  mk('a', 'polyps', 'images', 'inner', 'masks');
  mk('b', 'listed');
  writeFileSync(path.join(tmp, 'b', 'listed', 'manifest.txt'), 'x.png,y.png\n');
  mk('node_modules', 'pkg', 'images');
  mk('node_modules', 'pkg', 'masks');
  mk('.hidden', 'ds', 'images');
  mk('.hidden', 'ds', 'masks');
  mk('real-images');
  mk('c', 'linked', 'masks');
  symlinkSync(path.join(tmp, 'real-images'), path.join(tmp, 'c', 'linked', 'images'));
  mk('d', '1', '2', '3', '4', 'deep', 'images');
  mk('d', '1', '2', '3', '4', 'deep', 'masks');
  assert.deepEqual(await findDatasets([tmp]), [
    path.join(tmp, 'a', 'polyps'),
    path.join(tmp, 'b', 'listed'),
    path.join(tmp, 'c', 'linked'),
  ]);
  assert.deepEqual(await findDatasets([tmp], 6), [
    path.join(tmp, 'a', 'polyps'),
    path.join(tmp, 'b', 'listed'),
    path.join(tmp, 'c', 'linked'),
    path.join(tmp, 'd', '1', '2', '3', '4', 'deep'),
  ]);
  assert.deepEqual(await findDatasets([path.join(tmp, 'missing')]), []);
});
