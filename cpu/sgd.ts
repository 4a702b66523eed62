/**
 * Parameter updates: the tutorial's plain SGD, and SGD with momentum as PyTorch's
 * `torch.optim.SGD` (dampening 0, nesterov off): the CPU reference.
 *
 * Dimension letters: one flat parameter array of L elements (any shape).
 *   sgd:      p[k] -= lr * g[k]                          (the tutorial's `param - learning_rate * grad`)
 *   momentum: buf[k] = momentum * buf[k] + g[k];  p[k] -= lr * buf[k]
 *
 * The momentum buffer holds gradients, not steps: PyTorch's `momentum_buffer`. It starts at
 * zero, so the first step's buffer is `g` (PyTorch's `clone(g)`). The older convention
 * `v = momentum * v - lr * g; p += v` agrees with it (`v = -lr * buf`) only while lr is constant;
 * with a changing lr (a schedule) the two differ, and this one is PyTorch's.
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
 * SGD with momentum as PyTorch's `torch.optim.SGD` (dampening 0, nesterov off), in place:
 * `buffer[k] = momentum * buffer[k] + grad[k]`, then `param[k] -= learningRate * buffer[k]`.
 * Start with a zero `buffer` (the first step then uses `grad`, as PyTorch does).
 *
 * @param param Parameters, updated in place.
 * @param grad Gradient of the loss w.r.t. `param`.
 * @param buffer The momentum buffer (PyTorch's `momentum_buffer`), same length, updated in place.
 * @param learningRate The step size of this step (it may change from step to step).
 * @param momentum The decay of the buffer, e.g. 0.9 (0 gives plain SGD).
 * @returns Nothing; `param` and `buffer` are updated.
 * @throws {RangeError} If the lengths differ.
 *
 * @example
 * ```ts
 * import { sgdMomentumUpdate } from "./sgd.ts";
 * import assert from "node:assert";
 *
 * const p = Float64Array.of(0), buf = Float64Array.of(0), g = Float64Array.of(1);
 * sgdMomentumUpdate(p, g, buf, 0.5, 0.5); // buf = 1,   p = 0 - 0.5 * 1 = -0.5
 * sgdMomentumUpdate(p, g, buf, 0.25, 0.5); // buf = 1.5, p = -0.5 - 0.25 * 1.5 = -0.875
 * assert.deepStrictEqual([p[0], buf[0]], [-0.875, 1.5]);
 * ```
 */
export function sgdMomentumUpdate(
  param: FloatArray,
  grad: FloatArray,
  buffer: FloatArray,
  learningRate: number,
  momentum: number,
): void {
  checkLength("sgdMomentumUpdate", "grad", grad, param.length);
  checkLength("sgdMomentumUpdate", "buffer", buffer, param.length);
  for (let k = 0; k < param.length; k++) {
    buffer[k] = momentum * buffer[k] + grad[k];
    param[k] -= learningRate * buffer[k];
  }
}

function checkLength(fn: string, name: string, a: ArrayLike<number>, expected: number): void {
  if (a.length !== expected) {
    throw new RangeError(`${fn}: ${name} must have length ${expected}, received ${a.length}`);
  }
}
