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
 * Unfolds every receptive field of the batch into a column of `cols`.
 *
 * @param cols Output `[C·KH·KW, N·P]`, overwritten.
 * @param x Input `[N, C, H, W]`.
 * @param s The convolution shape (`batch` = N).
 */
export function im2col(cols: Float32Array, x: Float32Array, s: Conv2DShape): void {
  const { batch: N, inChannels: C, height: H, width: W, kernelH: KH, kernelW: KW } = s;
  const OH = H - KH + 1, OW = W - KW + 1, P = OH * OW, NP = N * P;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const plane = (n * C + c) * H * W;
      for (let i = 0; i < KH; i++) {
        for (let j = 0; j < KW; j++) {
          let d = ((c * KH + i) * KW + j) * NP + n * P;
          for (let y = 0; y < OH; y++) {
            const src = plane + (y + i) * W + j;
            for (let xo = 0; xo < OW; xo++) cols[d++] = x[src + xo];
          }
        }
      }
    }
  }
}

/**
 * The adjoint of {@link im2col}: sums each column back onto the input positions it came from.
 *
 * @param dx Output `[N, C, H, W]`, overwritten.
 * @param dCols Input `[C·KH·KW, N·P]`.
 * @param s The convolution shape (`batch` = N).
 */
export function col2im(dx: Float32Array, dCols: Float32Array, s: Conv2DShape): void {
  const { batch: N, inChannels: C, height: H, width: W, kernelH: KH, kernelW: KW } = s;
  const OH = H - KH + 1, OW = W - KW + 1, P = OH * OW, NP = N * P;
  dx.fill(0, 0, N * C * H * W);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const plane = (n * C + c) * H * W;
      for (let i = 0; i < KH; i++) {
        for (let j = 0; j < KW; j++) {
          let d = ((c * KH + i) * KW + j) * NP + n * P;
          for (let y = 0; y < OH; y++) {
            const dst = plane + (y + i) * W + j;
            for (let xo = 0; xo < OW; xo++) dx[dst + xo] += dCols[d++];
          }
        }
      }
    }
  }
}
