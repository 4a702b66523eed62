/**
 * Finite-difference gradient checking in float64, for the CPU reference backward passes.
 *
 * The numerical gradient is the central difference
 *   n_i = (f(x + h e_i) - f(x - h e_i)) / (2h)
 * and the error of an analytic gradient a is
 *   maxRelError = max_i |a_i - n_i| / max(|a_i| + |n_i|, floor),   floor = 1e-8 by default
 * (the floor keeps exact zeros, e.g. pooling inputs that are not a maximum, from dividing by 0).
 * With h = 1e-5 and O(1) values the truncation error is ~h^2 = 1e-10 and the rounding error
 * ~1e-16 |f| / h = 1e-11 |f|: a correct backward gives errors far below 1e-6, a wrong one O(1).
 *
 * @module
 */

import type { RandomState } from "../src/random.ts";

/** Result of {@linkcode gradCheck}. */
export interface GradCheckResult {
  /** max_i |a_i - n_i| / max(|a_i| + |n_i|, floor). */
  maxRelError: number;
  /** max_i |a_i - n_i|. */
  maxAbsError: number;
  /** Index of the worst relative error. */
  worstIndex: number;
  /** The numerical gradient. */
  numeric: Float64Array;
}

/**
 * Central-difference gradient of the scalar function `f` at `x` (perturbs `x` in place and
 * restores it exactly).
 *
 * @param f A scalar function of `x`.
 * @param x The point; restored on return.
 * @param h The step (default 1e-5).
 * @returns The numerical gradient, same length as `x`.
 */
export function numericalGradient(
  f: (x: Float64Array) => number,
  x: Float64Array,
  h = 1e-5,
): Float64Array {
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const orig = x[i];
    x[i] = orig + h;
    const fPlus = f(x);
    x[i] = orig - h;
    const fMinus = f(x);
    x[i] = orig;
    grad[i] = (fPlus - fMinus) / (2 * h);
  }
  return grad;
}

/**
 * Compares an analytic gradient with the central-difference gradient of `f` at `x`.
 *
 * @param f A scalar function of `x` (e.g. `sum(op(x) * R)` for a fixed random `R`).
 * @param x The point; restored on return.
 * @param analytic The gradient computed by the backward pass.
 * @param options `h`: the step (default 1e-5); `floor`: denominator floor (default 1e-8).
 * @returns The errors and the numerical gradient.
 */
export function gradCheck(
  f: (x: Float64Array) => number,
  x: Float64Array,
  analytic: ArrayLike<number>,
  options: { h?: number; floor?: number } = {},
): GradCheckResult {
  const { h = 1e-5, floor = 1e-8 } = options;
  if (analytic.length !== x.length) {
    throw new RangeError(
      `gradCheck: analytic must have length ${x.length}, received ${analytic.length}`,
    );
  }
  const numeric = numericalGradient(f, x, h);
  let maxRelError = 0;
  let maxAbsError = 0;
  let worstIndex = 0;
  for (let i = 0; i < x.length; i++) {
    const abs = Math.abs(analytic[i] - numeric[i]);
    let rel = abs / Math.max(Math.abs(analytic[i]) + Math.abs(numeric[i]), floor);
    if (Number.isNaN(rel)) rel = Infinity; // a NaN gradient must fail any bound
    maxAbsError = Math.max(maxAbsError, Number.isNaN(abs) ? Infinity : abs);
    if (rel > maxRelError) {
      maxRelError = rel;
      worstIndex = i;
    }
  }
  return { maxRelError, maxAbsError, worstIndex, numeric };
}

/**
 * `n` float64 values uniform in [low, high), drawn from `rng` (deterministic test data).
 *
 * @param rng The generator.
 * @param n How many values.
 * @param low Lower bound (default -1).
 * @param high Upper bound (default 1).
 * @returns A new Float64Array.
 */
export function randomArray(rng: RandomState, n: number, low = -1, high = 1): Float64Array {
  return rng.uniform(low, high, n);
}

/**
 * `sum_i out[i] * r[i]`: the scalar loss whose gradient w.r.t. `out` is `r`.
 *
 * @param out The op's output.
 * @param r Fixed random weights, same length.
 * @returns The dot product, in float64.
 */
export function dot(out: ArrayLike<number>, r: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i] * r[i];
  return s;
}
