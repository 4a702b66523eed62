/**
 * The output-size formulas of the convolution and the pooling, in one backend-neutral place:
 * the planner (`src/layers.ts`) resolves every layer's `outShape` with them, and the CPU
 * reference (`cpu/conv2d.ts`, `cpu/maxpool2d.ts`, `cpu/avgpool2d.ts`) checks its arrays with
 * them. No backend computes an output size: the WebGPU kernels and the native stages read it
 * from the plan.
 *
 * Dimension letters: N batch, C input channels, H x W input, O output channels, KH x KW
 * kernel, PH x PW pool window, SH x SW stride, PT, PL, PB, PR zero padding at the top, left,
 * bottom, right, OH x OW output.
 *   convolution:  OH = floor((H + PT + PB - KH) / SH) + 1, likewise OW
 *   pooling, ignoreBorder true (PyTorch ceil_mode=False): OH = H < PH ? 0 : floor((H - PH) / SH) + 1
 *   pooling, ignoreBorder false (PyTorch ceil_mode=True): a partial window at the border is kept:
 *                       OH = SH >= PH ? ceil(H / SH) : max(0, ceil((H - PH) / SH)) + 1
 *
 * @module
 */

/**
 * Shape of a convolution: input `[batch, inChannels, height, width]`, weights
 * `[outChannels, inChannels, kernelH, kernelW]`, optional stride and zero padding.
 */
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
  /** KH: kernel height (<= padded height). */
  kernelH: number;
  /** KW: kernel width (<= padded width). */
  kernelW: number;
  /** SH: vertical stride (default 1). */
  strideH?: number;
  /** SW: horizontal stride (default 1). */
  strideW?: number;
  /** PT: zero rows added above the image (default 0). */
  padTop?: number;
  /** PL: zero columns added left of the image (default 0). */
  padLeft?: number;
  /** PB: zero rows added below the image (default 0). */
  padBottom?: number;
  /** PR: zero columns added right of the image (default 0). */
  padRight?: number;
}

/** Zero padding of the four sides of an image, as returned by {@linkcode conv2dPadding}. */
export interface Padding2D {
  /** Rows added above. */
  top: number;
  /** Columns added on the left. */
  left: number;
  /** Rows added below. */
  bottom: number;
  /** Columns added on the right. */
  right: number;
}

/**
 * The padding of a Keras/PyTorch-style `padding` argument:
 * - `"valid"`: no padding;
 * - a number p: p on all four sides; `[ph, pw]`: ph at top and bottom, pw at left and right;
 * - `"same"` (PyTorch: stride 1 only): the output has the input's size; the total padding
 *   `k - 1` is split `top = floor((k - 1) / 2)`, `bottom = (k - 1) - top` (an even kernel puts
 *   the extra row below and the extra column on the right, as PyTorch does).
 *
 * @param padding The padding argument.
 * @param kernelH KH, the kernel height.
 * @param kernelW KW, the kernel width.
 * @param strideH SH, the vertical stride.
 * @param strideW SW, the horizontal stride.
 * @returns `{ top, left, bottom, right }`.
 * @throws {RangeError} If a number is not a non-negative integer, or `"same"` is used with a stride other than 1.
 *
 * @example "same" for a 3x3 and an even 4x4 kernel
 * ```ts
 * import { conv2dPadding } from "./shapes.ts";
 * import assert from "node:assert";
 *
 * assert.deepStrictEqual(conv2dPadding("same", 3, 3, 1, 1), { top: 1, left: 1, bottom: 1, right: 1 });
 * assert.deepStrictEqual(conv2dPadding("same", 4, 4, 1, 1), { top: 1, left: 1, bottom: 2, right: 2 });
 * assert.deepStrictEqual(conv2dPadding([2, 0], 5, 5, 2, 2), { top: 2, left: 0, bottom: 2, right: 0 });
 * ```
 */
export function conv2dPadding(
  padding: "valid" | "same" | number | [number, number],
  kernelH: number,
  kernelW: number,
  strideH: number,
  strideW: number,
): Padding2D {
  if (padding === "valid") return { top: 0, left: 0, bottom: 0, right: 0 };
  if (padding === "same") {
    if (strideH !== 1 || strideW !== 1) {
      throw new RangeError(
        `conv2dPadding: padding "same" needs stride 1 (as PyTorch), received stride ${strideH}x${strideW}`,
      );
    }
    for (const [name, k] of [["kernelH", kernelH], ["kernelW", kernelW]] as const) {
      if (!Number.isInteger(k) || k < 1) {
        throw new RangeError(`conv2dPadding: ${name} must be a positive integer, received ${k}`);
      }
    }
    const top = Math.floor((kernelH - 1) / 2), left = Math.floor((kernelW - 1) / 2);
    return { top, left, bottom: kernelH - 1 - top, right: kernelW - 1 - left };
  }
  const [ph, pw] = typeof padding === "number" ? [padding, padding] : padding;
  for (const p of [ph, pw]) {
    if (!Number.isInteger(p) || p < 0) {
      throw new RangeError(
        `conv2dPadding: padding must be "valid", "same", a non-negative integer or a pair of them, received ${
          JSON.stringify(padding)
        }`,
      );
    }
  }
  return { top: ph, left: pw, bottom: ph, right: pw };
}

