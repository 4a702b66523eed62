/**
 * Elementwise hyperbolic tangent, the activation of the tutorial's conv-pool and hidden layers:
 * the CPU reference.
 *
 * Dimension letters: one flat array of L elements (any shape).
 *   out[k] = tanh(x[k])        dx[k] = dOut[k] * (1 - y[k]^2),  y = the forward output
 *
 * @module
 */

import type { FloatArray } from "./types.ts";
import { backwardLoop, forwardLoop } from "../src/activations.ts";

// The loops come from the table entry ACTIVATIONS.tanh in src/activations.ts, which also
// generates the WebGPU kernels tanh_forward and tanh_backward.
const forward = forwardLoop("tanh");
const backward = backwardLoop("tanh");

/**
 * Forward pass: `out[k] = tanh(x[k])` (`Math.tanh`, exact to the last bits and saturating to
 * +-1 for large |x|). `out` may be `x` (in place).
 *
 * @param out Output, overwritten; same length as `x`.
 * @param x Input.
 * @returns Nothing; the result is written to `out`.
 * @throws {RangeError} If the lengths differ.
 *
 * @example
 * ```ts
 * import { tanhForward } from "./tanh.ts";
 * import assert from "node:assert";
 *
 * const out = new Float64Array(3);
 * tanhForward(out, Float64Array.of(0, 1000, -1000));
 * assert.deepStrictEqual(Array.from(out), [0, 1, -1]);
 * ```
 */
export function tanhForward(out: FloatArray, x: FloatArray): void {
  forward(out, x);
}

/**
 * Backward pass from the forward OUTPUT: `dx[k] = dOut[k] * (1 - y[k]^2)`. Overwrites `dx`,
 * which may be `dOut` (in place).
 *
 * @param dx Gradient w.r.t. the input, overwritten.
 * @param dOut Gradient w.r.t. the output.
 * @param y The forward output `tanh(x)`.
 * @returns Nothing; the gradient is written to `dx`.
 * @throws {RangeError} If the lengths differ.
 *
 * @example
 * ```ts
 * import { tanhBackward } from "./tanh.ts";
 * import assert from "node:assert";
 *
 * const dx = new Float64Array(2);
 * tanhBackward(dx, Float64Array.of(2, 2), Float64Array.of(0, 0.5));
 * assert.deepStrictEqual(Array.from(dx), [2, 1.5]);
 * ```
 */
export function tanhBackward(dx: FloatArray, dOut: FloatArray, y: FloatArray): void {
  backward(dx, dOut, y);
}
