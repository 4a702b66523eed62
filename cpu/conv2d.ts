/**
 * 2-D convolution layer, "valid" mode (no padding), stride 1: the CPU reference.
 *
 * Dimension letters, used throughout:
 *   N batch, C input channels, H x W input image, O output channels (filters),
 *   KH x KW kernel, OH = H - KH + 1, OW = W - KW + 1.
 *   x [N, C, H, W]   w [O, C, KH, KW]   b [O]   out [N, O, OH, OW]   (all NCHW, row-major)
 *
 * Convention: CROSS-CORRELATION, like PyTorch and TensorFlow (the kernel is not flipped):
 *   out[n,o,y,x] = b[o] + sum_{c,i,j} x[n,c,y+i,x+j] * w[o,c,i,j]
 * Theano's `conv2d` is a true convolution (kernel rotated 180 degrees): Theano's
 * `conv2d(x, W)` equals `conv2dForward(out, x, flipKernels(W, s), zeros, s)` here.
 *
 * @module
 */

import type { FloatArray } from "./types.ts";

/** Shape of a convolution: input `[batch, inChannels, height, width]`, weights `[outChannels, inChannels, kernelH, kernelW]`. */
export interface Conv2DShape {
  /** N: images in the mini-batch. */
  batch: number;
  /** C: feature maps of the input. */
  inChannels: number;
  /** H: input image height. */
  height: number;
  /** W: input image width. */
  width: number;
  /** O: filters, i.e. feature maps of the output. */
  outChannels: number;
  /** KH: kernel height (<= height). */
  kernelH: number;
  /** KW: kernel width (<= width). */
  kernelW: number;
}

/**
 * Output size of a valid, stride-1 convolution: `(H - KH + 1) x (W - KW + 1)`.
 *
 * @param s The convolution shape.
 * @returns `{ outH, outW }`.
 * @throws {RangeError} If a dimension is not a positive integer or the kernel is larger than the image.
 *
 * @example LeNet's first layer: 28x28 images, 5x5 kernels
 * ```ts
 * import { conv2dOutputSize } from "./conv2d.ts";
 * import assert from "node:assert";
 *
 * const s = { batch: 1, inChannels: 1, height: 28, width: 28, outChannels: 20, kernelH: 5, kernelW: 5 };
 * assert.deepStrictEqual(conv2dOutputSize(s), { outH: 24, outW: 24 });
 * ```
 */
export function conv2dOutputSize(s: Conv2DShape): { outH: number; outW: number } {
  for (
    const k of [
      "batch",
      "inChannels",
      "height",
      "width",
      "outChannels",
      "kernelH",
      "kernelW",
    ] as const
  ) {
    if (!Number.isInteger(s[k]) || s[k] < 1) {
      throw new RangeError(`conv2d: ${k} must be a positive integer, received ${s[k]}`);
    }
  }
  if (s.kernelH > s.height || s.kernelW > s.width) {
    throw new RangeError(
      `conv2d: kernel ${s.kernelH}x${s.kernelW} is larger than the image ${s.height}x${s.width}`,
    );
  }
  return { outH: s.height - s.kernelH + 1, outW: s.width - s.kernelW + 1 };
}

/**
 * Forward pass: `out[n,o,y,x] = b[o] + sum_{c,i,j} x[n,c,y+i,x+j] * w[o,c,i,j]`
 * (cross-correlation; see {@linkcode flipKernels} for Theano's true convolution).
 *
 * @param out Output `[N, O, OH, OW]`, overwritten.
 * @param x Input `[N, C, H, W]`.
 * @param w Weights `[O, C, KH, KW]`.
 * @param b Bias `[O]`.
 * @param s The convolution shape.
 * @returns Nothing; the result is written to `out`.
 * @throws {RangeError} If an array length does not match the shape.
 *
 * @example A 3x3 image and a 2x2 kernel
 * ```ts
 * import { conv2dForward } from "./conv2d.ts";
 * import assert from "node:assert";
 *
 * const s = { batch: 1, inChannels: 1, height: 3, width: 3, outChannels: 1, kernelH: 2, kernelW: 2 };
 * const out = new Float64Array(4);
 * conv2dForward(out, Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9), Float64Array.of(1, 2, 3, 4), Float64Array.of(0), s);
 * assert.deepStrictEqual(Array.from(out), [37, 47, 67, 77]);
 * ```
 */
