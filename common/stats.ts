/**
 * Double-precision special functions and exact binomial tests for certification.
 *
 * Accuracy goal: relative error ~1e-13 or better deep in the tails (p-values like
 * 1e-30 and below), because those p-values are compared against α/K with K up to
 * millions of pixels. Binomial probabilities therefore use Loader's saddle-point
 * form of the pmf (as R's dbinom does), which has no catastrophic cancellation
 * for any n, instead of exp(logGamma(n+1) - ...) which loses ~|log n!|·1e-16.
 */

const LN_SQRT_2PI = 0.91893853320467274178; // log(sqrt(2π))
const LN_2PI = 1.8378770664093454836;
const SQRT_PI = 1.7724538509055160273;

// Lanczos approximation, g = 7, 9 terms (~1e-15 relative on the real line).
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log|Γ(x)| for real x (not a non-positive integer). */
export function logGamma(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x <= 0 && Number.isInteger(x)) return Infinity;
  if (x < 0.5) {
    // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  }
  if (x >= 15) {
    // Stirling with its correction series: far better than Lanczos for large x.
    return (x - 0.5) * Math.log(x) - x + LN_SQRT_2PI + stirlingSeries(x);
  }
  const z = x - 1;
  let s = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) s += LANCZOS[i] / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return LN_SQRT_2PI + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/** log Γ(x) − [(x − ½)log x − x + log√(2π)] for x ≥ 15: the asymptotic tail. */
function stirlingSeries(x: number): number {
  const x2 = x * x;
  return (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - 1 / (1188 * x2)) / x2) / x2) / x2) / x;
}

/**
 * stirlerr(n) = log n! − log(√(2πn)(n/e)^n), for real n > 0. Direct formula for
 * small n (its absolute error, ~1e-15, is what matters in the exponent), the
 * series otherwise.
 */
function stirlerr(n: number): number {
  if (n > 15) return stirlingSeries(n);
  const logFact = Number.isInteger(n) ? logFactorialSmall(n) : logGamma(n + 1);
  return logFact - (n + 0.5) * Math.log(n) + n - LN_SQRT_2PI;
}

function logFactorialSmall(n: number): number {
  let f = 1;
  for (let i = 2; i <= n; i++) f *= i; // exact in double for n ≤ 18
  return Math.log(f);
}

/** bd0(x, m) = x·log(x/m) + m − x, computed without cancellation when x ≈ m. */
function bd0(x: number, m: number): number {
  if (Math.abs(x - m) < 0.1 * (x + m)) {
    let v = (x - m) / (x + m);
    let s = (x - m) * v;
    let ej = 2 * x * v;
    v = v * v;
    for (let j = 1; j < 1000; j++) {
      ej *= v;
      const s1 = s + ej / (2 * j + 1);
      if (s1 === s) return s1;
      s = s1;
    }
    return s;
  }
  return x * Math.log(x / m) + m - x;
}

/**
 * Binomial pmf C(n,x) p^x q^(n−x) (Loader 2000), for real 0 ≤ x ≤ n with q = 1 − p
 * passed separately so that either can be tiny without rounding.
 */
function dbinomRaw(x: number, n: number, p: number, q: number): number {
  if (p === 0) return x === 0 ? 1 : 0;
  if (q === 0) return x === n ? 1 : 0;
  if (x === 0) {
    if (n === 0) return 1;
    return Math.exp(p < 0.1 ? -bd0(n, n * q) - n * p : n * Math.log(q));
  }
  if (x === n) {
    return Math.exp(q < 0.1 ? -bd0(n, n * p) - n * q : n * Math.log(p));
  }
  if (x < 0 || x > n) return 0;
  const lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(x, n * p) - bd0(n - x, n * q);
  const lf = LN_2PI + Math.log(x) + Math.log1p(-x / n);
  return Math.exp(lc - 0.5 * lf);
}

