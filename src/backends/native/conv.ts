/**
 * A convolution stage of the native backend: Conv2D, optionally followed by MaxPool2D
 * and/or an activation, fused.
 *
 * The batch is processed in chunks of `Nc` samples sized so that a chunk's im2col matrix stays
 * in L2 (measured: the first LeNet conv, K = 25, runs its GEMMs 3-4x faster on a cache-hot
 * chunk than over the whole batch, where they are bound by memory traffic).
 *
 * Forward, per chunk: im2col, then one GEMM `Y[O, Nc·P] = W · cols` (channel-major, no bias);
 * the epilogue adds the bias, pools (recording argmax) and applies the activation while
 * writing the stage's NCHW output. The im2col matrices are kept for backward.
 * Backward, per chunk: the activation's derivative and the pooling's scatter (or a transpose)
 * give `dY[O, Nc·P]` and the bias gradient; then `dW += dY · colsᵀ` and, unless this is the
 * first stage, `dCols = Wᵀ · dY` followed by col2im.
 *
 * Dimension letters: N batch, C in channels, H x W input, O filters, KH x KW kernel,
 * OH x OW conv output, P = OH·OW, K = C·KH·KW; pooled output PH x PW (or OH x OW).
 *
 * @module
 */
import type { Conv2DShape } from "../../../cpu/conv2d.ts";
import type { Blas } from "./blas.ts";
import { col2im, im2col } from "./im2col.ts";
import {
  activateInPlace,
  type Activation,
  activationBackward,
  maxPoolForward,
  type PoolGeometry,
} from "./pointwise.ts";

/** A pooling fused after the convolution. */
export interface FusedPool {
  poolH: number;
  poolW: number;
  ignoreBorder: boolean;
}

/** Bytes of one chunk's im2col matrix aimed at (L2 is 1-2 MiB on current x86 cores). */
const CHUNK_BYTES = 1 << 20;

/** Conv2D [+ MaxPool2D] [+ activation] with every buffer allocated once for `maxBatch`. */
export class ConvStage {
  /** Values per sample of the stage's output. */
  readonly outSize: number;
  /** Samples per chunk. */
  readonly chunk: number;
  readonly #blas: Blas;
  readonly #s: Conv2DShape;
  readonly #pool: FusedPool | null;
  readonly #act: Activation;
  readonly #outH: number;
  readonly #outW: number;
  readonly #P: number;
  readonly #K: number;
  /** im2col of the whole batch, chunk after chunk, each `[K, Nc·P]`. */
  readonly #cols: Float32Array;
  /** One chunk of the GEMM output in forward, of its gradient in backward. */
  readonly #y: Float32Array;
  readonly #dCols: Float32Array | null;
  readonly #dPre: Float32Array;
  /** Per pooled output: the index of its maximum in its chunk's `#y`. */
  readonly #argmax: Int32Array;
  readonly #dbSum: Float64Array;

  /**
   * @param blas The BLAS to call.
   * @param s The convolution shape, `batch` = the largest batch.
   * @param pool A max pooling fused after the convolution, or null.
   * @param act An activation fused last, or null.
   * @param needInputGrad False for the first stage (no dx, no dCols buffer).
   * @param chunk Samples per chunk; default: as many as fit the im2col matrix in 1 MiB.
   */
  constructor(
    blas: Blas,
    s: Conv2DShape,
    pool: FusedPool | null,
    act: Activation,
    needInputGrad: boolean,
    chunk?: number,
  ) {
    this.#blas = blas;
    this.#s = s;
    this.#pool = pool;
    this.#act = act;
    const OH = s.height - s.kernelH + 1, OW = s.width - s.kernelW + 1;
    const K = s.inChannels * s.kernelH * s.kernelW, P = OH * OW;
    this.#P = P;
    this.#K = K;
    this.chunk = Math.max(1, Math.min(s.batch, chunk ?? Math.floor(CHUNK_BYTES / (4 * K * P))));
    const round = pool?.ignoreBorder ? Math.floor : Math.ceil;
    this.#outH = pool ? round(OH / pool.poolH) : OH;
    this.#outW = pool ? round(OW / pool.poolW) : OW;
    this.outSize = s.outChannels * this.#outH * this.#outW;
    const chunkNP = this.chunk * P;
    this.#cols = new Float32Array(K * s.batch * P);
    this.#y = new Float32Array(s.outChannels * chunkNP);
    this.#dCols = needInputGrad ? new Float32Array(K * chunkNP) : null;
    this.#dPre = new Float32Array(act ? s.batch * this.outSize : 0);
    this.#argmax = new Int32Array(pool ? s.batch * this.outSize : 0);
    this.#dbSum = new Float64Array(s.outChannels);
  }

