/**
 * Finding image/mask pairs in a dataset folder. Accepted layouts:
 *  1. DIR/images/** + DIR/masks/** (or labels/, annotations/, gt/): the mask has the image's relative
 *     path and base name, any supported extension (a.jpg ↔ a.png), optionally with a mask suffix
 *     (`_mask`, `_lesion`, `_seg`, `_gt`, … : common/imageNaming.ts).
 *     With `split`, only the ids listed in DIR/splits/<split>.txt (one per line, as in Kvasir-SEG).
 *  2. A manifest: DIR/manifest.txt, .csv or .json, or a manifest file passed directly. txt/csv lines are
 *     "image<TAB or comma>mask" (mask optional, '#' comments, an "image,mask" header allowed); json is an
 *     array of {image, mask?, id?} or [image, mask]. Paths are relative to the manifest.
 * Ids are the image path relative to images/ (or the manifest) without extension, '/'-separated.
 * Folder scans are sorted in natural order ('2' before '10'); manifests and split files keep their order.
 * Images without a mask are kept with mask null and reported through `onWarning`. Symbolic links to files
 * and folders are followed (broken ones are skipped and reported through `onWarning`).
 */
import { MASK_DIRS, maskIdOf } from '../../../common/imageNaming';
import { DATASET_MANIFESTS } from '../../../common/datasetLayout';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CertsegError } from '../core/errors';
import { isImagePath } from './read';

export interface DatasetPair {
  /** absolute path */
  image: string;
  /** absolute path, or null when the image has no mask */
  mask: string | null;
  id: string;
}

export interface FindDatasetOptions {
  /** read DIR/splits/<split>.txt (images/masks layout) */
  split?: string;
  /** called once with a summary when some images have no mask */
  onWarning?: (message: string) => void;
}

const MANIFESTS = DATASET_MANIFESTS;
const LAYOUTS = 'expected DIR/images + DIR/masks, a manifest (DIR/manifest.txt, .csv or .json with "image,mask" lines), or a manifest file';

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });
export const naturalCompare = (a: string, b: string): number => collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);

// x.nii.gz is one extension (the id is x, as for x.png)
const stripExt = (p: string) => p.slice(0, p.length - (p.toLowerCase().endsWith('.nii.gz') ? 7 : path.extname(p).length));
const toPosix = (p: string) => p.split(path.sep).join('/');

async function statKind(p: string): Promise<'file' | 'dir' | null> {
  try {
    const s = await fs.stat(p);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : null;
  } catch {
    return null;
  }
}

/**
 * Relative paths (posix) of image files under root, recursively. Symbolic links are followed (a dataset
 * is often a folder of links into the original data); a linked folder seen twice (a cycle, or two links
 * to it) is walked once, and links that lead nowhere are counted for `onBroken`.
 */
async function listImages(root: string, onBroken?: (rel: string) => void): Promise<string[]> {
  const out: string[] = [];
  const seenDirs = new Set<string>();
  const walk = async (rel: string) => {
    const abs = path.join(root, rel);
    const real = await fs.realpath(abs);
    if (seenDirs.has(real)) return;
    seenDirs.add(real);
    const entries = await fs.readdir(abs, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      const kind = e.isSymbolicLink() ? await statKind(path.join(root, r)) : e.isDirectory() ? 'dir' : e.isFile() ? 'file' : null;
      if (e.isSymbolicLink() && kind === null) onBroken?.(r);
      else if (kind === 'dir') await walk(r);
      else if (kind === 'file' && isImagePath(e.name)) out.push(r);
    }
  };
  await walk('');
  return out;
}

function warnBroken(where: string, broken: string[], opts: FindDatasetOptions | undefined): void {
  if (broken.length > 0 && opts?.onWarning) {
    const shown = broken.slice(0, 5).join(', ');
    opts.onWarning(
      `${where} has ${broken.length} broken symbolic link${broken.length > 1 ? 's' : ''} (${shown}${broken.length > 5 ? ', …' : ''}); skipped`,
    );
  }
}

