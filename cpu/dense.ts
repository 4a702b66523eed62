/**
 * Fully-connected (dense) layer, the tutorial's `HiddenLayer`/`LogisticRegression` affine part:
 * the CPU reference.
 *
 * Dimension letters, used throughout:
 *   B batch, I input features, J output features.
 *   x [B, I]   w [I, J] (the tutorial's `(n_in, n_out)` layout)   b [J]   out [B, J]
 *   out[n,j] = b[j] + sum_i x[n,i] * w[i,j]        (out = x . W + b)
 *
 * @module
 */

import type { FloatArray } from "./types.ts";

/** Shape of a dense layer: input `[batch, inFeatures]`, weights `[inFeatures, outFeatures]`. */
export interface DenseShape {
  /** B: rows of the mini-batch. */
  batch: number;
  /** I: input features (`n_in`). */
  inFeatures: number;
  /** J: output features (`n_out`). */
  outFeatures: number;
}

/**
 * Forward pass: `out[n,j] = b[j] + sum_i x[n,i] * w[i,j]`.
 *
 * @param out Output `[B, J]`, overwritten.
 * @param x Input `[B, I]`.
 * @param w Weights `[I, J]`.
 * @param b Bias `[J]`.
 * @param s The layer shape.
 * @returns Nothing; the result is written to `out`.
 * @throws {RangeError} If an array length does not match the shape.
 *
 * @example
 * ```ts
 * import { denseForward } from "./dense.ts";
 * import assert from "node:assert";
 *
 * const out = new Float64Array(2);
 * // x = [1, 2], W = [[1, 2], [3, 4]], b = [10, 20]
 * denseForward(out, Float64Array.of(1, 2), Float64Array.of(1, 2, 3, 4), Float64Array.of(10, 20), {
 *   batch: 1, inFeatures: 2, outFeatures: 2,
 * });
 * assert.deepStrictEqual(Array.from(out), [17, 30]);
 * ```
 */
export function denseForward(
  out: FloatArray,
  x: FloatArray,
  w: FloatArray,
  b: FloatArray,
  s: DenseShape,
): void {
  const { batch: B, inFeatures: I, outFeatures: J } = checkShape(s);
  checkLength("denseForward", "out", out, B * J);
  checkLength("denseForward", "x", x, B * I);
  checkLength("denseForward", "w", w, I * J);
  checkLength("denseForward", "b", b, J);
  for (let n = 0; n < B; n++) {
    for (let j = 0; j < J; j++) {
      let sum = b[j];
      for (let i = 0; i < I; i++) sum += x[n * I + i] * w[i * J + j];
      out[n * J + j] = sum;
    }
  }
}

/**
 * Backward pass. Overwrites (does not accumulate into) `dx`, `dw` and `db`:
 *   dx[n,i] = sum_j dOut[n,j] * w[i,j]
 *   dw[i,j] = sum_n x[n,i] * dOut[n,j]
 *   db[j]   = sum_n dOut[n,j]
 *
 * @param dx Gradient w.r.t. the input `[B, I]`, overwritten; `null` skips it.
 * @param dw Gradient w.r.t. the weights `[I, J]`, overwritten.
 * @param db Gradient w.r.t. the bias `[J]`, overwritten.
 * @param dOut Gradient w.r.t. the output `[B, J]`.
 * @param x The forward input `[B, I]`.
 * @param w The weights `[I, J]`.
 * @param s The layer shape.
 * @returns Nothing; the gradients are written to `dx`, `dw`, `db`.
 * @throws {RangeError} If an array length does not match the shape.
 *
 * @example
 * ```ts
 * import { denseBackward } from "./dense.ts";
 * import assert from "node:assert";
 *
 * const dx = new Float64Array(2), dw = new Float64Array(4), db = new Float64Array(2);
 * const x = Float64Array.of(1, 2), w = Float64Array.of(1, 2, 3, 4);
 * denseBackward(dx, dw, db, Float64Array.of(1, -1), x, w, { batch: 1, inFeatures: 2, outFeatures: 2 });
 * assert.deepStrictEqual(Array.from(dx), [-1, -1]);
 * assert.deepStrictEqual(Array.from(dw), [1, -1, 2, -2]);
 * assert.deepStrictEqual(Array.from(db), [1, -1]);
 * ```
 */
export function denseBackward(
  dx: FloatArray | null,
  dw: FloatArray,
  db: FloatArray,
  dOut: FloatArray,
  x: FloatArray,
  w: FloatArray,
  s: DenseShape,
): void {
  const { batch: B, inFeatures: I, outFeatures: J } = checkShape(s);
  if (dx !== null) checkLength("denseBackward", "dx", dx, B * I);
  checkLength("denseBackward", "dw", dw, I * J);
  checkLength("denseBackward", "db", db, J);
  checkLength("denseBackward", "dOut", dOut, B * J);
  checkLength("denseBackward", "x", x, B * I);
  checkLength("denseBackward", "w", w, I * J);
  for (let j = 0; j < J; j++) {
    let sum = 0;
    for (let n = 0; n < B; n++) sum += dOut[n * J + j];
    db[j] = sum;
  }
  for (let i = 0; i < I; i++) {
    for (let j = 0; j < J; j++) {
      let sum = 0;
      for (let n = 0; n < B; n++) sum += x[n * I + i] * dOut[n * J + j];
      dw[i * J + j] = sum;
    }
  }
  if (dx === null) return;
  for (let n = 0; n < B; n++) {
    for (let i = 0; i < I; i++) {
      let sum = 0;
      for (let j = 0; j < J; j++) sum += dOut[n * J + j] * w[i * J + j];
      dx[n * I + i] = sum;
    }
  }
}

function checkShape(s: DenseShape): DenseShape {
  for (const k of ["batch", "inFeatures", "outFeatures"] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 1) {
      throw new RangeError(`dense: ${k} must be a positive integer, received ${s[k]}`);
    }
  }
  return s;
}

function checkLength(fn: string, name: string, a: ArrayLike<number>, expected: number): void {
  if (a.length !== expected) {
    throw new RangeError(`${fn}: ${name} must have length ${expected}, received ${a.length}`);
  }
}
