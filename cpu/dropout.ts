/**
 * Inverted dropout, PyTorch's `torch.nn.Dropout(p=rate)` in training mode, with a mask drawn from
 * a seeded counter-based hash so that every backend (CPU, WGSL, native) draws the SAME mask
 * bit for bit: the CPU reference.
 *
 * Dimension letters: one flat array of L elements (the whole batch tensor, any shape); i is the
 * flat index `n * size + k`.
 *   hash32(x)   = lowbias32 (Chris Wellons' 32-bit integer hash, all arithmetic mod 2^32):
 *                 x ^= x >>> 16; x *= 0x7feb352d; x ^= x >>> 15; x *= 0x846ca68b; x ^= x >>> 16
 *   key         = hash32(hash32(hash32(seed) ^ layerIndex) ^ step)       (host side, once per step)
 *   threshold   = min(2^32 - 1, round(rate * 2^32))                     (u32)
 *   scale       = f32(1 / (1 - rate))
 *   keep(i)     = hash32(hash32(i) ^ key) >= threshold                   (probability ~ 1 - rate)
 *   out[i]      = keep(i) ? x[i] * scale : 0
 *   dx[i]       = keep(i) ? dOut[i] * scale : 0
 *
 * PyTorch semantics: each element is zeroed with probability `rate` and the kept ones are scaled
 * by 1/(1 - rate), so the expectation is unchanged; in evaluation mode dropout is the identity
 * (the executor skips it). PyTorch draws its mask from its own generator: the masks differ, the
 * distribution is the same. rate 0 keeps everything (threshold 0) and scales by 1.
 *
 * On a Float32Array `x[i] * scale` is rounded once to float32 when stored, exactly like WGSL's
 * f32 multiply (both factors are float32 values).
 *
 * @module
 */

import type { FloatArray } from "./types.ts";

/**
 * The 32-bit integer hash "lowbias32" (C. Wellons):
 * `x ^= x >>> 16; x *= 0x7feb352d; x ^= x >>> 15; x *= 0x846ca68b; x ^= x >>> 16`, mod 2^32.
 * WGSL reproduces it with u32 arithmetic.
 *
 * @param x Any number; its low 32 bits (ToUint32) are hashed.
 * @returns An unsigned 32-bit integer.
 *
 * @example Golden values (also checked against an independent Python computation)
 * ```ts
 * import { hash32 } from "./dropout.ts";
 * import assert from "node:assert";
 *
 * assert.deepStrictEqual([0, 1, 2].map(hash32), [0, 1753845952, 3507691905]);
 * ```
 */
export function hash32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * The per-step, per-layer key of the dropout mask:
 * `hash32(hash32(hash32(seed >>> 0) ^ layerIndex) ^ step)`, computed on the host.
 *
 * @param seed The training seed (its low 32 bits are used).
 * @param step The optimiser step (an integer in [0, 2^32)).
 * @param layerIndex The layer's index in the plan (an integer in [0, 2^32)).
 * @returns An unsigned 32-bit key.
 * @throws {RangeError} If an argument is not an integer in range.
 *
 * @example Different steps give different keys
 * ```ts
 * import { dropoutKey } from "./dropout.ts";
 * import assert from "node:assert";
 *
 * assert.notStrictEqual(dropoutKey(42, 1, 3), dropoutKey(42, 2, 3));
 * assert.strictEqual(dropoutKey(42, 1, 3), dropoutKey(42, 1, 3));
 * ```
 */
export function dropoutKey(seed: number, step: number, layerIndex: number): number {
  if (!Number.isInteger(seed)) {
    throw new RangeError(`dropoutKey: seed must be an integer, received ${seed}`);
  }
  checkU32("dropoutKey", "step", step);
  checkU32("dropoutKey", "layerIndex", layerIndex);
  return hash32(hash32(hash32(seed >>> 0) ^ layerIndex) ^ step);
}

/**
 * The u32 threshold below which a hash drops its element: `min(2^32 - 1, round(rate * 2^32))`.
 *
 * @param rate The drop probability, in [0, 1).
 * @returns An unsigned 32-bit integer (0 for rate 0: everything kept).
 * @throws {RangeError} If `rate` is not in [0, 1).
 *
 * @example
 * ```ts
 * import { dropoutThreshold } from "./dropout.ts";
 * import assert from "node:assert";
 *
 * assert.strictEqual(dropoutThreshold(0), 0);
 * assert.strictEqual(dropoutThreshold(0.5), 2147483648);
 * ```
 */
export function dropoutThreshold(rate: number): number {
  checkRate("dropoutThreshold", rate);
  return Math.min(4294967295, Math.round(rate * 4294967296));
}