/** Map id (relative path without extension) → relative file path; duplicate ids are an error. */
function indexById(files: string[], where: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const f of files) {
    const id = stripExt(f);
    const prev = map.get(id);
    if (prev !== undefined) {
      throw new CertsegError(`dataset ${where} has two files for '${id}': ${prev} and ${f}`, 'input');
    }
    map.set(id, f);
  }
  return map;
}

function warnMissing(pairs: DatasetPair[], opts: FindDatasetOptions | undefined): void {
  const missing = pairs.filter((p) => p.mask === null);
  if (missing.length > 0 && opts?.onWarning) {
    const shown = missing
      .slice(0, 5)
      .map((p) => p.id)
      .join(', ');
    opts.onWarning(
      `${missing.length} of ${pairs.length} images have no mask (${shown}${missing.length > 5 ? ', …' : ''}); they get no accuracy metrics`,
    );
  }
}

async function fromFolders(dir: string, opts?: FindDatasetOptions): Promise<DatasetPair[]> {
  const imagesDir = path.join(dir, 'images');
  let masksDir: string | null = null;
  for (const m of MASK_DIRS) {
    if ((await statKind(path.join(dir, m))) === 'dir') {
      masksDir = path.join(dir, m);
      break;
    }
  }
  const broken: string[] = [];
  const images = indexById(await listImages(imagesDir, (r) => broken.push(`images/${r}`)), `${dir}/images`);
  const masks = masksDir
    ? indexById(await listImages(masksDir, (r) => broken.push(`${path.basename(masksDir!)}/${r}`)), masksDir)
    : new Map<string, string>();
  warnBroken(`dataset ${dir}`, broken, opts);
  // masks named by the common conventions (common/imageNaming.ts): a_lesion.png, a_mask.png, ... ↔ a.jpg
  const masksByImageId = new Map<string, string>();
  for (const [mid, file] of masks) if (!masksByImageId.has(maskIdOf(mid))) masksByImageId.set(maskIdOf(mid), file);
  let ids: string[];
  if (opts?.split) {
    const splitsDir = path.join(dir, 'splits');
    const splitFile = path.join(splitsDir, `${opts.split}.txt`);
    let text: string;
    try {
      text = await fs.readFile(splitFile, 'utf8');
    } catch {
      let available: string[] = [];
      try {
        available = (await fs.readdir(splitsDir))
          .filter((f) => f.endsWith('.txt'))
          .map(stripExt)
          .sort(naturalCompare);
      } catch {
        /* no splits folder */
      }
      throw new CertsegError(
        `dataset ${dir} has no split '${opts.split}' (${available.length ? `available: ${available.join(', ')}` : 'no splits/<name>.txt files'})`,
        'input',
      );
    }
    ids = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => (images.has(l) ? l : stripExt(l)));
    const unknown = ids.filter((id) => !images.has(id));
    if (unknown.length) {
      throw new CertsegError(
        `split '${opts.split}' of ${dir} lists ${unknown.length} ids with no image in images/: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}`,
        'input',
      );
    }
  } else {
    ids = [...images.keys()].sort(naturalCompare);
  }
  if (ids.length === 0) throw new CertsegError(`dataset ${dir}: images/ holds no supported images (png, jpg, bmp, tif, webp)`, 'input');
  return ids.map((id) => {
    const mask = masks.get(id) ?? masksByImageId.get(id) ?? null;
    return { id, image: path.join(imagesDir, images.get(id)!), mask: mask && masksDir ? path.join(masksDir, mask) : null };
  });
}

