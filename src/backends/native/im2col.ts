/**
 * im2col and col2im for a valid, stride-1 convolution over a whole batch, so that the
 * convolution becomes one GEMM: `Y[O, N·P] = W[O, C·KH·KW] · cols[C·KH·KW, N·P]`.
 *
 * Dimension letters: N batch, C channels, H x W input, KH x KW kernel, OH x OW output,
 * P = OH·OW. `x` is NCHW; `cols` is row-major `[C·KH·KW, N·P]`:
 *   cols[(c·KH + i)·KW + j, n·P + y·OW + x] = x[n, c, y + i, x + j]
 *
 * @module
 */
import type { Conv2DShape } from "../../../cpu/conv2d.ts";

/**
 * Unfolds every receptive field of the batch into a column of `cols`. Writes `cols` in order;
 * reads one channel of every sample per row (the loop order keeps that in L2).
 *
 * @param cols Output `[C·KH·KW, N·P]`, overwritten.
 * @param x Input `[N, C, H, W]`.
 * @param s The convolution shape (`batch` = N).
 */
export function im2col(cols: Float32Array, x: Float32Array, s: Conv2DShape): void {
  const { batch: N, inChannels: C, height: H, width: W, kernelH: KH, kernelW: KW } = s;
  const OH = H - KH + 1, OW = W - KW + 1, HW = H * W, CHW = C * HW;
  let d = 0;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < KH; i++) {
      for (let j = 0; j < KW; j++) {
        for (let n = 0, src = c * HW + i * W + j; n < N; n++, src += CHW) {
          for (let y = 0; y < OH; y++) {
            let r = src + y * W, xo = 0;
            for (; xo + 4 <= OW; xo += 4, r += 4, d += 4) {
              cols[d] = x[r];
              cols[d + 1] = x[r + 1];
              cols[d + 2] = x[r + 2];
              cols[d + 3] = x[r + 3];
            }
            for (; xo < OW; xo++) cols[d++] = x[r++];
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
 * @param dx Output `[N, C, H, W]`, overwritten.
 * @param dCols Input `[C·KH·KW, N·P]`.
 * @param s The convolution shape (`batch` = N).
 */
export function col2im(dx: Float32Array, dCols: Float32Array, s: Conv2DShape): void {
  const { batch: N, inChannels: C, height: H, width: W, kernelH: KH, kernelW: KW } = s;
  const OH = H - KH + 1, OW = W - KW + 1, HW = H * W, CHW = C * HW;
  dx.fill(0, 0, N * CHW);
  let d = 0;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < KH; i++) {
      for (let j = 0; j < KW; j++) {
        for (let n = 0, dst = c * HW + i * W + j; n < N; n++, dst += CHW) {
          for (let y = 0; y < OH; y++) {
            let r = dst + y * W, xo = 0;
            for (; xo + 4 <= OW; xo += 4, r += 4, d += 4) {
              dx[r] += dCols[d];
              dx[r + 1] += dCols[d + 1];
              dx[r + 2] += dCols[d + 2];
              dx[r + 3] += dCols[d + 3];
            }
            for (; xo < OW; xo++) dx[r++] += dCols[d++];
          }
        }
      }
    }
  }
}
