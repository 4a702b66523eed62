/**
 * Parameter updates: the tutorial's plain SGD, and classical momentum: the CPU reference.
 *
 * Dimension letters: one flat parameter array of L elements (any shape).
 *   sgd:      p[k] -= lr * g[k]                          (the tutorial's `param - learning_rate * grad`)
 *   momentum: v[k] = momentum * v[k] - lr * g[k];  p[k] += v[k]
 *
 * @module
 */

import type { FloatArray } from "./types.ts";

/**
 * Plain SGD step, in place: `param[k] -= learningRate * grad[k]`.
 *
 * @param param Parameters, updated in place.
 * @param grad Gradient of the loss w.r.t. `param`.
 * @param learningRate The step size (the tutorial uses 0.1).
 * @returns Nothing; `param` is updated.
 * @throws {RangeError} If the lengths differ.
 *
 * @example
 * ```ts
 * import { sgdUpdate } from "./sgd.ts";
 * import assert from "node:assert";
 *
 * const p = Float64Array.of(1, 2);
 * sgdUpdate(p, Float64Array.of(10, -10), 0.5);
 * assert.deepStrictEqual(Array.from(p), [-4, 7]);
 * ```
 */
export function sgdUpdate(param: FloatArray, grad: FloatArray, learningRate: number): void {
  checkLength("sgdUpdate", "grad", grad, param.length);
  for (let k = 0; k < param.length; k++) param[k] -= learningRate * grad[k];
}

/**
 * SGD with classical momentum, in place: `velocity[k] = momentum * velocity[k] - learningRate *
 * grad[k]`, then `param[k] += velocity[k]`. Start with a zero `velocity`.
 *
 * @param param Parameters, updated in place.
 * @param grad Gradient of the loss w.r.t. `param`.
 * @param velocity Running velocity, same length, updated in place.
 * @param learningRate The step size.
 * @param momentum The decay of the velocity, e.g. 0.9 (0 gives plain SGD).
 * @returns Nothing; `param` and `velocity` are updated.
 * @throws {RangeError} If the lengths differ.
 *
 * @example
 * ```ts
 * import { sgdMomentumUpdate } from "./sgd.ts";
 * import assert from "node:assert";
 *
 * const p = Float64Array.of(0), v = Float64Array.of(0), g = Float64Array.of(1);
 * sgdMomentumUpdate(p, g, v, 0.5, 0.5); // v = -0.5,  p = -0.5
 * sgdMomentumUpdate(p, g, v, 0.5, 0.5); // v = -0.75, p = -1.25
 * assert.deepStrictEqual([p[0], v[0]], [-1.25, -0.75]);
 * ```
 */
export function sgdMomentumUpdate(
  param: FloatArray,
  grad: FloatArray,
  velocity: FloatArray,
  learningRate: number,
  momentum: number,
): void {
  checkLength("sgdMomentumUpdate", "grad", grad, param.length);
  checkLength("sgdMomentumUpdate", "velocity", velocity, param.length);
  for (let k = 0; k < param.length; k++) {
    velocity[k] = momentum * velocity[k] - learningRate * grad[k];
    param[k] += velocity[k];
  }
}

function checkLength(fn: string, name: string, a: ArrayLike<number>, expected: number): void {
  if (a.length !== expected) {
    throw new RangeError(`${fn}: ${name} must have length ${expected}, received ${a.length}`);
  }
}
