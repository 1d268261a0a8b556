import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  betaCdf,
  betaInv,
  binomPmf,
  binomPValueTable,
  binomUpperTail,
  certifiedRadius,
  clopperPearsonLower,
  logGamma,
  normCdf,
  normInv,
} from '../../server/src/core/stats';

// ---- exact rational helpers (references computed with BigInt, no floating point) ----

/** Any finite double as an exact fraction num/den with den a power of two. */
function exactFraction(x: number): { num: bigint; den: bigint } {
  let den = 1n;
  let m = x;
  while (!Number.isInteger(m)) {
    m *= 2; // exact: doubling never rounds
    den *= 2n;
  }
  return { num: BigInt(m), den };
}

function bitLength(v: bigint): number {
  return v.toString(2).length;
}

/** num/den (both > 0) rounded to double with ~64 significant bits before rounding. */
function ratioToNumber(num: bigint, den: bigint): number {
  if (num === 0n) return 0;
  const shift = 64 - (bitLength(num) - bitLength(den));
  const q = shift >= 0 ? (num << BigInt(shift)) / den : num / (den << BigInt(-shift));
  // q·2^−shift, applied in two steps so neither factor overflows/underflows early.
  const half = Math.trunc(shift / 2);
  return Number(q) * 2 ** -half * 2 ** -(shift - half);
}

/** Exact P[Bin(n, a/d) ≥ k] for all k as doubles. */
function exactUpperTails(n: number, p: number): number[] {
  const { num: a, den: d } = exactFraction(p);
  const b = d - a;
  const terms: bigint[] = [];
  let binom = 1n;
  const powA: bigint[] = [1n];
  const powB: bigint[] = [1n];
  for (let j = 1; j <= n; j++) {
    powA.push(powA[j - 1] * a);
    powB.push(powB[j - 1] * b);
  }
  for (let j = 0; j <= n; j++) {
    terms.push(binom * powA[j] * powB[n - j]);
    binom = (binom * BigInt(n - j)) / BigInt(j + 1);
  }
  const total = powA[1] === 0n && n > 0 ? 0n : d ** BigInt(n);
  const out = new Array<number>(n + 2).fill(0);
  let acc = 0n;
  for (let k = n; k >= 0; k--) {
    acc += terms[k];
    out[k] = ratioToNumber(acc, total === 0n ? 1n : total);
  }
  return out;
}

function assertRel(actual: number, expected: number, tol: number, what: string): void {
  if (expected === 0) {
    assert.equal(actual, 0, what);
    return;
  }
  const rel = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(rel <= tol, `${what}: got ${actual}, expected ${expected}, rel err ${rel}`);
}

function ulp(x: number): number {
  const e = Math.floor(Math.log2(Math.abs(x)));
  return 2 ** (e - 52);
}

// ---- tests ----

test('logGamma matches exact log-factorials and Γ(1/2) = √π', () => {
  let fact = 1n;
  for (let n = 1; n <= 170; n++) {
    fact *= BigInt(n);
    assertRel(logGamma(n + 1), Math.log(Number(fact)), 2e-15, `logGamma(${n + 1})`);
  }
  assert.ok(Math.abs(logGamma(1)) < 1e-15 && Math.abs(logGamma(2)) < 1e-15);
  assertRel(logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-15, 'logGamma(0.5)');
  assertRel(logGamma(1.5), Math.log(Math.sqrt(Math.PI) / 2), 1e-14, 'logGamma(1.5)');
  assertRel(logGamma(-0.5), Math.log(2 * Math.sqrt(Math.PI)), 1e-14, 'logGamma(-0.5)'); // |Γ(−½)| = 2√π
});

test('normCdf is accurate to ~1 ulp relative deep in the lower tail', () => {
  // Q(x) = 1 − Φ(x) = Φ(−x), references from an 80-digit decimal evaluation.
  const ref: [number, number][] = [
    [0.25, 0.4012936743170763],
    [0.5, 0.3085375387259869],
    [1, 0.15865525393145705],
    [1.5, 0.06680720126885807],
    [2, 0.02275013194817921],
    [3, 0.0013498980316300946],
    [5, 2.866515718791939e-7],
    [8, 6.220960574271784e-16],
    [12, 1.776482112077679e-33],
    [20, 2.7536241186062337e-89],
    [37, 5.725571222524577e-300],
  ];
  for (const [x, q] of ref) {
    assertRel(normCdf(-x), q, 5e-16, `Φ(${-x})`);
    assert.ok(Math.abs(normCdf(x) - (1 - q)) <= 2.3e-16, `Φ(${x})`);
  }
  assert.equal(normCdf(0), 0.5);
  assert.equal(normCdf(-40), 0);
  assert.equal(normCdf(40), 1);
});

