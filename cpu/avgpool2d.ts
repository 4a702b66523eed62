/**
 * 2-D average pooling with optional strides, PyTorch's `torch.nn.AvgPool2d(kernel, stride,
 * padding=0, ceil_mode=not ignoreBorder)`; global average pooling is the window H x W: the CPU
 * reference.
 *
 * Dimension letters as in `maxpool2d.ts` (same shape {@linkcode Pool2DShape}, same output size
 * {@linkcode poolOutputSize} of `src/shapes.ts`): N batch, C channels, H x W input, PH x PW
 * window, SH x SW stride (default = the window), OH x OW output.
 *   window (oy, ox) = rows oy*SH .. min(oy*SH + PH, H) - 1, columns ox*SW .. min(ox*SW + PW, W) - 1
 *   count(oy, ox)   = the number of input elements in the window (fewer for a partial window
 *                     at the border, as PyTorch with ceil_mode and no padding)
 *   out[n,c,oy,ox]  = sum over the window of x[n,c,.,.] / count(oy, ox)
 *   dx[n,c,p,q]     = sum over the windows containing (p, q) of dOut[n,c,oy,ox] / count(oy, ox)
 *
 * @module
 */

import { poolOutputSize } from "../src/shapes.ts";
import type { Pool2DShape } from "./maxpool2d.ts";
import type { FloatArray } from "./types.ts";

/**
 * Output size of the average pooling, {@linkcode poolOutputSize} on each axis (the same as max
 * pooling's).
 *
 * @param s The pooling shape.
 * @returns `{ outH, outW }`.
 * @throws {RangeError} If a dimension or stride is not a positive integer.
 *
 * @example Global average pooling of 7x7 maps, and 3x3 windows with stride 2
 * ```ts
 * import { avgPool2dOutputSize } from "./avgpool2d.ts";
 * import assert from "node:assert";
 *
 * const s = { batch: 1, channels: 64, height: 7, width: 7, poolH: 7, poolW: 7, ignoreBorder: true };
 * assert.deepStrictEqual(avgPool2dOutputSize(s), { outH: 1, outW: 1 });
 * const t = { ...s, poolH: 3, poolW: 3, strideH: 2, strideW: 2, ignoreBorder: false };
 * assert.deepStrictEqual(avgPool2dOutputSize(t), { outH: 3, outW: 3 });
 * ```
 */
export function avgPool2dOutputSize(s: Pool2DShape): { outH: number; outW: number } {
  const { OH, OW } = resolve(s);
  return { outH: OH, outW: OW };
}

/**
 * Forward pass: the mean of each window's elements inside the input (divisor = their count).
 *
 * @param out Output `[N, C, OH, OW]`, overwritten.
 * @param x Input `[N, C, H, W]`.
 * @param s The pooling shape.
 * @returns Nothing; the result is written to `out`.
 * @throws {RangeError} If the shape is invalid or an array length does not match it.
 *
 * @example A 3x3 image, 2x2 windows, partial windows kept (divided by 2 and 1)
 * ```ts
 * import { avgPool2dForward } from "./avgpool2d.ts";
 * import assert from "node:assert";
 *
 * const s = { batch: 1, channels: 1, height: 3, width: 3, poolH: 2, poolW: 2, ignoreBorder: false };
 * const out = new Float64Array(4);
 * avgPool2dForward(out, Float64Array.of(1, 5, 2, 4, 3, 0, 7, 8, 6), s);
 * assert.deepStrictEqual(Array.from(out), [3.25, 1, 7.5, 6]);
 * ```
 */
