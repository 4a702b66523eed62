/**
 * im2col and col2im for a valid (unpadded) convolution with strides over a whole batch, so
 * that the convolution becomes one GEMM: `Y[O, N·P] = W[O, C·KH·KW] · cols[C·KH·KW, N·P]`.
 * A padded convolution runs these on a zero-padded copy of its input (see `conv.ts`).
 *
 * Dimension letters: N batch, C channels, H x W input, KH x KW kernel, SH x SW strides,
 * OH = floor((H - KH) / SH) + 1 (likewise OW; given, see {@link SizedConv2DShape}), P = OH·OW.
 * `x` is NCHW; `cols` is row-major `[C·KH·KW, N·P]`:
 *   cols[(c·KH + i)·KW + j, n·P + y·OW + x] = x[n, c, y·SH + i, x·SW + j]
 *
 * @module
 */
import type { Conv2DShape } from "../../shapes.ts";

/**
 * A convolution's shape with its output plane, which these loops take as given (they
 * compute no output size): the plan's `outShape`, or `conv2dOutputSize` of `src/shapes.ts`
 * for a caller without a plan. The loops run a valid convolution on an already padded input:
 * the padding of the shape is ignored, `height` and `width` are the padded input's.
 */
export interface SizedConv2DShape extends Conv2DShape {
  /** OH: output height, `floor((H - KH) / SH) + 1` of the (padded) input. */
  outH: number;
  /** OW: output width, `floor((W - KW) / SW) + 1`. */
  outW: number;
}

/**
 * Unfolds every receptive field of the batch into a column of `cols`. Writes `cols` in order;
 * reads one channel of every sample per row (the loop order keeps that in L2).
 *
 * @param cols Output `[C·KH·KW, N·P]` starting at `colsAt`, overwritten.
 * @param x Input `[N, C, H, W]` starting at `xAt`.
 * @param s The convolution shape (`batch` = N).
 * @param colsAt Offset of the output in `cols`.
 * @param xAt Offset of the input in `x`.
 */
export function im2col(
  cols: Float32Array,
  x: Float32Array,
  s: SizedConv2DShape,
  colsAt = 0,
  xAt = 0,
): void {
  const { batch: N, inChannels: C, height: H, width: W, kernelH: KH, kernelW: KW } = s;
  const { outH: OH, outW: OW } = s;
  const SW = s.strideW ?? 1, rowStep = (s.strideH ?? 1) * W, HW = H * W, CHW = C * HW;
  let d = colsAt;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < KH; i++) {
      for (let j = 0; j < KW; j++) {
        for (let n = 0, src = xAt + c * HW + i * W + j; n < N; n++, src += CHW) {
          for (let y = 0; y < OH; y++) {
            let r = src + y * rowStep, xo = 0;
            if (SW === 1) {
              for (; xo + 4 <= OW; xo += 4, r += 4, d += 4) {
                cols[d] = x[r];
                cols[d + 1] = x[r + 1];
                cols[d + 2] = x[r + 2];
                cols[d + 3] = x[r + 3];
              }
            }
            for (; xo < OW; xo++, r += SW) cols[d++] = x[r];
          }
        }
      }
    }
  }
}

/**
 * The adjoint of {@link im2col}: sums each column back onto the input positions it came
 * from. Reads `dCols` in order.
 *
 * @param dx Output `[N, C, H, W]` starting at `dxAt`, overwritten.
 * @param dCols Input `[C·KH·KW, N·P]`.
 * @param s The convolution shape (`batch` = N).
 * @param dxAt Offset of the output in `dx`.
 */