test('normInv hits the known quantiles within one ulp', () => {
  assert.equal(normInv(0.75), 0.6744897501960817);
  assert.equal(normInv(0.999), 3.090232306167813);
  const z95 = 1.6448536269514722; // nearest double to Φ⁻¹(0.95)
  assert.ok(Math.abs(normInv(0.95) - z95) <= ulp(z95), `Φ⁻¹(0.95) = ${normInv(0.95)}`);
  assert.equal(normInv(0.5), 0);
  assert.equal(normInv(0.25), -normInv(0.75));
  assert.equal(normInv(0), -Infinity);
  assert.equal(normInv(1), Infinity);
  assert.ok(Number.isNaN(normInv(1.5)));
});

test('normInv inverts normCdf from 1e-300 to 1 − 1e-12', () => {
  const ps = [1e-300, 1e-100, 1e-30, 1e-12, 1e-5, 0.001, 0.02, 0.1, 0.3, 0.45, 0.55, 0.8, 0.97, 0.9999, 1 - 1e-9];
  for (const p of ps) {
    const x = normInv(p);
    // One ulp of x moves Φ by a relative ulp(x)·|x|φ/Φ ≈ (1 + x²)·2e-16 in the lower tail.
    const tol = p < 0.5 ? 6e-16 * (1 + x * x) : 6e-16 / (1 - p);
    if (p < 0.5) assertRel(normCdf(x), p, tol, `Φ(Φ⁻¹(${p}))`);
    else assertRel(1 - normCdf(x), 1 - p, tol, `1 − Φ(Φ⁻¹(${p}))`);
  }
});

test('certifiedRadius = σ·Φ⁻¹(τ)', () => {
  assert.equal(certifiedRadius(0.25, 0.75), 0.16862243754902043);
  assert.equal(certifiedRadius(0.5, 0.5), 0);
});

test('binomUpperTail and binomPValueTable equal exact BigInt tails (relative 1e-12)', () => {
  const cases: [number, number][] = [
    [1, 0.75],
    [7, 0.5],
    [30, 0.75],
    [100, 0.75],
    [100, 0.95],
    [100, 1e-3],
    [100, 0.999],
    [250, 0.875],
    [200, 0.3],
  ];
  for (const [n, p] of cases) {
    const exact = exactUpperTails(n, p);
    const table = binomPValueTable(n, p);
    assert.equal(table.length, n + 1);
    for (let k = 0; k <= n; k++) {
      assertRel(binomUpperTail(k, n, p), exact[k], 1e-12, `P[Bin(${n},${p}) ≥ ${k}]`);
      assertRel(table[k], exact[k], 1e-12, `table(${n},${p})[${k}]`);
      if (k > 0) assert.ok(table[k] <= table[k - 1], 'table non-increasing');
    }
  }
});

test('binomUpperTail: deep tails for n = 1000', () => {
  const n = 1000;
  const exact = exactUpperTails(n, 0.75);
  for (const k of [0, 500, 700, 750, 751, 800, 900, 990, 1000]) {
    assertRel(binomUpperTail(k, n, 0.75), exact[k], 1e-12, `k=${k}`);
  }
  assert.ok(exact[1000] < 1e-120); // 0.75^1000 ≈ 1.2e-125: a real deep tail
  // Binomial pmf sums to one.
  let s = 0;
  for (let k = 0; k <= n; k++) s += binomPmf(k, n, 0.75);
  assert.ok(Math.abs(s - 1) < 1e-13);
});

test('binomUpperTail edge cases', () => {
  assert.equal(binomUpperTail(0, 10, 0.3), 1);
  assert.equal(binomUpperTail(-3, 10, 0.3), 1);
  assert.equal(binomUpperTail(11, 10, 0.3), 0);
  assert.equal(binomUpperTail(1, 10, 0), 0);
  assert.equal(binomUpperTail(10, 10, 1), 1);
  assert.equal(binomUpperTail(0, 0, 0.5), 1);
  assert.equal(binomUpperTail(10, 10, 0.5), 2 ** -10);
  assert.throws(() => binomUpperTail(1, 2.5, 0.5), RangeError);
  assert.throws(() => binomUpperTail(1, 10, 1.5), RangeError);
});

