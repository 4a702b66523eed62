/**
 * Gaussian error linear unit, PyTorch's `torch.nn.GELU(approximate="none" | "tanh")`: the CPU
 * reference, in float64 (its `erf` is `cpu/erf.ts`, relative error below 1e-15).
 *
 * Dimension letters: one flat array of L elements (any shape); x = the forward INPUT.
 *   "none":  out[k] = x Phi(x) = 0.5 x (1 + erf(x / sqrt(2)))
 *            dx[k]  = dOut[k] (Phi(x) + x phi(x)),   phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
 *   "tanh":  out[k] = 0.5 x (1 + tanh(u)) = x s,    u = sqrt(2/pi) (x + 0.044715 x^3),
 *                                                   s = (1 + tanh(u)) / 2 = sigmoid(2u)
 *            dx[k]  = dOut[k] (s + 2 x s (1 - s) sqrt(2/pi) (1 + 3 * 0.044715 x^2))
 * Both sigmoid(2u) and Phi are taken without cancellation (sigmoid's two branches; Phi from erfc
 * for x < 0). The loops come from the table entries ACTIVATIONS.gelu and ACTIVATIONS.gelu_tanh
 * in src/activations.ts, which also generate the WebGPU kernels gelu_* and gelu_tanh_*.
 *
 * @module
 */

import type { FloatArray } from "./types.ts";
import { backwardLoop, forwardLoop } from "../src/activations.ts";

const forward = forwardLoop("gelu");
const backward = backwardLoop("gelu");
const forwardTanh = forwardLoop("gelu_tanh");
const backwardTanh = backwardLoop("gelu_tanh");

/**
 * Forward pass of exact GELU: `out[k] = x[k] * Phi(x[k])`. `out` may be `x` (in place).
 *
 * @param out Output, overwritten; same length as `x`.
 * @param x Input.
 * @returns Nothing; the result is written to `out`.
 * @throws {RangeError} If the lengths differ.
 *
 * @example
 * ```ts
 * import { geluForward } from "./gelu.ts";
 * import assert from "node:assert";
 *
 * const out = new Float64Array(3);
 * geluForward(out, Float64Array.of(0, 1, -40));
 * assert.ok(Math.abs(out[1] - 0.8413447460685429) < 1e-15); // Phi(1)
 * assert.deepStrictEqual([out[0], Math.abs(out[2])], [0, 0]);
 * ```
 */
export function geluForward(out: FloatArray, x: FloatArray): void {
  forward(out, x);
}

/**
 * Backward pass of exact GELU from the forward INPUT: `dx[k] = dOut[k] * (Phi(x) + x phi(x))`.
 * Overwrites `dx`, which may be `dOut` (in place).
 *
 * @param dx Gradient w.r.t. the input, overwritten.
 * @param dOut Gradient w.r.t. the output.
 * @param x The forward input.
 * @returns Nothing; the gradient is written to `dx`.
 * @throws {RangeError} If the lengths differ.
 *
 * @example
 * ```ts
 * import { geluBackward } from "./gelu.ts";
 * import assert from "node:assert";
 *
 * const dx = new Float64Array(1);
 * geluBackward(dx, Float64Array.of(2), Float64Array.of(0));
 * assert.deepStrictEqual(Array.from(dx), [1]); // 2 * Phi(0)
 * ```
 */
export function geluBackward(dx: FloatArray, dOut: FloatArray, x: FloatArray): void {
  backward(dx, dOut, x);
}

/**
 * Forward pass of tanh-approximated GELU: `out[k] = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715
 * x^3)))`, as `x * sigmoid(2u)`. `out` may be `x` (in place).
 *
 * @param out Output, overwritten; same length as `x`.
 * @param x Input.
 * @returns Nothing; the result is written to `out`.
 * @throws {RangeError} If the lengths differ.
 *
 * @example
 * ```ts
 * import { geluTanhForward } from "./gelu.ts";
 * import assert from "node:assert";
 *
 * const out = new Float64Array(1);
 * geluTanhForward(out, Float64Array.of(1));
 * const u = Math.sqrt(2 / Math.PI) * 1.044715;
 * assert.ok(Math.abs(out[0] - 0.5 * (1 + Math.tanh(u))) < 1e-15);
 * ```
 */
export function geluTanhForward(out: FloatArray, x: FloatArray): void {
  forwardTanh(out, x);
}

/**
 * Backward pass of tanh-approximated GELU from the forward INPUT, its exact derivative:
 * `dx[k] = dOut[k] * (s + 2 x s (1 - s) sqrt(2/pi) (1 + 3 * 0.044715 x^2))`, `s = sigmoid(2u)`.
 * Overwrites `dx`, which may be `dOut` (in place).
 *
 * @param dx Gradient w.r.t. the input, overwritten.
 * @param dOut Gradient w.r.t. the output.
 * @param x The forward input.
 * @returns Nothing; the gradient is written to `dx`.
 * @throws {RangeError} If the lengths differ.
 *
 * @example
 * ```ts
 * import { geluTanhBackward } from "./gelu.ts";
 * import assert from "node:assert";
 *
 * const dx = new Float64Array(1);
 * geluTanhBackward(dx, Float64Array.of(3), Float64Array.of(0));
 * assert.deepStrictEqual(Array.from(dx), [1.5]); // 3 * 0.5
 * ```
 */
export function geluTanhBackward(dx: FloatArray, dOut: FloatArray, x: FloatArray): void {
  backwardTanh(dx, dOut, x);
}