export function col2im(dx: Float32Array, dCols: Float32Array, s: SizedConv2DShape, dxAt = 0): void {
  const { batch: N, inChannels: C, height: H, width: W, kernelH: KH, kernelW: KW } = s;
  const { outH: OH, outW: OW } = s;
  const SW = s.strideW ?? 1, rowStep = (s.strideH ?? 1) * W, HW = H * W, CHW = C * HW;
  dx.fill(0, dxAt, dxAt + N * CHW);
  let d = 0;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < KH; i++) {
      for (let j = 0; j < KW; j++) {
        for (let n = 0, dst = dxAt + c * HW + i * W + j; n < N; n++, dst += CHW) {
          for (let y = 0; y < OH; y++) {
            let r = dst + y * rowStep, xo = 0;
            if (SW === 1) {
              for (; xo + 4 <= OW; xo += 4, r += 4, d += 4) {
                dx[r] += dCols[d];
                dx[r + 1] += dCols[d + 1];
                dx[r + 2] += dCols[d + 2];
                dx[r + 3] += dCols[d + 3];
              }
            }
            for (; xo < OW; xo++, r += SW) dx[r] += dCols[d++];
          }
        }
      }
    }
  }
}

/**
 * Columns per sample of the "wide" layout of {@link im2colWide}: the output rows keep the
 * input's row stride W, so a sample spans `(OH - 1)·W + OW` columns, of which the
 * `W - OW` at the end of each output row but the last are unused. Stride 1 only.
 *
 * @param s The convolution shape.
 * @returns `(OH - 1)·W + OW`.
 */
export function wideColumns(s: SizedConv2DShape): number {
  return (s.outH - 1) * s.width + s.outW;
}

/**
 * {@link im2col} in the wide layout: with `Q` = {@link wideColumns},
 *   cols[(c·KH + i)·KW + j, n·Q + y·W + x] = x[n, c, y + i, x + j]
 * so each row of a sample is ONE contiguous run of the input, `x[n, c]` from `i·W + j` on
 * (a memcpy instead of a copy per output row). The unused columns (x >= OW) hold input
 * values; the GEMM computes garbage there, which the caller skips.
 *
 * @param cols Output `[C·KH·KW, N·Q]` starting at `colsAt`, overwritten.
 * @param x Input `[N, C, H, W]` starting at `xAt`.
 * @param s The convolution shape (`batch` = N).
 * @param colsAt Offset of the output in `cols`.
 * @param xAt Offset of the input in `x`.
 */
export function im2colWide(
  cols: Float32Array,
  x: Float32Array,
  s: SizedConv2DShape,
  colsAt = 0,
  xAt = 0,
): void {
  const { batch: N, inChannels: C, height: H, width: W, kernelH: KH, kernelW: KW } = s;
  const Q = wideColumns(s), HW = H * W, CHW = C * HW;
  let d = colsAt;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < KH; i++) {
      for (let j = 0; j < KW; j++) {
        for (let n = 0, src = xAt + c * HW + i * W + j; n < N; n++, src += CHW, d += Q) {
          cols.set(x.subarray(src, src + Q), d);
        }
      }
    }
  }
}

/**
 * The adjoint of {@link im2colWide}: sums each column back onto the input positions it came
 * from. The unused columns of `dCols` must be zero.
 *
 * @param dx Output `[N, C, H, W]` starting at `dxAt`, overwritten.
 * @param dCols Input `[C·KH·KW, N·Q]`.
 * @param s The convolution shape (`batch` = N).
 * @param dxAt Offset of the output in `dx`.
 */
export function col2imWide(
  dx: Float32Array,
  dCols: Float32Array,
  s: SizedConv2DShape,
  dxAt = 0,
): void {
  const { batch: N, inChannels: C, height: H, width: W, kernelH: KH, kernelW: KW } = s;
  const Q = wideColumns(s), HW = H * W, CHW = C * HW;
  dx.fill(0, dxAt, dxAt + N * CHW);
  let d = 0;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < KH; i++) {
      for (let j = 0; j < KW; j++) {
        for (let n = 0, dst = dxAt + c * HW + i * W + j; n < N; n++, dst += CHW) {
          for (let q = 0; q < Q; q++) dx[dst + q] += dCols[d++];
        }
      }
    }
  }
}