/**
 * The float32 scale of the kept elements: `fround(1 / (1 - rate))`.
 *
 * @param rate The drop probability, in [0, 1).
 * @returns The scale, a float32 value.
 * @throws {RangeError} If `rate` is not in [0, 1).
 *
 * @example
 * ```ts
 * import { dropoutScale } from "./dropout.ts";
 * import assert from "node:assert";
 *
 * assert.strictEqual(dropoutScale(0.5), 2);
 * assert.strictEqual(dropoutScale(0.1), Math.fround(1 / 0.9));
 * ```
 */
export function dropoutScale(rate: number): number {
  checkRate("dropoutScale", rate);
  return Math.fround(1 / (1 - rate));
}

/**
 * Whether element `i` is kept: `hash32(hash32(i) ^ key) >= threshold`.
 *
 * @param key The key from {@linkcode dropoutKey}.
 * @param threshold The threshold from {@linkcode dropoutThreshold}.
 * @param i The flat index of the element in the batch tensor.
 * @returns True if the element is kept.
 *
 * @example Threshold 0 keeps everything
 * ```ts
 * import { dropoutKeep } from "./dropout.ts";
 * import assert from "node:assert";
 *
 * assert.strictEqual(dropoutKeep(123, 0, 7), true);
 * ```
 */
export function dropoutKeep(key: number, threshold: number, i: number): boolean {
  return hash32(hash32(i) ^ key) >= threshold;
}

/**
 * Forward pass (training mode): `out[i] = keep(i) ? x[i] * scale : 0`. `out` may be `x`.
 *
 * @param out Output, overwritten; same length as `x`.
 * @param x Input (the whole batch tensor, flat).
 * @param rate The drop probability, in [0, 1).
 * @param key The key from {@linkcode dropoutKey}.
 * @returns Nothing; the result is written to `out`.
 * @throws {RangeError} If the lengths differ or `rate` is not in [0, 1).
 *
 * @example Half of the elements dropped, the rest doubled
 * ```ts
 * import { dropoutForward, dropoutKey } from "./dropout.ts";
 * import assert from "node:assert";
 *
 * const x = new Float32Array(1000).fill(1), out = new Float32Array(1000);
 * dropoutForward(out, x, 0.5, dropoutKey(7, 1, 0));
 * assert.ok(out.every((v) => v === 0 || v === 2));
 * const kept = out.filter((v) => v === 2).length;
 * assert.ok(kept > 400 && kept < 600, `kept ${kept}`);
 * ```
 */
export function dropoutForward(out: FloatArray, x: FloatArray, rate: number, key: number): void {
  checkLength("dropoutForward", "out", out, x.length);
  const threshold = dropoutThreshold(rate);
  const scale = dropoutScale(rate);
  for (let i = 0; i < x.length; i++) out[i] = dropoutKeep(key, threshold, i) ? x[i] * scale : 0;
}

/**
 * Backward pass: `dx[i] = keep(i) ? dOut[i] * scale : 0`, the same mask as the forward with the
 * same `rate` and `key`. Overwrites `dx`, which may be `dOut`.
 *
 * @param dx Gradient w.r.t. the input, overwritten.
 * @param dOut Gradient w.r.t. the output.
 * @param rate The drop probability used in the forward.
 * @param key The key used in the forward.
 * @returns Nothing; the gradient is written to `dx`.
 * @throws {RangeError} If the lengths differ or `rate` is not in [0, 1).
 *
 * @example The gradient flows where the forward kept the input
 * ```ts
 * import { dropoutBackward, dropoutForward } from "./dropout.ts";
 * import assert from "node:assert";
 *
 * const out = new Float64Array(8), dx = new Float64Array(8);
 * dropoutForward(out, new Float64Array(8).fill(3), 0.25, 99);
 * dropoutBackward(dx, new Float64Array(8).fill(3), 0.25, 99);
 * assert.deepStrictEqual(dx, out);
 * ```
 */
export function dropoutBackward(dx: FloatArray, dOut: FloatArray, rate: number, key: number): void {
  checkLength("dropoutBackward", "dx", dx, dOut.length);
  const threshold = dropoutThreshold(rate);
  const scale = dropoutScale(rate);
  for (let i = 0; i < dOut.length; i++) {
    dx[i] = dropoutKeep(key, threshold, i) ? dOut[i] * scale : 0;
  }
}

function checkRate(fn: string, rate: number): void {
  if (!(rate >= 0 && rate < 1)) {
    throw new RangeError(`${fn}: rate must be in [0, 1), received ${rate}`);
  }
}

function checkU32(fn: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 4294967295) {
    throw new RangeError(`${fn}: ${name} must be an integer in [0, 2^32), received ${v}`);
  }
}

function checkLength(fn: string, name: string, a: ArrayLike<number>, expected: number): void {
  if (a.length !== expected) {
    throw new RangeError(`${fn}: ${name} must have length ${expected}, received ${a.length}`);
  }
}
