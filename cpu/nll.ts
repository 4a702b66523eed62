/**
 * The tutorial's `LogisticRegression` cost and error rate, computed from LOGITS: the CPU reference.
 *
 * Dimension letters, used throughout:
 *   B batch (rows), K classes.   logits z [B, K]   labels y [B] (integers in [0, K))
 *   loss       = (1/B) sum_n ( logsumexp(z[n,:]) - z[n,y[n]] )   = -mean(log softmax(z)[n, y[n]])
 *   dLogits    = (softmax(z) - onehot(y)) / B                    (softmax and NLL fused)
 *   errorCount = #{ n : argmax_k z[n,k] != y[n] }               (first maximum wins)
 *
 * The tutorial's `negative_log_likelihood` is the mean loss; its `errors` is `errorCount / B`.
 *
 * @module
 */

import type { FloatArray } from "./types.ts";

/**
 * Mean negative log-likelihood of the labels under `softmax(logits)`, computed stably as
 * `logsumexp(z) - z_y` (row max subtracted first) with float64 accumulation, so large logits
 * give a finite loss.
 *
 * @param logits Scores `[B, K]`.
 * @param labels Class of each row, `B` integers in `[0, K)`.
 * @param batch B, the number of rows.
 * @param classes K, the number of classes.
 * @returns The mean loss over the batch (a float64 number).
 * @throws {RangeError} If a length does not match or a label is outside `[0, classes)`.
 *
 * @example
 * ```ts
 * import { nllLoss } from "./nll.ts";
 * import assert from "node:assert";
 *
 * // uniform logits: the loss is log(K)
 * assert.strictEqual(nllLoss(new Float64Array(4), [3], 1, 4), Math.log(4));
 * // a confident wrong answer: about 1e4, not Infinity
 * assert.strictEqual(nllLoss(Float64Array.of(1e4, 0), [1], 1, 2), 1e4);
 * ```
 */
export function nllLoss(
  logits: FloatArray,
  labels: ArrayLike<number>,
  batch: number,
  classes: number,
): number {
  checkInputs("nllLoss", logits, labels, batch, classes);
  let total = 0;
  for (let n = 0; n < batch; n++) {
    const row = n * classes;
    const max = rowMax(logits, row, classes);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(logits[row + k] - max);
    total += max + Math.log(sum) - logits[row + labels[n]];
  }
  return total / batch;
}

/**
 * Gradient of {@linkcode nllLoss} w.r.t. the logits, softmax and NLL fused:
 * `dLogits[n,k] = (softmax(z)[n,k] - (k == y[n] ? 1 : 0)) / B`. Overwrites `dLogits`, which may
 * be `logits` (in place).
 *
 * @param dLogits Gradient `[B, K]`, overwritten.
 * @param logits Scores `[B, K]`.
 * @param labels Class of each row, `B` integers in `[0, K)`.
 * @param batch B, the number of rows.
 * @param classes K, the number of classes.
 * @returns Nothing; the gradient is written to `dLogits`.
 * @throws {RangeError} If a length does not match or a label is outside `[0, classes)`.
 *
 * @example
 * ```ts
 * import { softmaxNllBackward } from "./nll.ts";
 * import assert from "node:assert";
 *
 * const d = new Float64Array(4);
 * softmaxNllBackward(d, new Float64Array(4), [0, 1], 2, 2);
 * assert.deepStrictEqual(Array.from(d), [-0.25, 0.25, 0.25, -0.25]);
 * ```
 */
export function softmaxNllBackward(
  dLogits: FloatArray,
  logits: FloatArray,
  labels: ArrayLike<number>,
  batch: number,
  classes: number,
): void {
  checkInputs("softmaxNllBackward", logits, labels, batch, classes);
  checkLength("softmaxNllBackward", "dLogits", dLogits, batch * classes);
  for (let n = 0; n < batch; n++) {
    const row = n * classes;
    const max = rowMax(logits, row, classes);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(logits[row + k] - max);
    const y = labels[n];
    for (let k = 0; k < classes; k++) {
      const p = Math.exp(logits[row + k] - max) / sum;
      dLogits[row + k] = (p - (k === y ? 1 : 0)) / batch;
    }
  }
}

/**
 * Number of rows whose predicted class (argmax of the logits, the FIRST maximum on ties, like
 * numpy's and Theano's `argmax`) differs from the label. Divide by `batch` for the tutorial's
 * `errors`.
 *
 * @param logits Scores `[B, K]` (or probabilities: the argmax is the same).
 * @param labels Class of each row, `B` integers in `[0, K)`.
 * @param batch B, the number of rows.
 * @param classes K, the number of classes.
 * @returns The count of misclassified rows, an integer in `[0, B]`.
 * @throws {RangeError} If a length does not match or a label is outside `[0, classes)`.
 *
 * @example
 * ```ts
 * import { errorCount } from "./nll.ts";
 * import assert from "node:assert";
 *
 * const z = Float64Array.of(0.1, 0.9, 0.7, 0.3, 0.5, 0.5);
 * assert.strictEqual(errorCount(z, [1, 1, 0], 3, 2), 1); // row 1 predicts 0; row 2 ties -> 0
 * ```
 */
export function errorCount(
  logits: FloatArray,
  labels: ArrayLike<number>,
  batch: number,
  classes: number,
): number {
  checkInputs("errorCount", logits, labels, batch, classes);
  let errors = 0;
  for (let n = 0; n < batch; n++) {
    const row = n * classes;
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[row + k] > logits[row + best]) best = k;
    if (best !== labels[n]) errors++;
  }
  return errors;
}

function rowMax(z: FloatArray, row: number, classes: number): number {
  let max = z[row];
  for (let k = 1; k < classes; k++) max = Math.max(max, z[row + k]);
  return max;
}

function checkInputs(
  fn: string,
  logits: FloatArray,
  labels: ArrayLike<number>,
  batch: number,
  classes: number,
): void {
  if (!Number.isInteger(batch) || batch < 1 || !Number.isInteger(classes) || classes < 1) {
    throw new RangeError(
      `${fn}: batch and classes must be positive integers, received ${batch}, ${classes}`,
    );
  }
  checkLength(fn, "logits", logits, batch * classes);
  checkLength(fn, "labels", labels, batch);
  for (let n = 0; n < batch; n++) {
    const y = labels[n];
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new RangeError(
        `${fn}: labels[${n}] must be an integer in [0, ${classes}), received ${y}`,
      );
    }
  }
}

function checkLength(fn: string, name: string, a: ArrayLike<number>, expected: number): void {
  if (a.length !== expected) {
    throw new RangeError(`${fn}: ${name} must have length ${expected}, received ${a.length}`);
  }
}