function checkBinomArgs(n: number, p: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`binomial n must be a non-negative integer, got ${n}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`binomial p must be in [0, 1], got ${p}`);
}

/** P[Binomial(n, p) = k]. */
export function binomPmf(k: number, n: number, p: number): number {
  checkBinomArgs(n, p);
  if (!Number.isInteger(k) || k < 0 || k > n) return 0;
  return dbinomRaw(k, n, p, 1 - p);
}

/**
 * P[Binomial(n, p) ≥ k], exact up to rounding. Method: accurate pmf terms summed
 * from k outwards with the ratio recurrence. Above the mean the upper tail itself is
 * summed (all terms positive, relative error ≲ (terms)·ε even at 1e-300); below the
 * mean the tail is ≥ ~½, so 1 − P[X ≤ k−1] loses nothing that matters.
 */
export function binomUpperTail(k: number, n: number, p: number): number {
  checkBinomArgs(n, p);
  k = Math.ceil(k);
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p === 0) return 0;
  const q = 1 - p;
  if (q === 0) return 1;
  if (k >= n * p) {
    const mode = Math.floor((n + 1) * p);
    let term = dbinomRaw(k, n, p, q);
    let sum = term;
    const ratio = p / q;
    for (let j = k; j < n; j++) {
      term *= ((n - j) / (j + 1)) * ratio;
      sum += term;
      if (j >= mode && term <= sum * 1e-17) break;
    }
    return Math.min(1, sum);
  }
  // Lower tail P[X ≤ k−1], terms decrease going down from k−1 < mean.
  let term = dbinomRaw(k - 1, n, p, q);
  let sum = term;
  const ratio = q / p;
  for (let j = k - 1; j > 0; j--) {
    term *= (j / (n - j + 1)) * ratio;
    sum += term;
    if (term <= sum * 1e-17) break;
  }
  return Math.max(0, 1 - sum);
}

/**
 * SegCertify's per-pixel p-values: entry k = P[Binomial(n, τ) ≥ k], k = 0..n
 * (exact one-sided test of H0: P[f_i = ĉ_i] ≤ τ for a pixel with count k).
 * Guaranteed non-increasing in k, which the linear-time Holm walk relies on.
 */
export function binomPValueTable(n: number, tau: number): Float64Array {
  checkBinomArgs(n, tau);
  const table = new Float64Array(n + 1);
  const q = 1 - tau;
  const pmf = new Float64Array(n + 1);
  for (let j = 0; j <= n; j++) pmf[j] = dbinomRaw(j, n, tau, q);
  // Upper part: cumulative sum from the top (accurate tiny tails).
  const split = Math.min(n, Math.max(0, Math.ceil(n * tau)));
  let acc = 0;
  for (let k = n; k >= split; k--) {
    acc += pmf[k];
    table[k] = acc;
  }
  // Lower part: 1 − P[X ≤ k−1] (the tail here is large, no relative loss).
  let lower = 0;
  for (let k = 1; k < split; k++) {
    lower += pmf[k - 1];
    table[k] = 1 - lower;
  }
  table[0] = 1;
  // Clamp to [0,1] and remove ulp-level non-monotonicity at the seam.
  for (let k = n; k >= 0; k--) {
    let v = Math.min(1, Math.max(0, table[k]));
    if (k < n && v < table[k + 1]) v = table[k + 1];
    table[k] = v;
  }
  return table;
}

/**
 * Φ(x), standard normal CDF, with full relative accuracy in the lower tail
 * (Φ(−37.5) ≈ 4.6e-308 is still right): evaluated as the upper tail Q(|x|).
 */
export function normCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  return x < 0 ? normUpperTail(-x) : 1 - normUpperTail(x);
}

/**
 * Q(x) = 1 − Φ(x) for x ≥ 0. Small x: ½ − ½·erf(x/√2) by Taylor series (Q ≥ 0.3,
 * no cancellation). Otherwise φ(x) times the Mills-ratio continued fraction
 * 1/(x + 1/(x + 2/(x + 3/(x + ...)))), with e^{−x²/2} split as in Cody so the
 * rounding of x² does not cost digits for large x.
 */
function normUpperTail(x: number): number {
  if (x < 0.5) return 0.5 - 0.5 * erfSeries(x / Math.SQRT2);
  if (x > 38.5) return 0; // below the smallest subnormal
  const xs = Math.floor(x * 16) / 16; // xs² exact
  const pdf = Math.exp(-0.5 * xs * xs) * Math.exp(-0.5 * (x - xs) * (x + xs) - LN_SQRT_2PI);
  return pdf * millsRatio(x);
}

/**
 * Mills ratio Q(x)/φ(x) = 1/(x + 1/(x + 2/(x + 3/(x + ...)))), evaluated backwards
 * from a fixed depth: backward evaluation contracts rounding errors (forward Lentz
 * lost ~10 ulps near x ≈ 1.6). The truncation error decays like e^{−2x√(2N)}, so
 * N = 800/x² + 30 terms leave it far below 1e-17 for x ≥ 0.5.
 */
function millsRatio(x: number): number {
  const depth = Math.ceil(800 / (x * x)) + 30;
  let r = 0;
  for (let k = depth; k >= 1; k--) r = k / (x + r);
  return 1 / (x + r);
}

/** erf(y) = 2/√π · Σ (−1)^k y^(2k+1) / (k!(2k+1)); used for small y only. */
function erfSeries(y: number): number {
  const y2 = y * y;
  let term = y;
  let sum = y;
  for (let k = 1; k < 100; k++) {
    term *= -y2 / k;
    const add = term / (2 * k + 1);
    sum += add;
    if (Math.abs(add) <= Math.abs(sum) * 1e-17) break;
  }
  return (2 / SQRT_PI) * sum;
}

/** Standard normal density. */
export function normPdf(x: number): number {
  return Math.exp(-0.5 * x * x - LN_SQRT_2PI);
}

/** Φ⁻¹(p): Wichura's AS241 (PPND16), ~1e-16 relative. p=0 → −∞, p=1 → +∞. */
export function normInv(p: number): number {
  if (!(p >= 0 && p <= 1)) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (
      (q *
        (((((((2.5090809287301226727e3 * r + 3.3430575583588128105e4) * r + 6.7265770927008700853e4) * r + 4.5921953931549871457e4) * r +
          1.3731693765509461125e4) *
          r +
          1.9715909503065514427e3) *
          r +
          1.3314166789178437745e2) *
          r +
          3.387132872796366608)) /
      (((((((5.226495278852854561e3 * r + 2.8729085735721942674e4) * r + 3.930789580009271061e4) * r + 2.1213794301586595867e4) * r +
        5.3941960214247511077e3) *
        r +
        6.871870074920579083e2) *
        r +
        4.2313330701600911252e1) *
        r +
        1)
    );
  }
  let r = q < 0 ? p : 1 - p;
  r = Math.sqrt(-Math.log(r));
  let val: number;
  if (r <= 5) {
    r -= 1.6;
    val =
      (((((((7.7454501427834140764e-4 * r + 2.27238449892691845833e-2) * r + 2.4178072517745061177e-1) * r + 1.27045825245236838258) * r +
        3.64784832476320460504) *
        r +
        5.7694972214606914055) *
        r +
        4.6303378461565452959) *
        r +
        1.42343711074968357734) /
      (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 1.51986665636164571966e-2) * r + 1.4810397642748007459e-1) * r +
        6.8976733498510000455e-1) *
        r +
        1.6763848301838038494) *
        r +
        2.05319162663775882187) *
        r +
        1);
  } else {
    r -= 5;
    val =
      (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 1.2426609473880784386e-3) * r + 2.6532189526576123093e-2) *
        r +
        2.9656057182850489123e-1) *
        r +
        1.7848265399172913358) *
        r +
        5.4637849111641143699) *
        r +
        6.6579046435011037772) /
      (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r + 7.868691311456132591e-4) * r +
        1.4875361290850614852e-2) *
        r +
        1.3692988092273580531e-1) *
        r +
        5.9983220655588793769e-1) *
        r +
        1);
  }
  return polishNormInv(q < 0 ? -val : val, p);
}

/**
 * One Halley step against the accurate tail of Φ: AS241 evaluated in double is a
 * few ulps off; the step brings it to ~1 ulp. Works on the smaller tail so the
 * residual is not swamped by rounding of 1 − Φ.
 */
function polishNormInv(x: number, p: number): number {
  const d = normPdf(x);
  if (!(d > 0)) return x;
  const resid = p < 0.5 ? normUpperTail(-x) - p : 1 - p - normUpperTail(x);
  const r = resid / d;
  return x - r / (1 + 0.5 * x * r);
}

/** log B(a, b). */
export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/**
 * x^a (1−x)^b / B(a, b), via the binomial saddle-point form so that large a, b do
 * not lose digits: it equals dbinomRaw(a, a+b, x, 1−x) · ab/(a+b).
 */
function betaFront(x: number, a: number, b: number, y: number): number {
  return dbinomRaw(a, a + b, x, y) * ((a * b) / (a + b));
}

/** Continued fraction for I_x(a,b) (Numerical Recipes betacf), modified Lentz. */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b) = P[Beta(a,b) ≤ x], a, b > 0. */
export function betaCdf(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw new RangeError(`beta parameters must be positive, got a=${a}, b=${b}`);
  if (Number.isNaN(x)) return NaN;
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const y = 1 - x;
  // The fraction converges fast only on the left of the mean; use symmetry otherwise.
  if (x < (a + 1) / (a + b + 2)) return (betaFront(x, a, b, y) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (betaFront(y, b, a, x) * betaContinuedFraction(y, b, a)) / b;
}

/** Beta(a, b) density. */
export function betaPdf(x: number, a: number, b: number): number {
  if (x < 0 || x > 1) return 0;
  if (x === 0) return a < 1 ? Infinity : a === 1 ? b : 0;
  if (x === 1) return b < 1 ? Infinity : b === 1 ? a : 0;
  // x^(a−1)(1−x)^(b−1)/B(a,b) = front(a,b)/(x(1−x)).
  return betaFront(x, a, b, 1 - x) / (x * (1 - x));
}

/**
 * Inverse of I_x(a, b) in x: the q-quantile of Beta(a, b). Safeguarded Newton on
 * log I_x (well scaled for tiny q, e.g. 1e-30), bracketed so it cannot diverge;
 * q > ½ is mapped to the lower tail of Beta(b, a).
 */
export function betaInv(q: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw new RangeError(`beta parameters must be positive, got a=${a}, b=${b}`);
  if (!(q >= 0 && q <= 1)) throw new RangeError(`betaInv probability must be in [0, 1], got ${q}`);
  if (q === 0) return 0;
  if (q === 1) return 1;
  if (q > 0.5) return 1 - betaInvLower(1 - q, b, a);
  return betaInvLower(q, a, b);
}

function betaInvLower(q: number, a: number, b: number): number {
  const logQ = Math.log(q);
  let lo = 0;
  let hi = 1;
  // Small-x asymptotics I_x ≈ x^a / (a·B(a,b)) gives an excellent start for small q.
  let x = Math.exp((logQ + Math.log(a) + logBeta(a, b)) / a);
  if (!(x > 0 && x < 1)) x = a / (a + b);
  for (let iter = 0; iter < 300; iter++) {
    const cdf = betaCdf(x, a, b);
    if (cdf === q) return x;
    if (cdf < q) lo = x;
    else hi = x;
    const pdf = betaPdf(x, a, b);
    let next = NaN;
    if (cdf > 0 && pdf > 0 && Number.isFinite(pdf)) {
      next = x - ((Math.log(cdf) - logQ) * cdf) / pdf; // Newton on log I_x
    }
    if (!(next > lo && next < hi)) {
      // Bisect, geometrically when the bracket spans orders of magnitude.
      next = lo > 0 && hi / lo > 4 ? Math.sqrt(lo * hi) : lo === 0 ? hi / 16 : 0.5 * (lo + hi);
      if (!(next > lo && next < hi)) return x;
    }
    if (Math.abs(next - x) <= 2e-16 * x) return next;
    x = next;
  }
  return x;
}

/**
 * One-sided Clopper-Pearson lower confidence bound for a binomial proportion at
 * level α: BetaInv(α; k, n−k+1), 0 when k = 0. Dual: P[Bin(n, bound) ≥ k] = α.
 */
export function clopperPearsonLower(k: number, n: number, alpha: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError(`k must be an integer in [0, ${n}], got ${k}`);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (k === 0) return 0;
  if (k === n) return Math.pow(alpha, 1 / n); // closed form: x^n = α
  return betaInv(alpha, k, n - k + 1);
}

/** SegCertify's certified L2 radius R = σ·Φ⁻¹(τ). */
export function certifiedRadius(sigma: number, tau: number): number {
  return sigma * normInv(tau);
}
