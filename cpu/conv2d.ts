/**
 * 2-D convolution layer with stride and zero padding, PyTorch's `torch.nn.Conv2d` (dilation 1,
 * groups 1, padding_mode "zeros"): the CPU reference.
 *
 * Dimension letters, used throughout:
 *   N batch, C input channels, H x W input image, O output channels (filters),
 *   KH x KW kernel, SH x SW stride (default 1), PT, PL, PB, PR zero padding at the top, left,
 *   bottom, right (default 0),
 *   OH = floor((H + PT + PB - KH) / SH) + 1,   OW = floor((W + PL + PR - KW) / SW) + 1.
 *   x [N, C, H, W]   w [O, C, KH, KW]   b [O]   out [N, O, OH, OW]   (all NCHW, row-major)
 *
 * Convention: CROSS-CORRELATION, like PyTorch and TensorFlow (the kernel is not flipped):
 *   out[n,o,oy,ox] = b[o] + sum_{c,i,j} w[o,c,i,j] * x[n,c, oy*SH - PT + i, ox*SW - PL + j]
 * with x = 0 outside the image. The defaults (stride 1, no padding) give the tutorial's "valid"
 * convolution, OH = H - KH + 1. Theano's `conv2d` is a true convolution (kernel rotated 180
 * degrees): Theano's `conv2d(x, W)` equals `conv2dForward(out, x, flipKernels(W, s), zeros, s)`.
 * The output size ({@linkcode conv2dOutputSize}) and the padding argument
 * ({@linkcode conv2dPadding}) come from `src/shapes.ts`, re-exported here.
 *
 * @module
 */

import { conv2dOutputSize, type Conv2DShape } from "../src/shapes.ts";
import type { FloatArray } from "./types.ts";

// The shape, the padding argument and the output size live in the backend-neutral
// `src/shapes.ts` (the planner uses them too); re-exported here for the reference's users.
export {
  conv2dOutputSize,
  conv2dPadding,
  type Conv2DShape,
  type Padding2D,
} from "../src/shapes.ts";

/** The shape's stride and top/left padding filled in, and its output size ({@linkcode conv2dOutputSize}: validates). */
function resolve(s: Conv2DShape) {
  const { outH: OH, outW: OW } = conv2dOutputSize(s);
  return {
    SH: s.strideH ?? 1,
    SW: s.strideW ?? 1,
    PT: s.padTop ?? 0,
    PL: s.padLeft ?? 0,
    OH,
    OW,
  };
}

