/**
 * Non-overlapping 2-D max pooling, exactly Theano's `max_pool_2d(input, ds, ignore_border)`:
 * the CPU reference.
 *
 * Dimension letters, used throughout:
 *   N batch, C channels, H x W input, PH x PW pool window (stride = window), OH x OW output.
 *   ignoreBorder true:  OH = floor(H / PH), OW = floor(W / PW) (a partial window at the border is dropped)
 *   ignoreBorder false: OH = ceil(H / PH),  OW = ceil(W / PW)  (a partial window is kept, its max taken
 *                       over the elements it has)
 *   x [N, C, H, W]   out [N, C, OH, OW]
 *   out[n,c,y,x] = max_{i<PH, j<PW, inside the image} x[n,c,y*PH+i,x*PW+j]
 *
 * Tie rule: the FIRST maximum in row-major scan order of the window wins (strict `>`), and the
 * whole gradient of that output goes there (as PyTorch and cuDNN do). Theano's `MaxPoolGrad`
 * differs on exact ties only: it gives the full gradient to EVERY element equal to the max. With
 * continuous inputs ties have probability zero, but they do happen on exact data (for example a
 * window of equal conv outputs over an all-zero image region).
 *
 * @module
 */

import type { FloatArray } from "./types.ts";

/** Shape of a max-pooling: input `[batch, channels, height, width]`, window `poolH x poolW`. */
export interface MaxPool2DShape {
  /** N: images in the mini-batch. */
  batch: number;
  /** C: feature maps. */
  channels: number;
  /** H: input height. */
  height: number;
  /** W: input width. */
  width: number;
  /** PH: window height, also the vertical stride. */
  poolH: number;
  /** PW: window width, also the horizontal stride. */
  poolW: number;
  /** Theano's `ignore_border`: true drops partial windows at the border, false keeps them. */
  ignoreBorder: boolean;
}

/**
 * Output size of the pooling: `floor(H/PH) x floor(W/PW)` when `ignoreBorder`, else
 * `ceil(H/PH) x ceil(W/PW)`.
 *
 * @param s The pooling shape.
 * @returns `{ outH, outW }`.
 * @throws {RangeError} If a dimension is not a positive integer.
 *
 * @example The tutorial's 5x5 inputs with 2x2 pooling
 * ```ts
 * import { maxPool2dOutputSize } from "./maxpool2d.ts";
 * import assert from "node:assert";
 *
 * const s = { batch: 3, channels: 2, height: 5, width: 5, poolH: 2, poolW: 2, ignoreBorder: true };
 * assert.deepStrictEqual(maxPool2dOutputSize(s), { outH: 2, outW: 2 });
 * assert.deepStrictEqual(maxPool2dOutputSize({ ...s, ignoreBorder: false }), { outH: 3, outW: 3 });
 * ```
 */
export function maxPool2dOutputSize(s: MaxPool2DShape): { outH: number; outW: number } {
  for (const k of ["batch", "channels", "height", "width", "poolH", "poolW"] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 1) {
      throw new RangeError(`maxPool2d: ${k} must be a positive integer, received ${s[k]}`);
    }
  }
  const round = s.ignoreBorder ? Math.floor : Math.ceil;
  return { outH: round(s.height / s.poolH), outW: round(s.width / s.poolW) };
}

/**
 * Forward pass: the maximum of each (possibly partial) window.
 *
 * @param out Output `[N, C, OH, OW]`, overwritten.
 * @param x Input `[N, C, H, W]`.
 * @param s The pooling shape.
 * @returns Nothing; the result is written to `out`.
 * @throws {RangeError} If an array length does not match the shape.
 *
 * @example A 3x3 image, 2x2 windows, partial windows kept
 * ```ts
 * import { maxPool2dForward } from "./maxpool2d.ts";
 * import assert from "node:assert";
 *
 * const s = { batch: 1, channels: 1, height: 3, width: 3, poolH: 2, poolW: 2, ignoreBorder: false };
 * const out = new Float64Array(4);
 * maxPool2dForward(out, Float64Array.of(1, 5, 2, 4, 3, 0, 7, 8, 6), s);
 * assert.deepStrictEqual(Array.from(out), [5, 2, 8, 6]);
 * ```
 */
