/**
 * The Adam optimiser, PyTorch's `torch.optim.Adam` (weight decay as an L2 term added to the
 * gradient) and `torch.optim.AdamW` (decoupled weight decay), amsgrad off: the CPU reference.
 *
 * Dimension letters: one flat parameter array of L elements (any shape); m, v of the same length
 * (zero before the first step); t = the 1-based step number.
 *   g    = grad[k] + (decoupled ? 0 : wd * p[k])
 *   m[k] = beta1 * m[k] + (1 - beta1) * g
 *   v[k] = beta2 * v[k] + (1 - beta2) * g^2
 *   if decoupled: p[k] = p[k] * (1 - lr * wd)
 *   p[k] -= lr * (m[k] * c1) / (sqrt(v[k] * c2) + eps),   c1 = 1 / (1 - beta1^t), c2 = 1 / (1 - beta2^t)
 * The bias corrections c1, c2 are computed once per step on the host in float64
 * ({@linkcode adamCorrections}) and passed to every backend. At t = 1, m * c1 = g and
 * v * c2 = g^2: the first step moves each parameter by lr * g / (|g| + eps), about lr * sign(g).
 * PyTorch's defaults: lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-8, weight decay 0 (Adam), 1e-2 (AdamW).
 *
 * @module
 */

import type { FloatArray } from "./types.ts";

/** Hyper-parameters of one Adam step. */
export interface AdamOptions {
  /** lr, the step size. */
  learningRate: number;
  /** beta1, the decay of the first moment m, in [0, 1). */
  beta1: number;
  /** beta2, the decay of the second moment v, in [0, 1). */
  beta2: number;
  /** eps, added to sqrt(v) in the denominator. */
  epsilon: number;
  /** wd, the weight decay (0 for none). */
  weightDecay: number;
  /** True: AdamW's decoupled decay `p *= 1 - lr * wd`; false: Adam's L2 term `g += wd * p`. */
  decoupled: boolean;
  /** t, the 1-based step number since m and v were zero. */
  step: number;
}

/**
 * The bias corrections of step t: `c1 = 1 / (1 - beta1^t)`, `c2 = 1 / (1 - beta2^t)` (float64).
 *
 * @param beta1 The decay of the first moment, in [0, 1).
 * @param beta2 The decay of the second moment, in [0, 1).
 * @param step t, a positive integer.
 * @returns `{ c1, c2 }`.
 * @throws {RangeError} If a beta is not in [0, 1) or `step` is not a positive integer.
 *
 * @example At t = 1 the corrections undo the (1 - beta) factors
 * ```ts
 * import { adamCorrections } from "./adam.ts";
 * import assert from "node:assert";
 *
 * const { c1, c2 } = adamCorrections(0.5, 0.75, 1);
 * assert.deepStrictEqual([c1, c2], [2, 4]);
 * assert.deepStrictEqual(adamCorrections(0.5, 0.75, 2), { c1: 1 / 0.75, c2: 1 / (1 - 0.5625) });
 * ```
 */
export function adamCorrections(
  beta1: number,
  beta2: number,
  step: number,
): { c1: number; c2: number } {
  for (const [name, b] of [["beta1", beta1], ["beta2", beta2]] as const) {
    if (!(b >= 0 && b < 1)) {
      throw new RangeError(`adam: ${name} must be in [0, 1), received ${b}`);
    }
  }
  if (!Number.isInteger(step) || step < 1) {
    throw new RangeError(`adam: step must be a positive integer (1-based), received ${step}`);
  }
  return { c1: 1 / (1 - beta1 ** step), c2: 1 / (1 - beta2 ** step) };
}

/**
 * One Adam (or AdamW) step, in place on `param`, `m` and `v` (see the module formula).
 *
 * @param param Parameters, updated in place.
 * @param grad Gradient of the loss w.r.t. `param`.
 * @param m First moment, same length, updated in place (zero before step 1).
 * @param v Second moment, same length, updated in place (zero before step 1).
 * @param o The hyper-parameters and the step number.
 * @returns Nothing; `param`, `m`, `v` are updated.
 * @throws {RangeError} If the lengths differ, a beta is not in [0, 1), the step is not a positive integer, or lr, eps, wd are negative or not finite.
 *
 * @example The first step moves each parameter by about lr * sign(g)
 * ```ts
 * import { adamUpdate } from "./adam.ts";
 * import assert from "node:assert";
 *
 * const p = Float64Array.of(1, 1, 1), m = new Float64Array(3), v = new Float64Array(3);
 * adamUpdate(p, Float64Array.of(0.5, -20, 0), m, v, {
 *   learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, decoupled: false, step: 1,
 * });
 * assert.ok(Math.abs(p[0] - 0.9) < 1e-7 && Math.abs(p[1] - 1.1) < 1e-7);
 * assert.strictEqual(p[2], 1); // no gradient, no move
 * ```
 */
export function adamUpdate(
  param: FloatArray,
  grad: FloatArray,
  m: FloatArray,
  v: FloatArray,
  o: AdamOptions,
): void {
  checkLength("adamUpdate", "grad", grad, param.length);
  checkLength("adamUpdate", "m", m, param.length);
  checkLength("adamUpdate", "v", v, param.length);
  for (const k of ["learningRate", "epsilon", "weightDecay"] as const) {
    if (!(o[k] >= 0 && o[k] < Infinity)) {
      throw new RangeError(`adamUpdate: ${k} must be a finite number >= 0, received ${o[k]}`);
    }
  }
  const { c1, c2 } = adamCorrections(o.beta1, o.beta2, o.step);
  const { learningRate: lr, beta1: b1, beta2: b2, epsilon: eps, weightDecay: wd } = o;
  const l2 = o.decoupled ? 0 : wd;
  const decay = o.decoupled ? 1 - lr * wd : 1;
  for (let k = 0; k < param.length; k++) {
    const g = grad[k] + l2 * param[k];
    m[k] = b1 * m[k] + (1 - b1) * g;
    v[k] = b2 * v[k] + (1 - b2) * g * g;
    if (o.decoupled) param[k] = param[k] * decay;
    param[k] -= lr * (m[k] * c1) / (Math.sqrt(v[k] * c2) + eps);
  }
}

function checkLength(fn: string, name: string, a: ArrayLike<number>, expected: number): void {
  if (a.length !== expected) {
    throw new RangeError(`${fn}: ${name} must have length ${expected}, received ${a.length}`);
  }
}
