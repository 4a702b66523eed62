/**
 * The tutorial's weight initialisations: the CPU reference.
 *
 *   conv W [O, C, KH, KW] ~ U(-bound, bound), bound = sqrt(6 / (fan_in + fan_out)),
 *        fan_in = C*KH*KW, fan_out = floor(O*KH*KW / poolArea)
 *   dense W [I, J] (HiddenLayer) ~ U(-bound, bound), bound = sqrt(6 / (I + J)), times 4 for sigmoid
 *   all biases and the LogisticRegression weights: zeros
 *
 * Values are drawn from a numpy-compatible {@linkcode RandomState} in row-major order of the
 * weight shape, so `new RandomState(23455)` reproduces the tutorial's weights draw for draw.
 *
 * @module
 */

import type { RandomState } from "../src/random.ts";
import type { FloatArray } from "./types.ts";

/**
 * Bound of the uniform initialisation of a conv layer followed by pooling (the tutorial's
 * `LeNetConvPoolLayer`): `sqrt(6 / (fan_in + fan_out))` with `fan_in = inC*kH*kW` and
 * `fan_out = floor(outC*kH*kW / poolArea)`. The floor is the tutorial code's integer division
 * (Python 2 `/` on numpy integers, `//` in the Python 3 version of `convolutional_mlp.py`): for
 * LeNet's second layer, 50*25/4 gives fan_out 312, not 312.5.
 *
 * @param outChannels O, the number of filters.
 * @param inChannels C, the input feature maps.
 * @param kernelH KH, the kernel height.
 * @param kernelW KW, the kernel width.
 * @param poolArea The pooling window area, poolH * poolW (1 for no pooling).
 * @returns The bound.
 * @throws {RangeError} If an argument is not a positive integer.
 *
 * @example LeNet's two conv layers
 * ```ts
 * import { convWeightBound } from "./init.ts";
 * import assert from "node:assert";
 *
 * assert.strictEqual(convWeightBound(20, 1, 5, 5, 4), Math.sqrt(6 / (25 + 125)));
 * assert.strictEqual(convWeightBound(50, 20, 5, 5, 4), Math.sqrt(6 / (500 + 312)));
 * ```
 */
export function convWeightBound(
  outChannels: number,
  inChannels: number,
  kernelH: number,
  kernelW: number,
  poolArea: number,
): number {
  const args = { outChannels, inChannels, kernelH, kernelW, poolArea };
  for (const [k, v] of Object.entries(args)) checkPositiveInteger("convWeightBound", k, v);
  const fanIn = inChannels * kernelH * kernelW;
  const fanOut = Math.floor((outChannels * kernelH * kernelW) / poolArea);
  return Math.sqrt(6 / (fanIn + fanOut));
}

/** Options of {@linkcode denseWeightBound}. */
export interface DenseWeightBoundOptions {
  /** The layer's activation is the sigmoid: the tutorial's `HiddenLayer` then multiplies the bound by 4. */
  sigmoid?: boolean;
}

/**
 * Bound of the uniform initialisation of a dense layer (the tutorial's `HiddenLayer`):
 * `sqrt(6 / (inFeatures + outFeatures))`, times 4 with `{ sigmoid: true }`.
 *
 * @param inFeatures I (`n_in`).
 * @param outFeatures J (`n_out`).
 * @param options `sigmoid: true` for a sigmoid layer.
 * @returns The bound.
 * @throws {RangeError} If a size is not a positive integer.
 *
 * @example LeNet's hidden layer, 800 -> 500, tanh
 * ```ts
 * import { denseWeightBound } from "./init.ts";
 * import assert from "node:assert";
 *
 * assert.strictEqual(denseWeightBound(800, 500), Math.sqrt(6 / 1300));
 * assert.strictEqual(denseWeightBound(800, 500, { sigmoid: true }), 4 * Math.sqrt(6 / 1300));
 * ```
 */
