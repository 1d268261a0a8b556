import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CertsegError } from '../../server/src/core/errors';
import { assertFeasible, minCertifiableCount, minFeasibleN } from '../../server/src/core/feasibility';
import { certifyFromCounts } from '../../server/src/core/multipleTesting';

test("the notes' example: 256×256, α = 1e-3, τ = 0.75, n = 100 needs k ≥ 97", () => {
  for (const c of ['holm', 'bonferroni'] as const) {
    assert.equal(minCertifiableCount(100, 0.75, 1e-3, 256 * 256, c), 97);
  }
});

test('minCertifiableCount agrees with certifyFromCounts on a best-case pixel', () => {
  // One pixel at k among K − 1 hopeless ones: certified iff k ≥ minCertifiableCount.
  for (const [n, tau, alpha, K] of [
    [100, 0.75, 1e-3, 500],
    [500, 0.95, 1e-4, 2000],
    [40, 0.6, 0.05, 10],
  ]) {
    const kMin = minCertifiableCount(n, tau, alpha, K, 'holm');
    assert.ok(kMin !== null);
    for (const k of [kMin - 1, kMin]) {
      const counts = new Uint16Array(K);
      counts[0] = k;
      const res = certifyFromCounts(new Uint8Array(K), counts, n, tau, alpha, 'holm');
      assert.equal(res.rejected, k >= kMin ? 1 : 0, `n=${n} k=${k}`);
    }
  }
});

test('infeasible: null, and a CertsegError that names the smallest working n', () => {
  // τ^10 = 0.0563 > 1e-3/65536: hopeless.
  assert.equal(minCertifiableCount(10, 0.75, 1e-3, 65536, 'holm'), null);
  const need = minFeasibleN(0.75, 1e-3, 65536);
  // 0.75^n ≤ 1.5259e-8 ⇔ n ≥ log(1.5259e-8)/log(0.75) = 62.6…
  assert.equal(need, 63);
  assert.equal(minCertifiableCount(need, 0.75, 1e-3, 65536, 'bonferroni'), need);
  assert.equal(minCertifiableCount(need - 1, 0.75, 1e-3, 65536, 'bonferroni'), null);
  assert.throws(
    () => assertFeasible(10, 0.75, 1e-3, 65536, 'holm'),
    (e: unknown) =>
      e instanceof CertsegError &&
      e.code === 'infeasible' &&
      e.message.startsWith('n = 10 is too small:') &&
      e.message.includes('all 10 votes has p = 0.0563 > α/K = 1.53e-8') &&
      e.message.endsWith('use n ≥ 63'),
  );
  assert.equal(assertFeasible(100, 0.75, 1e-3, 65536, 'holm'), 97);
});

test('invalid arguments are rejected', () => {
  assert.throws(() => minCertifiableCount(0, 0.75, 1e-3, 10, 'holm'), RangeError);
  assert.throws(() => minCertifiableCount(10, 1, 1e-3, 10, 'holm'), RangeError);
  assert.throws(() => minCertifiableCount(10, 0.75, 0, 10, 'holm'), RangeError);
  assert.throws(() => minCertifiableCount(10, 0.75, 1e-3, 0, 'holm'), RangeError);
});
