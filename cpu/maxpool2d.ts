/**
 * 2-D max pooling with optional strides: Theano's `max_pool_2d(input, ds, ignore_border, st)`
 * and PyTorch's `torch.nn.MaxPool2d(kernel, stride, padding=0, ceil_mode=not ignoreBorder)`:
 * the CPU reference. {@linkcode poolOutputSize} (from `src/shapes.ts`, re-exported here) is THE
 * one place of the output-size formula, shared by max and average pooling and the planner.
 *
 * Dimension letters, used throughout:
 *   N batch, C channels, H x W input, PH x PW pool window, SH x SW stride (default = the window:
 *   non-overlapping, the tutorial's pooling), OH x OW output.
 *   ignoreBorder true (PyTorch ceil_mode=False): OH = H < PH ? 0 : floor((H - PH) / SH) + 1
 *   ignoreBorder false (PyTorch ceil_mode=True): a partial window at the border is kept:
 *                       OH = SH >= PH ? ceil(H / SH) : max(0, ceil((H - PH) / SH)) + 1
 *   x [N, C, H, W]   out [N, C, OH, OW]
 *   window (oy, ox) = rows oy*SH .. min(oy*SH + PH, H) - 1, columns ox*SW .. min(ox*SW + PW, W) - 1
 *   out[n,c,oy,ox] = max over the window of x[n,c,.,.]
 * Windows overlap when the stride is smaller than the window (e.g. 3x3 stride 2); backward then
 * ACCUMULATES into dx.
 *
 * Tie rule (`ties`, backward only):
 * - `"first"` (default, PyTorch and cuDNN): the FIRST maximum in row-major scan order of the
 *   window wins (strict `>`), and the whole gradient of that output goes there;
 * - `"all"` (Theano's `MaxPoolGrad`, the tutorial's): the full gradient goes to EVERY element of
 *   the window equal to its maximum:
 *   dx[n,c,p,q] = sum over the windows (oy, ox) containing (p, q) with x[n,c,p,q] = out[n,c,oy,ox]
 *                 of dOut[n,c,oy,ox].
 * The two differ on exact ties only. With continuous inputs ties have probability zero, but they
 * happen on exact data: MNIST's saturated strokes (many pixels exactly 255/256) give windows of
 * equal conv outputs.
 *
 * @module
 */

import { poolOutputSize } from "../src/shapes.ts";
import type { FloatArray } from "./types.ts";

// The one-axis output size lives in the backend-neutral `src/shapes.ts` (the planner uses it
// too); re-exported here for the reference's users.
export { poolOutputSize } from "../src/shapes.ts";

/** Shape of a 2-D pooling: input `[batch, channels, height, width]`, window `poolH x poolW`, optional strides. */
export interface MaxPool2DShape {
  /** N: images in the mini-batch. */
  batch: number;
  /** C: feature maps. */
  channels: number;
  /** H: input height. */
  height: number;
  /** W: input width. */
  width: number;
  /** PH: window height. */
  poolH: number;
  /** PW: window width. */
  poolW: number;
  /** SH: vertical stride (default `poolH`: non-overlapping windows). */
  strideH?: number;
  /** SW: horizontal stride (default `poolW`). */
  strideW?: number;
  /** Theano's `ignore_border` (PyTorch's `ceil_mode` negated): true drops partial windows at the border, false keeps them. */
  ignoreBorder: boolean;
  /** Where backward sends a window's gradient on ties: `"first"` maximum (default) or `"all"` of them (Theano). */
  ties?: MaxPoolTies;
}

/**
 * The tie rule of max-pooling backward: `"first"` (PyTorch: the first maximum in row-major
 * order gets the window's gradient) or `"all"` (Theano's `MaxPoolGrad`: every element equal to
 * the maximum gets it).
 */
export type MaxPoolTies = "first" | "all";

/** Shape of a 2-D pooling, max or average (the same fields as {@linkcode MaxPool2DShape}). */
export type Pool2DShape = MaxPool2DShape;

/** The shape's strides (default: the window) and output size, validated. */
function resolve(s: Pool2DShape) {
  for (const k of ["batch", "channels", "height", "width", "poolH", "poolW"] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 1) {
      throw new RangeError(`maxPool2d: ${k} must be a positive integer, received ${s[k]}`);
    }
  }
  const SH = s.strideH ?? s.poolH, SW = s.strideW ?? s.poolW;
  for (const [k, v] of [["strideH", SH], ["strideW", SW]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`maxPool2d: ${k} must be a positive integer, received ${v}`);
    }
  }
  const OH = poolOutputSize(s.height, s.poolH, SH, s.ignoreBorder);
  const OW = poolOutputSize(s.width, s.poolW, SW, s.ignoreBorder);
  return { SH, SW, OH, OW };
}

/**
 * Output size of the pooling, {@linkcode poolOutputSize} on each axis. With the default strides:
 * `floor(H/PH) x floor(W/PW)` when `ignoreBorder`, else `ceil(H/PH) x ceil(W/PW)`.
 *
 * @param s The pooling shape.
 * @returns `{ outH, outW }`.
 * @throws {RangeError} If a dimension or stride is not a positive integer.
 *
 * @example The tutorial's 5x5 inputs with 2x2 pooling, and overlapping 3x3 stride 2
 * ```ts
 * import { maxPool2dOutputSize } from "./maxpool2d.ts";
 * import assert from "node:assert";
 *
 * const s = { batch: 3, channels: 2, height: 5, width: 5, poolH: 2, poolW: 2, ignoreBorder: true };
 * assert.deepStrictEqual(maxPool2dOutputSize(s), { outH: 2, outW: 2 });
 * assert.deepStrictEqual(maxPool2dOutputSize({ ...s, ignoreBorder: false }), { outH: 3, outW: 3 });
 * const o = { ...s, poolH: 3, poolW: 3, strideH: 2, strideW: 2 };
 * assert.deepStrictEqual(maxPool2dOutputSize(o), { outH: 2, outW: 2 });
 * ```
 */