export function maxPool2dForward(out: FloatArray, x: FloatArray, s: MaxPool2DShape): void {
  const { batch: N, channels: C, height: H, width: W } = s;
  const { outH: OH, outW: OW } = maxPool2dOutputSize(s);
  checkLength("maxPool2dForward", "out", out, N * C * OH * OW);
  checkLength("maxPool2dForward", "x", x, N * C * H * W);
  for (let nc = 0; nc < N * C; nc++) {
    for (let y = 0; y < OH; y++) {
      for (let xo = 0; xo < OW; xo++) {
        out[(nc * OH + y) * OW + xo] = x[argmaxInWindow(x, nc, y, xo, s)];
      }
    }
  }
}

/**
 * Backward pass: each output gradient goes to the first maximum of its window (recomputed from
 * `x`), every other input gets 0. Overwrites `dx`.
 *
 * @param dx Gradient w.r.t. the input `[N, C, H, W]`, overwritten.
 * @param dOut Gradient w.r.t. the output `[N, C, OH, OW]`.
 * @param x The forward input `[N, C, H, W]`.
 * @param s The pooling shape.
 * @returns Nothing; the gradient is written to `dx`.
 * @throws {RangeError} If an array length does not match the shape.
 *
 * @example
 * ```ts
 * import { maxPool2dBackward } from "./maxpool2d.ts";
 * import assert from "node:assert";
 *
 * const s = { batch: 1, channels: 1, height: 2, width: 2, poolH: 2, poolW: 2, ignoreBorder: true };
 * const dx = new Float64Array(4);
 * maxPool2dBackward(dx, Float64Array.of(10), Float64Array.of(1, 5, 5, 0), s);
 * assert.deepStrictEqual(Array.from(dx), [0, 10, 0, 0]); // tie 5 = 5: the first one wins
 * ```
 */
export function maxPool2dBackward(
  dx: FloatArray,
  dOut: FloatArray,
  x: FloatArray,
  s: MaxPool2DShape,
): void {
  const { batch: N, channels: C, height: H, width: W } = s;
  const { outH: OH, outW: OW } = maxPool2dOutputSize(s);
  checkLength("maxPool2dBackward", "dx", dx, N * C * H * W);
  checkLength("maxPool2dBackward", "dOut", dOut, N * C * OH * OW);
  checkLength("maxPool2dBackward", "x", x, N * C * H * W);
  dx.fill(0);
  // windows do not overlap, so each input receives at most one gradient
  for (let nc = 0; nc < N * C; nc++) {
    for (let y = 0; y < OH; y++) {
      for (let xo = 0; xo < OW; xo++) {
        dx[argmaxInWindow(x, nc, y, xo, s)] = dOut[(nc * OH + y) * OW + xo];
      }
    }
  }
}

/** Flat index into `x` of the first maximum (row-major, strict `>`) of window (y, xo) of plane nc. */
function argmaxInWindow(
  x: FloatArray,
  nc: number,
  y: number,
  xo: number,
  s: MaxPool2DShape,
): number {
  const { height: H, width: W, poolH: PH, poolW: PW } = s;
  const rowEnd = Math.min(y * PH + PH, H);
  const colEnd = Math.min(xo * PW + PW, W);
  let best = (nc * H + y * PH) * W + xo * PW;
  for (let r = y * PH; r < rowEnd; r++) {
    for (let c = xo * PW; c < colEnd; c++) {
      const k = (nc * H + r) * W + c;
      if (x[k] > x[best]) best = k;
    }
  }
  return best;
}

function checkLength(fn: string, name: string, a: ArrayLike<number>, expected: number): void {
  if (a.length !== expected) {
    throw new RangeError(`${fn}: ${name} must have length ${expected}, received ${a.length}`);
  }
}
