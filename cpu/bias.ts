/**
 * A learned per-channel bias: the CPU reference.
 *
 * Dimension letters: N batch, C channels, P values per channel of one sample (H·W for an
 * image, 1 for features).
 *   forward:  y[n, c, p] = x[n, c, p] + b[c]
 *   backward: dx[n, c, p] = dy[n, c, p];   db[c] = sum over n, p of dy[n, c, p]
 *
 * The tutorial's `LeNetConvPoolLayer` adds its bias after the max pooling; with Theano's tie
 * rule (`cpu/maxpool2d.ts`, `ties: "all"`) only that placement gives its bias gradient.
 *
 * @module
 */

import type { FloatArray } from "./types.ts";

/** Shape of a bias: `batch` samples of `channels` channels of `positions` values. */
export interface BiasShape {
  /** N: samples. */
  batch: number;
  /** C: channels, one bias each. */
  channels: number;
  /** P: values per channel of one sample. */
  positions: number;
}

/**
 * Forward pass: `y[n, c, p] = x[n, c, p] + b[c]`.
 *
 * @param y Output `[N, C, P]`, overwritten (may be `x`).
 * @param x Input `[N, C, P]`.
 * @param b Bias `[C]`.
 * @param s The shape.
 * @returns Nothing; the result is written to `y`.
 * @throws {RangeError} If an array length does not match the shape.
 *
 * @example Two channels of two values
 * ```ts
 * import { biasForward } from "./bias.ts";
 * import assert from "node:assert";
 *
 * const y = new Float64Array(4);
 * biasForward(y, Float64Array.of(1, 2, 3, 4), Float64Array.of(10, 20), {
 *   batch: 1, channels: 2, positions: 2,
 * });
 * assert.deepStrictEqual(Array.from(y), [11, 12, 23, 24]);
 * ```
 */
export function biasForward(y: FloatArray, x: FloatArray, b: FloatArray, s: BiasShape): void {
  const { batch: N, channels: C, positions: P } = check("biasForward", s);
  checkLength("biasForward", "y", y, N * C * P);
  checkLength("biasForward", "x", x, N * C * P);
  checkLength("biasForward", "b", b, C);
  for (let n = 0, k = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let p = 0; p < P; p++, k++) y[k] = x[k] + b[c];
    }
  }
}

/**
 * Backward pass: `dx = dy` and `db[c]` = the sum of channel `c`'s gradients. Overwrites `dx`
 * and `db`.
 *
 * @param dx Gradient w.r.t. the input `[N, C, P]`, or null to skip it.
 * @param db Gradient w.r.t. the bias `[C]`, overwritten.
 * @param dy Gradient w.r.t. the output `[N, C, P]`.
 * @param s The shape.
 * @returns Nothing; the gradients are written to `dx` and `db`.
 * @throws {RangeError} If an array length does not match the shape.
 *
 * @example
 * ```ts
 * import { biasBackward } from "./bias.ts";
 * import assert from "node:assert";
 *
 * const dx = new Float64Array(4), db = new Float64Array(2);
 * biasBackward(dx, db, Float64Array.of(1, 2, 3, 4), { batch: 2, channels: 2, positions: 1 });
 * assert.deepStrictEqual([Array.from(dx), Array.from(db)], [[1, 2, 3, 4], [4, 6]]);
 * ```
 */
export function biasBackward(
  dx: FloatArray | null,
  db: FloatArray,
  dy: FloatArray,
  s: BiasShape,
): void {
  const { batch: N, channels: C, positions: P } = check("biasBackward", s);
  if (dx !== null) checkLength("biasBackward", "dx", dx, N * C * P);
  checkLength("biasBackward", "db", db, C);
  checkLength("biasBackward", "dy", dy, N * C * P);
  db.fill(0);
  for (let n = 0, k = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let p = 0; p < P; p++, k++) {
        if (dx !== null) dx[k] = dy[k];
        sum += dy[k];
      }
      db[c] += sum;
    }
  }
}

function check(fn: string, s: BiasShape): BiasShape {
  for (const k of ["batch", "channels", "positions"] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 1) {
      throw new RangeError(`${fn}: ${k} must be a positive integer, received ${s[k]}`);
    }
  }
  return s;
}

function checkLength(fn: string, name: string, a: ArrayLike<number>, expected: number): void {
  if (a.length !== expected) {
    throw new RangeError(`${fn}: ${name} must have length ${expected}, received ${a.length}`);
  }
}