test("the notes' example: 256×256 pixels, α = 1e-3, τ = 0.75, n = 100 → Bonferroni needs k ≥ 97", () => {
  const t = binomPValueTable(100, 0.75);
  const thr = 1e-3 / (256 * 256);
  assert.ok(t[97] <= thr);
  assert.ok(t[96] > thr);
});

test('betaCdf agrees with closed forms and with the binomial identity', () => {
  for (const x of [1e-12, 0.1, 0.5, 0.77, 0.999]) {
    assertRel(betaCdf(x, 1, 1), x, 1e-14, 'I_x(1,1)');
    assertRel(betaCdf(x, 2, 1), x * x, 1e-14, 'I_x(2,1)');
    assertRel(betaCdf(x, 1, 3), -Math.expm1(3 * Math.log1p(-x)), 1e-14, 'I_x(1,3)');
  }
  // I_p(k, n−k+1) = P[Bin(n,p) ≥ k].
  for (const [k, n, p] of [
    [3, 10, 0.2],
    [60, 100, 0.5],
    [97, 100, 0.75],
    [400, 500, 0.9],
  ]) {
    assertRel(betaCdf(p, k, n - k + 1), binomUpperTail(k, n, p), 1e-12, `I_${p}(${k},${n - k + 1})`);
  }
});

test('betaInv inverts betaCdf, also for non-integer shapes and tiny q', () => {
  for (const [a, b] of [
    [0.5, 0.5],
    [2.5, 7.25],
    [30, 2],
    [1, 1000],
    [400, 601],
  ]) {
    for (const q of [1e-30, 1e-8, 0.01, 0.3, 0.5, 0.9, 1 - 1e-9]) {
      const x = betaInv(q, a, b);
      if (q <= 0.5) {
        assert.ok(x > 0 && x < 1, `betaInv(${q},${a},${b}) = ${x}`);
        assertRel(betaCdf(x, a, b), q, 1e-11, `I(betaInv(${q},${a},${b}))`);
      } else {
        // Upper quantiles are the mirror image (x itself may round to 1).
        assert.equal(x, 1 - betaInv(1 - q, b, a));
        if (x < 1 - 1e-6) assert.ok(Math.abs(betaCdf(x, a, b) - q) < 1e-12, `I(betaInv(${q},${a},${b}))`);
      }
    }
  }
  assert.ok(Math.abs(betaInv(0.5, 3, 3) - 0.5) <= 1e-15); // symmetric: median ½
  assert.equal(betaInv(0, 2, 3), 0);
  assert.equal(betaInv(1, 2, 3), 1);
});

test('clopperPearsonLower: duality P[Bin(n, bound) ≥ k] = α', () => {
  for (const n of [1, 10, 100, 1000]) {
    for (const alpha of [0.05, 1e-3, 1.5e-8, 1e-30]) {
      let prev = 0;
      for (const k of [1, 2, Math.ceil(n / 3), Math.ceil(n / 2), n - 1, n]) {
        if (k < 1 || k > n) continue;
        const pl = clopperPearsonLower(k, n, alpha);
        assert.ok(pl >= prev, 'bound increases with k');
        prev = pl;
        assertRel(binomUpperTail(k, n, pl), alpha, 1e-10, `CP(${k},${n},${alpha})`);
      }
    }
  }
  assert.equal(clopperPearsonLower(0, 100, 0.01), 0);
});

test('clopperPearsonLower: known values and closed forms', () => {
  // Two-sided 95% CI for 50/100 is (0.3983211, 0.6016789) (R binom.test); the lower end is the one-sided α = 0.025 bound.
  assert.ok(Math.abs(clopperPearsonLower(50, 100, 0.025) - 0.3983211) < 5e-8);
  // k = n: p^n = α; k = 1: 1 − (1 − p)^n = α.
  assertRel(clopperPearsonLower(100, 100, 1e-3), 1e-3 ** (1 / 100), 1e-15, 'k = n');
  assertRel(clopperPearsonLower(1, 100, 1e-3), -Math.expm1(Math.log1p(-1e-3) / 100), 1e-13, 'k = 1');
  assert.throws(() => clopperPearsonLower(5, 4, 0.05), RangeError);
  assert.throws(() => clopperPearsonLower(1, 4, 0), RangeError);
});
