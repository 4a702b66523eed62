/**
 * A convolution stage of the native backend: Conv2D, optionally followed by MaxPool2D
 * and/or an activation, fused.
 *
 * Forward: im2col over the whole batch, then one GEMM `Y[O, N·P] = W · cols` (the result is
 * channel-major, "CNHW", with no bias); the epilogue adds the bias, pools (recording argmax)
 * and applies the activation while writing the stage's NCHW output.
 * Backward: the activation's derivative and the pooling's scatter (or a transpose) give
 * `dY[O, N·P]` and the bias gradient; then `dW = dY · colsᵀ` and, unless this is the first
 * stage, `dCols = Wᵀ · dY` followed by col2im.
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

/** Conv2D [+ MaxPool2D] [+ activation] with every buffer allocated once for `maxBatch`. */
export class ConvStage {
  /** Values per sample of the stage's output. */
  readonly outSize: number;
  readonly #blas: Blas;
  readonly #s: Conv2DShape;
  readonly #pool: FusedPool | null;
  readonly #act: Activation;
  readonly #outH: number;
  readonly #outW: number;
  readonly #cols: Float32Array;
  readonly #y: Float32Array;
  readonly #dy: Float32Array;
  readonly #dCols: Float32Array | null;
  readonly #dPre: Float32Array;
  readonly #argmax: Int32Array;
  readonly #dbSum: Float64Array;

  /**
   * @param blas The BLAS to call.
   * @param s The convolution shape, `batch` = the largest batch.
   * @param pool A max pooling fused after the convolution, or null.
   * @param act An activation fused last, or null.
   * @param needInputGrad False for the first stage (no dx, no dCols buffer).
   */
  constructor(
    blas: Blas,
    s: Conv2DShape,
    pool: FusedPool | null,
    act: Activation,
    needInputGrad: boolean,
  ) {
    this.#blas = blas;
    this.#s = s;
    this.#pool = pool;
    this.#act = act;
    const OH = s.height - s.kernelH + 1, OW = s.width - s.kernelW + 1;
    const K = s.inChannels * s.kernelH * s.kernelW, NP = s.batch * OH * OW;
    const round = pool?.ignoreBorder ? Math.floor : Math.ceil;
    this.#outH = pool ? round(OH / pool.poolH) : OH;
    this.#outW = pool ? round(OW / pool.poolW) : OW;
    this.outSize = s.outChannels * this.#outH * this.#outW;
    this.#cols = new Float32Array(K * NP);
    this.#y = new Float32Array(s.outChannels * NP);
    this.#dy = new Float32Array(s.outChannels * NP);
    this.#dCols = needInputGrad ? new Float32Array(K * NP) : null;
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
    const s = { ...this.#s, batch: n };
    const O = s.outChannels, OH = s.height - s.kernelH + 1, OW = s.width - s.kernelW + 1;
    const P = OH * OW, NP = n * P, K = s.inChannels * s.kernelH * s.kernelW;
    im2col(this.#cols, x, s);
    this.#blas.sgemm(false, false, O, NP, K, 1, w, K, this.#cols, NP, 0, this.#y, NP);
    const y = this.#y;
    if (this.#pool) {
      const g: PoolGeometry = {
        batch: n,
        channels: O,
        height: OH,
        width: OW,
        poolH: this.#pool.poolH,
        poolW: this.#pool.poolW,
        outH: this.#outH,
        outW: this.#outW,
        nStride: P, // Y is [O, N·P]: sample n of channel o at o·NP + n·P
        cStride: NP,
      };
      maxPoolForward(out, this.#argmax, y, g, b, this.#act);
    } else {
      for (let i = 0; i < n; i++) {
        for (let o = 0; o < O; o++) {
          const src = o * NP + i * P, dst = (i * O + o) * P, bo = b[o];
          for (let p = 0; p < P; p++) out[dst + p] = y[src + p] + bo;
        }
      }
      activateInPlace(this.#act, out, n * this.outSize);
    }
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
    const s = { ...this.#s, batch: n };
    const O = s.outChannels, OH = s.height - s.kernelH + 1, OW = s.width - s.kernelW + 1;
    const P = OH * OW, NP = n * P, K = s.inChannels * s.kernelH * s.kernelW;
    const outP = this.#outH * this.#outW;
    const dPre = this.#act ? this.#dPre : dOut, dy = this.#dy, dbSum = this.#dbSum;
    activationBackward(this.#act, dPre, dOut, out, n * this.outSize);
    dbSum.fill(0);
    if (this.#pool) {
      dy.fill(0, 0, O * NP);
      const argmax = this.#argmax;
      for (let i = 0; i < n; i++) {
        for (let o = 0; o < O; o++) {
          const base = (i * O + o) * outP;
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
      for (let i = 0; i < n; i++) {
        for (let o = 0; o < O; o++) {
          const src = (i * O + o) * P, dst = o * NP + i * P;
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
    db.set(dbSum);
    this.#blas.sgemm(false, true, O, K, NP, 1, dy, NP, this.#cols, NP, 0, dw, K);
    if (dx === null) return;
    if (this.#dCols === null) throw new Error("ConvStage: built without an input gradient");
    this.#blas.sgemm(true, false, K, NP, O, 1, w, K, dy, NP, 0, this.#dCols, NP);
    col2im(dx, this.#dCols, s);
  }
}
