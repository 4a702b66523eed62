/**
 * Row-wise softmax (the tutorial's `LogisticRegression.p_y_given_x`): the CPU reference.
 *
 * Dimension letters, used throughout:
 *   B batch (rows), K classes (columns).   logits [B, K]   out [B, K]
 *   out[n,k] = exp(z[n,k] - m[n]) / sum_j exp(z[n,j] - m[n]),  m[n] = max_j z[n,j]
 *
 * The backward pass is fused with the loss: see `softmaxNllBackward` in `nll.ts`.
 *
 * @module
 */

import type { FloatArray } from "./types.ts";

/**
 * Softmax of each row, numerically stable: the row maximum is subtracted before `exp`, so every
 * exponent is <= 0 and logits like 1e4 give finite probabilities. The row sum is accumulated in
 * float64. `out` may be `logits` (in place).
 *
 * @param out Probabilities `[B, K]`, overwritten.
 * @param logits Scores `[B, K]`.
 * @param batch B, the number of rows.
 * @param classes K, the number of columns.
 * @returns Nothing; the result is written to `out`.
 * @throws {RangeError} If an array length is not `batch * classes`.
 *
 * @example
 * ```ts
 * import { softmaxForward } from "./softmax.ts";
 * import assert from "node:assert";
 *
 * const p = new Float64Array(3);
 * softmaxForward(p, Float64Array.of(1e4, 0, -1e4), 1, 3);
 * assert.deepStrictEqual(Array.from(p), [1, 0, 0]);
 * ```
 */
export function softmaxForward(
  out: FloatArray,
  logits: FloatArray,
  batch: number,
  classes: number,
): void {
  checkDims("softmaxForward", batch, classes);
  checkLength("softmaxForward", "out", out, batch * classes);
  checkLength("softmaxForward", "logits", logits, batch * classes);
  for (let n = 0; n < batch; n++) {
    const row = n * classes;
    let max = logits[row];
    for (let k = 1; k < classes; k++) max = Math.max(max, logits[row + k]);
    let sum = 0;
    for (let k = 0; k < classes; k++) {
      const e = Math.exp(logits[row + k] - max);
      out[row + k] = e;
      sum += e;
    }
    for (let k = 0; k < classes; k++) out[row + k] /= sum;
  }
}

function checkDims(fn: string, batch: number, classes: number): void {
  if (!Number.isInteger(batch) || batch < 1 || !Number.isInteger(classes) || classes < 1) {
    throw new RangeError(
      `${fn}: batch and classes must be positive integers, received ${batch}, ${classes}`,
    );
  }
}

function checkLength(fn: string, name: string, a: ArrayLike<number>, expected: number): void {
  if (a.length !== expected) {
    throw new RangeError(`${fn}: ${name} must have length ${expected}, received ${a.length}`);
  }
}
