/**
 * The CPU reference: one plain TypeScript file per op, forward and backward side by
 * side, generic over Float32Array and Float64Array. NCHW tensors as flat arrays;
 * backward functions overwrite their outputs. Every GPU kernel is tested against
 * these.
 *
 * @example A 2x2 max pooling, Theano's ignore_border=True
 * ```ts
 * import { maxPool2dForward } from "@lenet/webgpu-cnn/cpu";
 * const x = Float64Array.from([1, 5, 2, 0, 3, 4, 8, 1, 0, 0, 1, 1, 9, 0, 2, 7]);
 * const out = new Float64Array(4);
 * maxPool2dForward(out, x, {
 *   batch: 1, channels: 1, height: 4, width: 4, poolH: 2, poolW: 2, ignoreBorder: true,
 * });
 * console.log([...out]); // [5, 8, 9, 7]
 * ```
 *
 * @module
 */
export * from "./conv2d.ts";
export * from "./bias.ts";
export * from "./maxpool2d.ts";
export * from "./avgpool2d.ts";
export * from "./dense.ts";
export * from "./tanh.ts";
export * from "./sigmoid.ts";
export * from "./relu.ts";
export * from "./gelu.ts";
export * from "./erf.ts";
export * from "./dropout.ts";
export * from "./batchnorm.ts";
export * from "./softmax.ts";
export * from "./nll.ts";
export * from "./sgd.ts";
export * from "./adam.ts";
export * from "./init.ts";
export type { FloatArray } from "./types.ts";