export function maxPool2dOutputSize(s: MaxPool2DShape): { outH: number; outW: number } {
  const { OH, OW } = resolve(s);
  return { outH: OH, outW: OW };
}

/**
 * Forward pass: the maximum of each (possibly partial, possibly overlapping) window.
 *
 * @param out Output `[N, C, OH, OW]`, overwritten.
 * @param x Input `[N, C, H, W]`.
 * @param s The pooling shape.
 * @returns Nothing; the result is written to `out`.
 * @throws {RangeError} If the shape is invalid or an array length does not match it.
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
  const { SH, SW, OH, OW } = resolve(s);
  checkLength("maxPool2dForward", "out", out, N * C * OH * OW);
  checkLength("maxPool2dForward", "x", x, N * C * H * W);
  for (let nc = 0; nc < N * C; nc++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        out[(nc * OH + oy) * OW + ox] = x[argmaxInWindow(x, nc, oy * SH, ox * SW, s)];
      }
    }
  }
}

/**
 * Backward pass: each output gradient goes to the first maximum of its window (recomputed from
 * `x`), or with `ties: "all"` to every element of the window equal to its maximum,
 * ACCUMULATED (`+=`) into a zeroed `dx` since overlapping windows may share a maximum;
 * inputs that are no window's maximum get 0. Overwrites `dx`.
 *
 * @param dx Gradient w.r.t. the input `[N, C, H, W]`, overwritten.
 * @param dOut Gradient w.r.t. the output `[N, C, OH, OW]`.
 * @param x The forward input `[N, C, H, W]`.
 * @param s The pooling shape.
 * @returns Nothing; the gradient is written to `dx`.
 * @throws {RangeError} If the shape is invalid or an array length does not match it.
 *
 * @example Ties, and two overlapping windows sharing their maximum
 * ```ts
 * import { maxPool2dBackward } from "./maxpool2d.ts";
 * import assert from "node:assert";
 *
 * const s = { batch: 1, channels: 1, height: 2, width: 2, poolH: 2, poolW: 2, ignoreBorder: true };
 * const dx = new Float64Array(4);
 * maxPool2dBackward(dx, Float64Array.of(10), Float64Array.of(1, 5, 5, 0), s);
 * assert.deepStrictEqual(Array.from(dx), [0, 10, 0, 0]); // tie 5 = 5: the first one wins
 * // 1x3 input, 1x2 windows with stride 1: both windows pick the 9
 * const t = { ...s, height: 1, width: 3, poolH: 1, strideW: 1 };
 * const dx3 = new Float64Array(3);
 * maxPool2dBackward(dx3, Float64Array.of(1, 2), Float64Array.of(0, 9, 3), t);
 * assert.deepStrictEqual(Array.from(dx3), [0, 3, 0]);
 * // Theano's rule: both 5s get the window's gradient
 * maxPool2dBackward(dx, Float64Array.of(10), Float64Array.of(1, 5, 5, 0), { ...s, ties: "all" });
 * assert.deepStrictEqual(Array.from(dx), [0, 10, 10, 0]);
 * ```
 */
export function maxPool2dBackward(
  dx: FloatArray,
  dOut: FloatArray,
  x: FloatArray,
  s: MaxPool2DShape,
): void {
  const { batch: N, channels: C, height: H, width: W } = s;
  const { SH, SW, OH, OW } = resolve(s);
  checkLength("maxPool2dBackward", "dx", dx, N * C * H * W);
  checkLength("maxPool2dBackward", "dOut", dOut, N * C * OH * OW);
  checkLength("maxPool2dBackward", "x", x, N * C * H * W);
  const ties = s.ties ?? "first";
  if (ties !== "first" && ties !== "all") {
    throw new RangeError(`maxPool2dBackward: ties must be "first" or "all", received ${ties}`);
  }
  dx.fill(0);
  for (let nc = 0; nc < N * C; nc++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const g = dOut[(nc * OH + oy) * OW + ox];
        const best = argmaxInWindow(x, nc, oy * SH, ox * SW, s);
        if (ties === "first") {
          dx[best] += g;
          continue;
        }
        const y0 = oy * SH, x0 = ox * SW;
        for (let r = y0; r < Math.min(y0 + s.poolH, H); r++) {
          for (let c = x0; c < Math.min(x0 + s.poolW, W); c++) {
            const k = (nc * H + r) * W + c;
            if (k === best || x[k] === x[best]) dx[k] += g;
          }
        }
      }
    }
  }
}

/**
 * Flat index into `x` of the first maximum (row-major, strict `>`) of the window of plane nc
 * whose top-left input element is (y0, x0).
 */
function argmaxInWindow(
  x: FloatArray,
  nc: number,
  y0: number,
  x0: number,
  s: MaxPool2DShape,
): number {
  const { height: H, width: W, poolH: PH, poolW: PW } = s;
  const rowEnd = Math.min(y0 + PH, H);
  const colEnd = Math.min(x0 + PW, W);
  let best = (nc * H + y0) * W + x0;
  for (let r = y0; r < rowEnd; r++) {
    for (let c = x0; c < colEnd; c++) {
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