export function avgPool2dForward(out: FloatArray, x: FloatArray, s: Pool2DShape): void {
  const { batch: N, channels: C, height: H, width: W, poolH: PH, poolW: PW } = s;
  const { SH, SW, OH, OW } = resolve(s);
  checkLength("avgPool2dForward", "out", out, N * C * OH * OW);
  checkLength("avgPool2dForward", "x", x, N * C * H * W);
  for (let nc = 0; nc < N * C; nc++) {
    for (let oy = 0; oy < OH; oy++) {
      const r0 = oy * SH, r1 = Math.min(r0 + PH, H);
      for (let ox = 0; ox < OW; ox++) {
        const c0 = ox * SW, c1 = Math.min(c0 + PW, W);
        let sum = 0;
        for (let r = r0; r < r1; r++) {
          for (let c = c0; c < c1; c++) sum += x[(nc * H + r) * W + c];
        }
        out[(nc * OH + oy) * OW + ox] = sum / ((r1 - r0) * (c1 - c0));
      }
    }
  }
}

/**
 * Backward pass: `dx += dOut / count` over every element of each window, accumulated into a
 * zeroed `dx` (windows may overlap). Overwrites `dx`.
 *
 * @param dx Gradient w.r.t. the input `[N, C, H, W]`, overwritten.
 * @param dOut Gradient w.r.t. the output `[N, C, OH, OW]`.
 * @param s The pooling shape.
 * @returns Nothing; the gradient is written to `dx`.
 * @throws {RangeError} If the shape is invalid or an array length does not match it.
 *
 * @example Global average pooling of a 2x2 map spreads the gradient evenly
 * ```ts
 * import { avgPool2dBackward } from "./avgpool2d.ts";
 * import assert from "node:assert";
 *
 * const s = { batch: 1, channels: 1, height: 2, width: 2, poolH: 2, poolW: 2, ignoreBorder: true };
 * const dx = new Float64Array(4);
 * avgPool2dBackward(dx, Float64Array.of(8), s);
 * assert.deepStrictEqual(Array.from(dx), [2, 2, 2, 2]);
 * ```
 */
export function avgPool2dBackward(dx: FloatArray, dOut: FloatArray, s: Pool2DShape): void {
  const { batch: N, channels: C, height: H, width: W, poolH: PH, poolW: PW } = s;
  const { SH, SW, OH, OW } = resolve(s);
  checkLength("avgPool2dBackward", "dx", dx, N * C * H * W);
  checkLength("avgPool2dBackward", "dOut", dOut, N * C * OH * OW);
  dx.fill(0);
  for (let nc = 0; nc < N * C; nc++) {
    for (let oy = 0; oy < OH; oy++) {
      const r0 = oy * SH, r1 = Math.min(r0 + PH, H);
      for (let ox = 0; ox < OW; ox++) {
        const c0 = ox * SW, c1 = Math.min(c0 + PW, W);
        const g = dOut[(nc * OH + oy) * OW + ox] / ((r1 - r0) * (c1 - c0));
        for (let r = r0; r < r1; r++) {
          for (let c = c0; c < c1; c++) dx[(nc * H + r) * W + c] += g;
        }
      }
    }
  }
}

/** The shape's strides (default: the window) and output size, validated. */
function resolve(s: Pool2DShape) {
  for (const k of ["batch", "channels", "height", "width", "poolH", "poolW"] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 1) {
      throw new RangeError(`avgPool2d: ${k} must be a positive integer, received ${s[k]}`);
    }
  }
  const SH = s.strideH ?? s.poolH, SW = s.strideW ?? s.poolW;
  for (const [k, v] of [["strideH", SH], ["strideW", SW]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`avgPool2d: ${k} must be a positive integer, received ${v}`);
    }
  }
  const OH = poolOutputSize(s.height, s.poolH, SH, s.ignoreBorder);
  const OW = poolOutputSize(s.width, s.poolW, SW, s.ignoreBorder);
  return { SH, SW, OH, OW };
}

function checkLength(fn: string, name: string, a: ArrayLike<number>, expected: number): void {
  if (a.length !== expected) {
    throw new RangeError(`${fn}: ${name} must have length ${expected}, received ${a.length}`);
  }
}