async function fromManifest(file: string): Promise<DatasetPair[]> {
  const base = path.dirname(file);
  const name = path.basename(file);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new CertsegError(`cannot read manifest ${name}: ${(e as NodeJS.ErrnoException).code ?? 'read failed'}`, 'input');
  }
  const rows: { image: string; mask: string | null; id?: string; where: string }[] = [];
  if (path.extname(file).toLowerCase() === '.json') {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new CertsegError(`manifest ${name} is not valid JSON: ${(e as Error).message.split('\n')[0]}`, 'input');
    }
    const list = Array.isArray(json) ? json : (json as { pairs?: unknown })?.pairs;
    if (!Array.isArray(list)) throw new CertsegError(`manifest ${name}: expected an array of {image, mask} entries`, 'input');
    list.forEach((e, k) => {
      const where = `entry ${k}`;
      if (Array.isArray(e) && typeof e[0] === 'string') rows.push({ image: e[0], mask: typeof e[1] === 'string' ? e[1] : null, where });
      else if (e && typeof e === 'object' && typeof (e as { image?: unknown }).image === 'string') {
        const o = e as { image: string; mask?: unknown; id?: unknown };
        rows.push({
          image: o.image,
          mask: typeof o.mask === 'string' ? o.mask : null,
          id: typeof o.id === 'string' ? o.id : undefined,
          where,
        });
      } else throw new CertsegError(`manifest ${name}, ${where}: expected {"image": "...", "mask": "..."}`, 'input');
    });
  } else {
    text.split(/\r?\n/).forEach((line, k) => {
      const l = line.trim();
      if (!l || l.startsWith('#')) return;
      const parts = l.split(l.includes('\t') ? '\t' : ',').map((s) => s.trim().replace(/^"(.*)"$/, '$1'));
      if (rows.length === 0 && /^image(s|_?path)?$/i.test(parts[0])) return; // header
      rows.push({ image: parts[0], mask: parts[1] ? parts[1] : null, where: `line ${k + 1}` });
    });
  }
  if (rows.length === 0) throw new CertsegError(`manifest ${name} lists no images`, 'input');
  const seen = new Set<string>();
  const pairs: DatasetPair[] = [];
  for (const r of rows) {
    const image = path.resolve(base, r.image);
    const mask = r.mask ? path.resolve(base, r.mask) : null;
    if ((await statKind(image)) !== 'file') throw new CertsegError(`manifest ${name}, ${r.where}: image ${r.image} not found`, 'input');
    if (mask && (await statKind(mask)) !== 'file')
      throw new CertsegError(`manifest ${name}, ${r.where}: mask ${r.mask} not found`, 'input');
    let id = r.id ?? toPosix(stripExt(path.relative(base, image)));
    if (seen.has(id)) id = `${id}#${pairs.length}`;
    seen.add(id);
    pairs.push({ image, mask, id });
  }
  return pairs;
}

/** Find the image/mask pairs of a dataset folder or manifest (see the module comment for the layouts). */
export async function findDatasetPairs(dirOrManifest: string, opts?: FindDatasetOptions): Promise<DatasetPair[]> {
  const target = path.resolve(dirOrManifest);
  const kind = await statKind(target);
  let pairs: DatasetPair[];
  if (kind === null) throw new CertsegError(`dataset ${dirOrManifest} not found`, 'input');
  if (kind === 'file') {
    if (opts?.split) throw new CertsegError(`a split ('${opts.split}') needs a dataset folder with splits/, not a manifest file`, 'input');
    pairs = await fromManifest(target);
  } else if ((await statKind(path.join(target, 'images'))) === 'dir') {
    pairs = await fromFolders(target, opts);
  } else {
    let manifest: string | null = null;
    for (const m of MANIFESTS) {
      if ((await statKind(path.join(target, m))) === 'file') {
        manifest = path.join(target, m);
        break;
      }
    }
    if (!manifest) throw new CertsegError(`${dirOrManifest} is not a dataset: ${LAYOUTS}`, 'input');
    if (opts?.split) throw new CertsegError(`a split ('${opts.split}') needs DIR/images and DIR/splits/${opts.split}.txt`, 'input');
    pairs = await fromManifest(manifest);
  }
  warnMissing(pairs, opts);
  return pairs;
}