export function denseWeightBound(
  inFeatures: number,
  outFeatures: number,
  options: DenseWeightBoundOptions = {},
): number {
  checkPositiveInteger("denseWeightBound", "inFeatures", inFeatures);
  checkPositiveInteger("denseWeightBound", "outFeatures", outFeatures);
  const bound = Math.sqrt(6 / (inFeatures + outFeatures));
  return options.sigmoid ? 4 * bound : bound;
}

/**
 * Draws `size` values `rng.uniform(-bound, bound, size)` (numpy's order and doubles), as the
 * tutorial does for a weight tensor of `size` elements, and returns them as float64.
 *
 * @param rng The generator; it advances by `2 * size` 32-bit words.
 * @param size The number of weights (the product of the weight shape).
 * @param bound The half-width of the interval, e.g. from {@linkcode convWeightBound}.
 * @returns A new Float64Array of length `size`.
 *
 * @example LeNet's first conv layer
 * ```ts
 * import { convWeightBound, uniformInit } from "./init.ts";
 * import { RandomState } from "../src/random.ts";
 * import assert from "node:assert";
 *
 * const w0 = uniformInit(new RandomState(23455), 20 * 1 * 5 * 5, convWeightBound(20, 1, 5, 5, 4));
 * assert.strictEqual(w0[0], 0.13397727406718468);
 * ```
 */
export function uniformInit(rng: RandomState, size: number, bound: number): Float64Array;
/**
 * Draws `size` values `rng.uniform(-bound, bound, size)` (numpy's order and doubles) and writes
 * them into `into`: a Float32Array rounds them, as the tutorial's
 * `numpy.asarray(..., dtype=floatX)` does with floatX=float32.
 *
 * @param rng The generator; it advances by `2 * size` 32-bit words.
 * @param size The number of weights (the product of the weight shape).
 * @param bound The half-width of the interval, e.g. from {@linkcode convWeightBound}.
 * @param into Destination of length `size`.
 * @returns `into`.
 * @throws {RangeError} If `into.length !== size`.
 *
 * @example LeNet's first conv layer, float32
 * ```ts
 * import { convWeightBound, uniformInit } from "./init.ts";
 * import { RandomState } from "../src/random.ts";
 * import assert from "node:assert";
 *
 * const rng = new RandomState(23455);
 * const w0 = uniformInit(rng, 500, convWeightBound(20, 1, 5, 5, 4), new Float32Array(500));
 * assert.strictEqual(w0[0], Math.fround(0.13397727406718468));
 * ```
 */
export function uniformInit<T extends FloatArray>(
  rng: RandomState,
  size: number,
  bound: number,
  into: T,
): T;
export function uniformInit(
  rng: RandomState,
  size: number,
  bound: number,
  into?: FloatArray,
): FloatArray {
  if (into !== undefined && into.length !== size) {
    throw new RangeError(`uniformInit: into must have length ${size}, received ${into.length}`);
  }
  const values = rng.uniform(-bound, bound, size);
  if (into === undefined) return values;
  into.set(values);
  return into;
}

function checkPositiveInteger(fn: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`${fn}: ${name} must be a positive integer, received ${v}`);
  }
}

/**
 * He (Kaiming) uniform bound for weights feeding a ReLU: `sqrt(6 / fanIn)`, PyTorch's
 * `kaiming_uniform_(w, nonlinearity="relu")` (gain sqrt(2), `bound = gain·sqrt(3 / fanIn)`).
 *
 * @param fanIn Inputs of one output: `C·kh·kw` for a convolution, `inFeatures` for a dense layer.
 * @returns The bound.
 *
 * @example A 3x3 convolution over 32 channels
 * ```ts
 * import { heWeightBound } from "./init.ts";
 * console.log(heWeightBound(32 * 3 * 3).toFixed(4)); // 0.1443
 * ```
 */
export function heWeightBound(fanIn: number): number {
  checkPositiveInteger("heWeightBound", "fanIn", fanIn);
  return Math.sqrt(6 / fanIn);
}