/**
 * Output size of the convolution: `OH = floor((H + PT + PB - KH) / SH) + 1`, likewise OW
 * (`(H - KH + 1) x (W - KW + 1)` with the default stride 1 and no padding).
 *
 * @param s The convolution shape.
 * @returns `{ outH, outW }`.
 * @throws {RangeError} If a dimension is not a positive integer, a padding not a non-negative integer, or the kernel is larger than the padded image.
 *
 * @example LeNet's first layer, and a 3x3 stride-2 convolution with padding 1
 * ```ts
 * import { conv2dOutputSize } from "./shapes.ts";
 * import assert from "node:assert";
 *
 * const s = { batch: 1, inChannels: 1, height: 28, width: 28, outChannels: 20, kernelH: 5, kernelW: 5 };
 * assert.deepStrictEqual(conv2dOutputSize(s), { outH: 24, outW: 24 });
 * const t = { ...s, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1 };
 * assert.deepStrictEqual(conv2dOutputSize(t), { outH: 14, outW: 14 });
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
  const SH = s.strideH ?? 1, SW = s.strideW ?? 1;
  for (const [k, v] of [["strideH", SH], ["strideW", SW]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`conv2d: ${k} must be a positive integer, received ${v}`);
    }
  }
  const PT = s.padTop ?? 0, PL = s.padLeft ?? 0, PB = s.padBottom ?? 0, PR = s.padRight ?? 0;
  for (
    const [k, v] of [["padTop", PT], ["padLeft", PL], ["padBottom", PB], ["padRight", PR]] as const
  ) {
    if (!Number.isInteger(v) || v < 0) {
      throw new RangeError(`conv2d: ${k} must be a non-negative integer, received ${v}`);
    }
  }
  const HP = s.height + PT + PB, WP = s.width + PL + PR;
  if (s.kernelH > HP || s.kernelW > WP) {
    const what = HP === s.height && WP === s.width ? "image" : "padded image";
    throw new RangeError(
      `conv2d: kernel ${s.kernelH}x${s.kernelW} is larger than the ${what} ${HP}x${WP}`,
    );
  }
  return {
    outH: Math.floor((HP - s.kernelH) / SH) + 1,
    outW: Math.floor((WP - s.kernelW) / SW) + 1,
  };
}

/**
 * Output size of a pooling (max or average) along one axis, THE one place of the formula:
 * - `ignoreBorder` (PyTorch `ceil_mode=False`): `size < pool ? 0 : floor((size - pool) / stride) + 1`;
 * - else (Theano `ignore_border=False`, PyTorch `ceil_mode=True` with padding 0, where the last
 *   window must start inside the input): `stride >= pool ? ceil(size / stride)
 *   : max(0, ceil((size - pool) / stride)) + 1`.
 *
 * @param size The input size (H or W).
 * @param pool The window size (PH or PW).
 * @param stride The stride (SH or SW).
 * @param ignoreBorder Whether partial windows at the border are dropped.
 * @returns The output size (0 when `ignoreBorder` and the window is larger than the input).
 * @throws {RangeError} If `size`, `pool` or `stride` is not a positive integer.
 *
 * @example 3x3 windows with stride 2 on 13 and 14 rows
 * ```ts
 * import { poolOutputSize } from "./shapes.ts";
 * import assert from "node:assert";
 *
 * assert.strictEqual(poolOutputSize(13, 3, 2, true), 6);
 * assert.strictEqual(poolOutputSize(14, 3, 2, true), 6);
 * assert.strictEqual(poolOutputSize(14, 3, 2, false), 7); // last window: rows 12..13
 * assert.strictEqual(poolOutputSize(5, 2, 2, false), 3); // the tutorial's ceil(5 / 2)
 * ```
 */
export function poolOutputSize(
  size: number,
  pool: number,
  stride: number,
  ignoreBorder: boolean,
): number {
  for (const [k, v] of [["size", size], ["pool", pool], ["stride", stride]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`poolOutputSize: ${k} must be a positive integer, received ${v}`);
    }
  }
  if (ignoreBorder) return size < pool ? 0 : Math.floor((size - pool) / stride) + 1;
  return stride >= pool
    ? Math.ceil(size / stride)
    : Math.max(0, Math.ceil((size - pool) / stride)) + 1;
}
