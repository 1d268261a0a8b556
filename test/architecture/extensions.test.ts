/**
 * package.json's menus (`when` regexes) and editor selectors (filenamePattern) list image extensions by hand:
 * they must accept exactly the extensions of common/imageNaming.ts (PREVIEW_IMAGE_EXTENSIONS + MEDICAL_EXTENSIONS
 * for the preview, MEDICAL_EXTENSIONS for the medical editor), in any letter case.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE_EXTENSIONS, MEDICAL_EXTENSIONS, PREVIEW_IMAGE_EXTENSIONS } from '../../common/imageNaming';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
const previewSet = [...PREVIEW_IMAGE_EXTENSIONS, ...MEDICAL_EXTENSIONS];
// every extension some list knows, plus near misses that must be refused
const candidates = [
  ...new Set([...IMAGE_EXTENSIONS, ...MEDICAL_EXTENSIONS, '.gz', '.json', '.txt', '.jpgx', '.npy', '.svg', '.certseg.json']),
];

function strings(node: unknown, key: string, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const v of node) strings(v, key, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === key && typeof v === 'string') out.push(v);
      else strings(v, key, out);
    }
  }
  return out;
}

const sorted = (a: readonly string[]) => [...new Set(a)].sort();

test("package.json's image `when` regexes accept exactly the preview and medical extensions of common/imageNaming.ts", () => {
  const regexes = strings(pkg.contributes, 'when')
    .map((w) => /resourceFilename =~ \/(.*)\/([a-z]*)/.exec(w))
    .filter((m): m is RegExpExecArray => m !== null && /png|dcm/.test(m[1]))
    .map((m) => new RegExp(m[1], m[2]));
  assert.ok(regexes.length >= 6, `found ${regexes.length} image regexes`);
  for (const re of regexes) {
    for (const name of ['image', 'a.b']) {
      const accepted = candidates.filter((e) => re.test(name + e) && re.test(name + e.toUpperCase()));
      assert.deepEqual(sorted(accepted), sorted(previewSet), `${re} accepts ${accepted.join(' ')}`);
      const acceptedAnyCase = candidates.filter((e) => re.test(name + e) || re.test(name + e.toUpperCase()));
      assert.deepEqual(sorted(acceptedAnyCase), sorted(previewSet), `${re}: letter case`);
    }
  }
});

test("package.json's editor selectors list exactly the extensions of common/imageNaming.ts", () => {
  const patterns = strings(pkg.contributes.customEditors, 'filenamePattern').filter((p) => p !== '*');
  assert.ok(patterns.length >= 2, `found ${patterns.length} selectors`);
  const exts = (p: string) => {
    const m = /^\*\.\{(.*)\}$/.exec(p);
    assert.ok(m, `selector ${p}`);
    const list = m[1].split(',');
    const lower = list.filter((e) => e === e.toLowerCase());
    // each lower-case extension also in upper case, nothing else
    assert.deepEqual(sorted(list), sorted([...lower, ...lower.map((e) => e.toUpperCase())]), `${p}: upper-case twins`);
    return sorted(lower.map((e) => '.' + e));
  };
  const found = patterns.map(exts);
  assert.ok(
    found.some((f) => JSON.stringify(f) === JSON.stringify(sorted(previewSet))),
    `the preview selector lists ${sorted(previewSet).join(' ')}`,
  );
  for (const f of found) {
    assert.ok(
      JSON.stringify(f) === JSON.stringify(sorted(previewSet)) || JSON.stringify(f) === JSON.stringify(sorted(MEDICAL_EXTENSIONS)),
      `a selector lists ${f.join(' ')}: neither the preview's nor the medical extensions`,
    );
  }
});
