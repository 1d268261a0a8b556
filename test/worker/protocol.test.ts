/** protocol/messages.ts ↔ docs/protocol.md in sync; the array encoding round-trips. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as protocol from '../../protocol/messages';

const root = join(__dirname, '..', '..');

test('every method in protocol/messages.ts is documented in docs/protocol.md', () => {
  const doc = readFileSync(join(root, 'docs', 'protocol.md'), 'utf8');
  const src = readFileSync(join(root, 'protocol', 'messages.ts'), 'utf8');
  const declared = [...src.matchAll(/export const method = '([^']+)'/g)].map((m) => m[1]);
  assert.ok(declared.length >= 5, `found ${declared.length} methods`);
  assert.deepEqual([...declared].sort(), [...protocol.allMethods].sort(), 'allMethods lists every declared method');
  for (const m of declared) assert.ok(doc.includes('`' + m + '`'), `docs/protocol.md does not document ${m}`);
  // and nothing documented that does not exist
  for (const m of doc.matchAll(/`(certseg\/[A-Za-z]+)`/g)) assert.ok(declared.includes(m[1]), `docs/protocol.md documents unknown ${m[1]}`);
});

test('encodeArray / decodeArray round-trip every dtype', () => {
  const u8 = Uint8Array.from([0, 1, 255, 7]);
  const u16 = Uint16Array.from([0, 65535, 300, 1]);
  const f32 = Float32Array.from([0, -1.5, 3.25, Number.POSITIVE_INFINITY]);
  for (const a of [u8, u16, f32]) {
    const e = protocol.encodeArray(a);
    const back = protocol.decodeArray(JSON.parse(JSON.stringify(e)) as typeof e);
    assert.equal(back.constructor, a.constructor);
    assert.deepEqual(Array.from(back), Array.from(a));
  }
  // a view into a larger buffer (offset) encodes only its own bytes
  const big = new Uint16Array([9, 9, 1, 2, 9]);
  const view = big.subarray(2, 4);
  assert.deepEqual(Array.from(protocol.decodeArray(protocol.encodeArray(view) as protocol.EncodedArray<'uint16'>)), [1, 2]);
  assert.throws(() => protocol.decodeArray({ dtype: 'uint16', length: 3, base64: 'AAA=' }), /bytes for 3 elements/);
});
