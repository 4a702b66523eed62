/**
 * Elementwise logistic sigmoid (the tutorial's `T.nnet.sigmoid`, an alternative activation of the
 * hidden layer): the CPU reference.
 *
 * Dimension letters: one flat array of L elements (any shape).
 *   out[k] = 1 / (1 + exp(-x[k]))        dx[k] = dOut[k] * y[k] * (1 - y[k]),  y = the forward output
 *
 * @module
 */

import type { FloatArray } from "./types.ts";
import { backwardLoop, forwardLoop } from "../src/activations.ts";

// The loops come from the table entry ACTIVATIONS.sigmoid in src/activations.ts, which also
// generates the WebGPU kernels sigmoid_forward and sigmoid_backward.
const forward = forwardLoop("sigmoid");
const backward = backwardLoop("sigmoid");

/**
 * Forward pass: `out[k] = 1 / (1 + exp(-x[k]))`, evaluated without overflow: for x < 0 it
 * computes `e / (1 + e)` with `e = exp(x)`, so `exp` never gets a positive argument (the naive
 * form overflows `exp` to Infinity for x < -709 in float64, x < -88 in float32; GPU kernels should
 * use the same split). `out` may be `x` (in place).
 *
 * @param out Output, overwritten; same length as `x`.
 * @param x Input.
 * @returns Nothing; the result is written to `out`.
 * @throws {RangeError} If the lengths differ.
 *
 * @example
 * ```ts
 * import { sigmoidForward } from "./sigmoid.ts";
 * import assert from "node:assert";
 *
 * const out = new Float64Array(3);
 * sigmoidForward(out, Float64Array.of(0, 1000, -1000));
 * assert.deepStrictEqual(Array.from(out), [0.5, 1, 0]);
 * ```
 */
export function sigmoidForward(out: FloatArray, x: FloatArray): void {
  forward(out, x);
}

/**
 * Backward pass from the forward OUTPUT: `dx[k] = dOut[k] * y[k] * (1 - y[k])`. Overwrites `dx`,
 * which may be `dOut` (in place).
 *
 * @param dx Gradient w.r.t. the input, overwritten.
 * @param dOut Gradient w.r.t. the output.
 * @param y The forward output `sigmoid(x)`.
 * @returns Nothing; the gradient is written to `dx`.
 * @throws {RangeError} If the lengths differ.
 *
 * @example
 * ```ts
 * import { sigmoidBackward } from "./sigmoid.ts";
 * import assert from "node:assert";
 *
 * const dx = new Float64Array(1);
 * sigmoidBackward(dx, Float64Array.of(2), Float64Array.of(0.5));
 * assert.deepStrictEqual(Array.from(dx), [0.5]);
 * ```
 */
export function sigmoidBackward(dx: FloatArray, dOut: FloatArray, y: FloatArray): void {
  backward(dx, dOut, y);
}