/**
 * Forward pass:
 * `out[n,o,oy,ox] = b[o] + sum_{c,i,j} w[o,c,i,j] * x[n,c, oy*SH - PT + i, ox*SW - PL + j]`
 * (cross-correlation, zero outside the image; see {@linkcode flipKernels} for Theano's true
 * convolution). Each output is summed in a float64 local (bias first, then c, i, j), then stored.
 *
 * @param out Output `[N, O, OH, OW]`, overwritten.
 * @param x Input `[N, C, H, W]`.
 * @param w Weights `[O, C, KH, KW]`.
 * @param b Bias `[O]`.
 * @param s The convolution shape.
 * @returns Nothing; the result is written to `out`.
 * @throws {RangeError} If the shape is invalid or an array length does not match it.
 *
 * @example A 3x3 image and a 2x2 kernel, "valid" and with padding 1, stride 2
 * ```ts
 * import { conv2dForward } from "./conv2d.ts";
 * import assert from "node:assert";
 *
 * const s = { batch: 1, inChannels: 1, height: 3, width: 3, outChannels: 1, kernelH: 2, kernelW: 2 };
 * const x = Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9), w = Float64Array.of(1, 2, 3, 4);
 * const out = new Float64Array(4);
 * conv2dForward(out, x, w, Float64Array.of(0), s);
 * assert.deepStrictEqual(Array.from(out), [37, 47, 67, 77]);
 * // padded to 5x5, windows at rows/columns -1 and 1: [[1*4, 2*3+3*4], [4*2+7*4, 5*1+6*2+8*3+9*4]]
 * conv2dForward(out, x, w, Float64Array.of(0), {
 *   ...s, strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1,
 * });
 * assert.deepStrictEqual(Array.from(out), [4, 18, 36, 77]);
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
  const { SH, SW, PT, PL, OH, OW } = resolve(s);
  checkLength("conv2dForward", "out", out, N * O * OH * OW);
  checkLength("conv2dForward", "x", x, N * C * H * W);
  checkLength("conv2dForward", "w", w, O * C * KH * KW);
  checkLength("conv2dForward", "b", b, O);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      for (let oy = 0; oy < OH; oy++) {
        const y0 = oy * SH - PT; // input row of kernel row i = 0
        const iLo = Math.max(0, -y0), iHi = Math.min(KH, H - y0);
        for (let ox = 0; ox < OW; ox++) {
          const x0 = ox * SW - PL; // input column of kernel column j = 0
          const jLo = Math.max(0, -x0), jHi = Math.min(KW, W - x0);
          let sum = b[o];
          for (let c = 0; c < C; c++) {
            for (let i = iLo; i < iHi; i++) {
              const xRow = ((n * C + c) * H + y0 + i) * W + x0;
              const wRow = ((o * C + c) * KH + i) * KW;
              for (let j = jLo; j < jHi; j++) sum += x[xRow + j] * w[wRow + j];
            }
          }
          out[((n * O + o) * OH + oy) * OW + ox] = sum;
        }
      }
    }
  }
}

/**
 * Backward pass. Overwrites (does not accumulate into) `dx`, `dw` and `db`:
 *   db[o]       = sum_{n,oy,ox} dOut[n,o,oy,ox]
 *   dw[o,c,i,j] = sum_{n,oy,ox} dOut[n,o,oy,ox] * x[n,c, oy*SH - PT + i, ox*SW - PL + j]   (inside)
 *   dx[n,c,p,q] = sum_{o,i,j} dOut[n,o,oy,ox] * w[o,c,i,j]   over the (i, j) with
 *                 p + PT - i = oy*SH, q + PL - j = ox*SW for an output (oy, ox) inside the output
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
 * @throws {RangeError} If the shape is invalid or an array length does not match it.
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
  const { SH, SW, PT, PL, OH, OW } = resolve(s);
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

  // dw[o,c,i,j] = sum_{n,oy,ox} dOut[n,o,oy,ox] * x[n,c,oy*SH-PT+i,ox*SW-PL+j], inside the image:
  // rows 0 <= oy*SH - PT + i < H, columns 0 <= ox*SW - PL + j < W
  for (let o = 0; o < O; o++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < KH; i++) {
        const oyLo = Math.max(0, Math.ceil((PT - i) / SH));
        const oyHi = Math.min(OH, Math.ceil((H + PT - i) / SH));
        for (let j = 0; j < KW; j++) {
          const oxLo = Math.max(0, Math.ceil((PL - j) / SW));
          const oxHi = Math.min(OW, Math.ceil((W + PL - j) / SW));
          let sum = 0;
          for (let n = 0; n < N; n++) {
            for (let oy = oyLo; oy < oyHi; oy++) {
              const dRow = ((n * O + o) * OH + oy) * OW;
              const xRow = ((n * C + c) * H + oy * SH - PT + i) * W - PL + j;
              for (let ox = oxLo; ox < oxHi; ox++) sum += dOut[dRow + ox] * x[xRow + ox * SW];
            }
          }
          dw[((o * C + c) * KH + i) * KW + j] = sum;
        }
      }
    }
  }

  if (dx === null) return;
  // dx[n,c,p,q] = sum_{o,i,j} dOut[n,o,oy,ox] * w[o,c,i,j] with oy = (p + PT - i) / SH and
  // ox = (q + PL - j) / SW whole numbers in [0, OH) and [0, OW)
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let p = 0; p < H; p++) {
        for (let q = 0; q < W; q++) {
          let sum = 0;
          for (let o = 0; o < O; o++) {
            for (let i = 0; i < KH; i++) {
              const ty = p + PT - i;
              if (ty < 0 || ty % SH !== 0 || ty / SH >= OH) continue;
              const dRow = ((n * O + o) * OH + ty / SH) * OW;
              const wRow = ((o * C + c) * KH + i) * KW;
              for (let j = 0; j < KW; j++) {
                const tx = q + PL - j;
                if (tx < 0 || tx % SW !== 0 || tx / SW >= OW) continue;
                sum += dOut[dRow + tx / SW] * w[wRow + j];
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