export function conv2dForward(
  out: FloatArray,
  x: FloatArray,
  w: FloatArray,
  b: FloatArray,
  s: Conv2DShape,
): void {
  const { batch: N, inChannels: C, height: H, width: W, outChannels: O } = s;
  const { kernelH: KH, kernelW: KW } = s;
  const { outH: OH, outW: OW } = conv2dOutputSize(s);
  checkLength("conv2dForward", "out", out, N * O * OH * OW);
  checkLength("conv2dForward", "x", x, N * C * H * W);
  checkLength("conv2dForward", "w", w, O * C * KH * KW);
  checkLength("conv2dForward", "b", b, O);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      for (let y = 0; y < OH; y++) {
        for (let xo = 0; xo < OW; xo++) {
          let sum = b[o];
          for (let c = 0; c < C; c++) {
            for (let i = 0; i < KH; i++) {
              const xRow = ((n * C + c) * H + y + i) * W + xo;
              const wRow = ((o * C + c) * KH + i) * KW;
              for (let j = 0; j < KW; j++) sum += x[xRow + j] * w[wRow + j];
            }
          }
          out[((n * O + o) * OH + y) * OW + xo] = sum;
        }
      }
    }
  }
}

/**
 * Backward pass. Overwrites (does not accumulate into) `dx`, `dw` and `db`:
 *   db[o]       = sum_{n,y,x} dOut[n,o,y,x]
 *   dw[o,c,i,j] = sum_{n,y,x} dOut[n,o,y,x] * x[n,c,y+i,x+j]
 *   dx[n,c,p,q] = sum_{o,i,j} dOut[n,o,p-i,q-j] * w[o,c,i,j]   (terms with p-i, q-j inside the output)
 * Each sum is gathered in a float64 local, then stored once.
 *
 * @param dx Gradient w.r.t. the input `[N, C, H, W]`, overwritten; `null` skips it (first layer).
 * @param dw Gradient w.r.t. the weights `[O, C, KH, KW]`, overwritten.
 * @param db Gradient w.r.t. the bias `[O]`, overwritten.
 * @param dOut Gradient w.r.t. the output `[N, O, OH, OW]`.
 * @param x The forward input `[N, C, H, W]`.
 * @param w The weights `[O, C, KH, KW]`.
 * @param s The convolution shape.
 * @returns Nothing; the gradients are written to `dx`, `dw`, `db`.
 * @throws {RangeError} If an array length does not match the shape.
 *
 * @example Gradients of sum(out) for a 3x3 image and a 2x2 kernel
 * ```ts
 * import { conv2dBackward } from "./conv2d.ts";
 * import assert from "node:assert";
 *
 * const s = { batch: 1, inChannels: 1, height: 3, width: 3, outChannels: 1, kernelH: 2, kernelW: 2 };
 * const dx = new Float64Array(9), dw = new Float64Array(4), db = new Float64Array(1);
 * const x = Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9), w = Float64Array.of(1, 2, 3, 4);
 * conv2dBackward(dx, dw, db, new Float64Array(4).fill(1), x, w, s);
 * assert.deepStrictEqual(Array.from(db), [4]);
 * assert.deepStrictEqual(Array.from(dw), [12, 16, 24, 28]);
 * assert.deepStrictEqual(Array.from(dx), [1, 3, 2, 4, 10, 6, 3, 7, 4]);
 * ```
 */