  /**
   * Forward pass on `n` samples.
   *
   * @param out Output `[n, outSize]` NCHW, overwritten.
   * @param x Input `[n, C, H, W]`.
   * @param w Weights `[O, C, KH, KW]`.
   * @param b Bias `[O]`.
   * @param n Samples in the batch.
   */
  forward(out: Float32Array, x: Float32Array, w: Float32Array, b: Float32Array, n: number): void {
    const O = this.#s.outChannels, P = this.#P, K = this.#K, y = this.#y;
    const inSize = this.#s.inChannels * this.#s.height * this.#s.width;
    for (let n0 = 0; n0 < n; n0 += this.chunk) {
      const nc = Math.min(this.chunk, n - n0), NP = nc * P;
      const cols = this.#cols.subarray(K * n0 * P, K * (n0 + nc) * P);
      im2col(cols, x, { ...this.#s, batch: nc }, 0, n0 * inSize);
      this.#blas.sgemm(false, false, O, NP, K, 1, w, K, cols, NP, 0, y, NP);
      const at = n0 * this.outSize;
      if (this.#pool) {
        const g: PoolGeometry = {
          batch: nc,
          channels: O,
          height: this.#s.height - this.#s.kernelH + 1,
          width: this.#s.width - this.#s.kernelW + 1,
          poolH: this.#pool.poolH,
          poolW: this.#pool.poolW,
          outH: this.#outH,
          outW: this.#outW,
          nStride: P, // Y is [O, Nc·P]: sample i of channel o at o·Nc·P + i·P
          cStride: NP,
        };
        maxPoolForward(
          out.subarray(at, at + nc * this.outSize),
          this.#argmax.subarray(at, at + nc * this.outSize),
          y,
          g,
          b,
          this.#act,
        );
      } else {
        for (let i = 0; i < nc; i++) {
          for (let o = 0; o < O; o++) {
            const src = o * NP + i * P, dst = at + (i * O + o) * P, bo = b[o];
            for (let p = 0; p < P; p++) out[dst + p] = y[src + p] + bo;
          }
        }
      }
    }
    if (!this.#pool) activateInPlace(this.#act, out, n * this.outSize);
  }

  /**
   * Backward pass on the `n` samples of the last forward pass. Overwrites `dx`, `dw`, `db`.
   *
   * @param dx Gradient w.r.t. the input `[n, C, H, W]`, or null to skip it.
   * @param dw Gradient w.r.t. the weights `[O, C, KH, KW]`.
   * @param db Gradient w.r.t. the bias `[O]`.
   * @param dOut Gradient w.r.t. the stage output `[n, outSize]`.
   * @param out The stage output of the forward pass.
   * @param w Weights `[O, C, KH, KW]`.
   * @param n Samples in the batch.
   */
  backward(
    dx: Float32Array | null,
    dw: Float32Array,
    db: Float32Array,
    dOut: Float32Array,
    out: Float32Array,
    w: Float32Array,
    n: number,
  ): void {
    if (dx !== null && this.#dCols === null) {
      throw new Error("ConvStage: built without an input gradient");
    }
    const O = this.#s.outChannels, P = this.#P, K = this.#K, outSize = this.outSize;
    const inSize = this.#s.inChannels * this.#s.height * this.#s.width;
    const outP = this.#outH * this.#outW;
    const dPre = this.#act ? this.#dPre : dOut, dy = this.#y, dbSum = this.#dbSum;
    const argmax = this.#argmax;
    activationBackward(this.#act, dPre, dOut, out, n * outSize);
    dbSum.fill(0);
    for (let n0 = 0; n0 < n; n0 += this.chunk) {
      const nc = Math.min(this.chunk, n - n0), NP = nc * P;
      if (this.#pool) {
        dy.fill(0, 0, O * NP);
        for (let i = 0; i < nc; i++) {
          for (let o = 0; o < O; o++) {
            const base = (n0 + i) * outSize + o * outP;
            let sum = 0;
            for (let k = base; k < base + outP; k++) {
              const g = dPre[k];
              dy[argmax[k]] = g;
              sum += g;
            }
            dbSum[o] += sum;
          }
        }
      } else {
        for (let i = 0; i < nc; i++) {
          for (let o = 0; o < O; o++) {
            const src = (n0 + i) * outSize + o * P, dst = o * NP + i * P;
            let sum = 0;
            for (let p = 0; p < P; p++) {
              const g = dPre[src + p];
              dy[dst + p] = g;
              sum += g;
            }
            dbSum[o] += sum;
          }
        }
      }
      const cols = this.#cols.subarray(K * n0 * P, K * (n0 + nc) * P);
      this.#blas.sgemm(false, true, O, K, NP, 1, dy, NP, cols, NP, n0 === 0 ? 0 : 1, dw, K);
      if (dx !== null) {
        this.#blas.sgemm(true, false, K, NP, O, 1, w, K, dy, NP, 0, this.#dCols!, NP);
        col2im(dx, this.#dCols!, { ...this.#s, batch: nc }, n0 * inSize);
      }
    }
    db.set(dbSum);
  }
}
