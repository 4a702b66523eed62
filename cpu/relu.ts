/**
 * Elementwise rectified linear unit, PyTorch's `torch.nn.ReLU`: the CPU reference.
 *
 * Dimension letters: one flat array of L elements (any shape).
 *   out[k] = x[k] < 0 ? 0 : x[k]           (NaN propagates, as in PyTorch)
 *   dx[k]  = y[k] > 0 ? dOut[k] : 0        (y = the forward output; PyTorch's `threshold_backward`
 *                                           on the output: the gradient at x = 0 is 0)
 *
 * @module
 */

import type { FloatArray } from "./types.ts";
import { backwardLoop, forwardLoop } from "../src/activations.ts";

// The loops come from the table entry ACTIVATIONS.relu in src/activations.ts, which also
// generates the WebGPU kernels relu_forward and relu_backward.
const forward = forwardLoop("relu");
const backward = backwardLoop("relu");

/**
 * Forward pass: `out[k] = x[k] < 0 ? 0 : x[k]`. A NaN input gives NaN (the comparison is false),
 * as PyTorch's `relu` does. `out` may be `x` (in place).
 *
 * @param out Output, overwritten; same length as `x`.
 * @param x Input.
 * @returns Nothing; the result is written to `out`.
 * @throws {RangeError} If the lengths differ.
 *
 * @example
 * ```ts
 * import { reluForward } from "./relu.ts";
 * import assert from "node:assert";
 *
 * const out = new Float64Array(4);
 * reluForward(out, Float64Array.of(-2, 0, 3, NaN));
 * assert.deepStrictEqual(Array.from(out), [0, 0, 3, NaN]);
 * ```
 */
export function reluForward(out: FloatArray, x: FloatArray): void {
  forward(out, x);
}

/**
 * Backward pass from the forward OUTPUT: `dx[k] = y[k] > 0 ? dOut[k] : 0` (zero gradient at
 * y = 0, as PyTorch's `threshold_backward(dOut, y, 0)`). Overwrites `dx`, which may be `dOut`.
 *
 * @param dx Gradient w.r.t. the input, overwritten.
 * @param dOut Gradient w.r.t. the output.
 * @param y The forward output `relu(x)`.
 * @returns Nothing; the gradient is written to `dx`.
 * @throws {RangeError} If the lengths differ.
 *
 * @example
 * ```ts
 * import { reluBackward } from "./relu.ts";
 * import assert from "node:assert";
 *
 * const dx = new Float64Array(3);
 * reluBackward(dx, Float64Array.of(5, 5, 5), Float64Array.of(0, 2, 0.5));
 * assert.deepStrictEqual(Array.from(dx), [0, 5, 5]);
 * ```
 */
export function reluBackward(dx: FloatArray, dOut: FloatArray, y: FloatArray): void {
  backward(dx, dOut, y);
}
