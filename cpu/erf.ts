/**
 * The error function in float64, for GELU's CPU reference (`cpu/gelu.ts`):
 *   erf(z)  = 2/sqrt(pi) * integral_0^z exp(-t^2) dt       erfc(z) = 1 - erf(z)
 *   Phi(x)  = P(N(0, 1) <= x) = erfc(-x / sqrt(2)) / 2
 *
 * Method (no table of fitted coefficients, so every digit can be re-derived):
 * - |z| < 2.5: the everywhere-convergent series of positive terms (Abramowitz & Stegun 7.1.6)
 *     erf(z) = 2/sqrt(pi) * exp(-z^2) * sum_n 2^n z^(2n+1) / (1 * 3 * ... * (2n+1)),
 *   summed until a term no longer changes the sum (at most ~45 terms): no cancellation.
 * - z >= 2.5: erfc from the continued fraction of A&S 7.1.14,
 *     erfc(z) = exp(-z^2)/sqrt(pi) * 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + 2/(z + ...))))),
 *   evaluated bottom-up from a fixed depth of 60 (converged to < 1e-17 relative there);
 *   erf = 1 - erfc. Above z = 6, erf rounds to 1 in float64; erfc underflows past z = 27.
 * - exp(-z^2) with z^2 split as hi^2 + (z^2 - hi^2), hi = z rounded to float32 (so hi^2 is
 *   exact), as fdlibm does: the rounding of z^2 would otherwise cost z^2 * 1.1e-16 relative.
 * Checked in tests/gelu_test.ts against reference values to 1e-15 relative, and the two
 * methods against each other where both converge.
 *
 * @module
 */

const TWO_OVER_SQRT_PI = 1.1283791670955126; // 2/sqrt(pi)
const ONE_OVER_SQRT_PI = 0.5641895835477563; // 1/sqrt(pi)

/** exp(-z^2), accurate to a few ulps for any z (z^2 split so that its rounding costs nothing). */
function expMinusSquare(z: number): number {
  const hi = Math.fround(z), lo = z - hi;
  return Math.exp(-hi * hi) * Math.exp(-lo * (hi + z));
}

/** The series of A&S 7.1.6 for 0 <= z < 2.5. */
function erfSeries(z: number): number {
  const z2 = 2 * z * z;
  let term = z, sum = z;
  for (let n = 0; n < 200; n++) {
    term *= z2 / (2 * n + 3);
    const next = sum + term;
    if (next === sum) break;
    sum = next;
  }
  return TWO_OVER_SQRT_PI * expMinusSquare(z) * sum;
}

/** The continued fraction of A&S 7.1.14 for z >= 2.5. */
function erfcFraction(z: number): number {
  let f = z;
  for (let n = 60; n >= 1; n--) f = z + (n / 2) / f;
  return ONE_OVER_SQRT_PI * expMinusSquare(z) / f;
}

/**
 * The error function `erf(z) = 2/sqrt(pi) * integral_0^z exp(-t^2) dt` in float64 (relative
 * error below 1e-15; see the module doc for the method). NaN gives NaN.
 *
 * @param z The argument.
 * @returns erf(z), in [-1, 1].
 *
 * @example
 * ```ts
 * import { erf } from "./erf.ts";
 * import assert from "node:assert";
 *
 * assert.ok(Math.abs(erf(1) / 0.8427007929497149 - 1) < 1e-15);
 * assert.strictEqual(erf(-10), -1);
 * ```
 */
export function erf(z: number): number {
  const a = Math.abs(z);
  if (!(a < 2.5)) {
    if (Number.isNaN(z)) return NaN;
    const r = a > 6 ? 1 : 1 - erfcFraction(a);
    return z < 0 ? -r : r;
  }
  const r = erfSeries(a);
  return z < 0 ? -r : r;
}

/**
 * The complementary error function `erfc(z) = 1 - erf(z)` in float64, without the
 * cancellation of `1 - erf(z)` for large z: relative error below 1e-15 for z >= 2.5 (the
 * continued fraction), absolute error below 3e-16 below (`1 - erf(z)`, erfc > 4e-4 there).
 *
 * @param z The argument.
 * @returns erfc(z), in [0, 2].
 *
 * @example
 * ```ts
 * import { erfc } from "./erf.ts";
 * import assert from "node:assert";
 *
 * assert.ok(Math.abs(erfc(5) / 1.5374597944280349e-12 - 1) < 1e-15);
 * ```
 */
export function erfc(z: number): number {
  if (z >= 2.5) return erfcFraction(z);
  return 1 - erf(z);
}

/**
 * The standard normal distribution function `Phi(x) = erfc(-x / sqrt(2)) / 2` in float64,
 * from whichever of erf and erfc has no cancellation.
 *
 * @param x The argument.
 * @returns P(N(0, 1) <= x).
 *
 * @example
 * ```ts
 * import { normalCdf } from "./erf.ts";
 * console.log(normalCdf(0)); // 0.5
 * ```
 */
export function normalCdf(x: number): number {
  const z = x * Math.SQRT1_2;
  return z >= 0 ? 0.5 + 0.5 * erf(z) : 0.5 * erfc(-z);
}