export function conv2dBackward(
  dx: FloatArray | null,
  dw: FloatArray,
  db: FloatArray,
  dOut: FloatArray,
  x: FloatArray,
  w: FloatArray,
  s: Conv2DShape,
): void {
  const { batch: N, inChannels: C, height: H, width: W, outChannels: O } = s;
  const { kernelH: KH, kernelW: KW } = s;
  const { outH: OH, outW: OW } = conv2dOutputSize(s);
  if (dx !== null) checkLength("conv2dBackward", "dx", dx, N * C * H * W);
  checkLength("conv2dBackward", "dw", dw, O * C * KH * KW);
  checkLength("conv2dBackward", "db", db, O);
  checkLength("conv2dBackward", "dOut", dOut, N * O * OH * OW);
  checkLength("conv2dBackward", "x", x, N * C * H * W);
  checkLength("conv2dBackward", "w", w, O * C * KH * KW);

  // db[o] = sum over batch and output pixels
  for (let o = 0; o < O; o++) {
    let sum = 0;
    for (let n = 0; n < N; n++) {
      const base = (n * O + o) * OH * OW;
      for (let k = 0; k < OH * OW; k++) sum += dOut[base + k];
    }
    db[o] = sum;
  }

  // dw[o,c,i,j] = sum_{n,y,x} dOut[n,o,y,x] * x[n,c,y+i,x+j]
  for (let o = 0; o < O; o++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < KH; i++) {
        for (let j = 0; j < KW; j++) {
          let sum = 0;
          for (let n = 0; n < N; n++) {
            for (let y = 0; y < OH; y++) {
              const dRow = ((n * O + o) * OH + y) * OW;
              const xRow = ((n * C + c) * H + y + i) * W + j;
              for (let xo = 0; xo < OW; xo++) sum += dOut[dRow + xo] * x[xRow + xo];
            }
          }
          dw[((o * C + c) * KH + i) * KW + j] = sum;
        }
      }
    }
  }

  if (dx === null) return;
  // dx[n,c,p,q] = sum_{o,i,j} dOut[n,o,p-i,q-j] * w[o,c,i,j], with 0 <= p-i < OH, 0 <= q-j < OW
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let p = 0; p < H; p++) {
        for (let q = 0; q < W; q++) {
          let sum = 0;
          for (let o = 0; o < O; o++) {
            for (let i = Math.max(0, p - OH + 1); i <= Math.min(KH - 1, p); i++) {
              const dRow = ((n * O + o) * OH + p - i) * OW + q;
              const wRow = ((o * C + c) * KH + i) * KW;
              for (let j = Math.max(0, q - OW + 1); j <= Math.min(KW - 1, q); j++) {
                sum += dOut[dRow - j] * w[wRow + j];
              }
            }
          }
          dx[((n * C + c) * H + p) * W + q] = sum;
        }
      }
    }
  }
}

/**
 * Rotates every `[KH, KW]` kernel by 180 degrees (flips both spatial axes):
 * `flipped[o,c,i,j] = w[o,c,KH-1-i,KW-1-j]`. Use it to load Theano weights: Theano's
 * `conv2d(x, W)` (a true convolution) equals {@linkcode conv2dForward} with `flipKernels(W)`.
 * Flipping twice gives the original back.
 *
 * @param w Weights `[O, C, KH, KW]` (only `outChannels`, `inChannels`, `kernelH`, `kernelW` of `s` are used).
 * @param s The convolution shape.
 * @returns A new array of the same type as `w`, with every kernel rotated.
 * @throws {RangeError} If `w.length` does not match the shape.
 *
 * @example
 * ```ts
 * import { flipKernels } from "./conv2d.ts";
 * import assert from "node:assert";
 *
 * const s = { batch: 1, inChannels: 1, height: 3, width: 3, outChannels: 1, kernelH: 2, kernelW: 2 };
 * assert.deepStrictEqual(Array.from(flipKernels(Float32Array.of(1, 2, 3, 4), s)), [4, 3, 2, 1]);
 * ```
 */
export function flipKernels<T extends FloatArray>(w: T, s: Conv2DShape): T {
  const { outChannels: O, inChannels: C, kernelH: KH, kernelW: KW } = s;
  checkLength("flipKernels", "w", w, O * C * KH * KW);
  const out = w.slice() as T;
  for (let k = 0; k < O * C; k++) {
    for (let i = 0; i < KH; i++) {
      for (let j = 0; j < KW; j++) {
        out[(k * KH + i) * KW + j] = w[(k * KH + KH - 1 - i) * KW + KW - 1 - j];
      }
    }
  }
  return out;
}

function checkLength(fn: string, name: string, a: ArrayLike<number>, expected: number): void {
  if (a.length !== expected) {
    throw new RangeError(`${fn}: ${name} must have length ${expected}, received ${a.length}`);
  }
}
