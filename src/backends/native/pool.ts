/**
 * The pooling stages of the native backend, NCHW in and out: max pooling that does not
 * follow a convolution (those are fused into `ConvStage`), optionally followed by an
 * activation, and average pooling (global average pooling included: one window over the
 * whole plane). Windows move by their strides and may overlap; partial windows at the border
 * are there when the plan's output size says so.
 *
 * @module
 */
import {
  type Activation,
  activationBackward,
  maxPoolForward,
  type PoolGeometry,
  scatterMax,
  tieWords,
} from "./pointwise.ts";

/** The pooling's geometry as the plan gives it (`Pool2DPlan`). */
export interface PoolShape {
  /** Input of one sample, `[C, H, W]`. */
  inShape: readonly number[];
  /** Output of one sample, `[C, OH, OW]`, or `[C]` for a global pooling. */
  outShape: readonly number[];
  /** Window height. */
  poolH: number;
  /** Window width. */
  poolW: number;
  /** Vertical stride. */
  strideH: number;
  /** Horizontal stride. */
  strideW: number;
  /** Max pooling's backward tie rule: `"first"` maximum (default) or `"all"` (Theano). */
  ties?: "first" | "all";
}

function geometry(p: PoolShape, maxBatch: number): PoolGeometry {
  const [C, H, W] = p.inShape;
  const [OH, OW] = p.outShape.length === 3 ? [p.outShape[1], p.outShape[2]] : [1, 1];
  return {
    batch: maxBatch,
    channels: C,
    height: H,
    width: W,
    poolH: p.poolH,
    poolW: p.poolW,
    strideH: p.strideH,
    strideW: p.strideW,
    outH: OH,
    outW: OW,
    nStride: C * H * W,
    cStride: H * W,
  };
}

/** MaxPool2D [+ activation] with its scratch allocated once for `maxBatch`. */
export class PoolStage {
  /** Values per sample of the stage's output. */
  readonly outSize: number;
  readonly #inSize: number;
  readonly #g: PoolGeometry;
  readonly #act: Activation;
  readonly #argmax: Int32Array;
  /** Tie masks for `ties: "all"`, else null. */
  readonly #ties: Uint32Array | null;
  readonly #dPre: Float32Array;

  /**
   * Allocates the scratch for `maxBatch` samples.
   *
   * @param p The pooling's shapes, window and strides.
   * @param act An activation fused after the pooling, or null.
   * @param maxBatch The largest batch.
   */
  constructor(p: PoolShape, act: Activation, maxBatch: number) {
    this.#g = geometry(p, maxBatch);
    this.#inSize = this.#g.nStride;
    this.outSize = this.#g.channels * this.#g.outH * this.#g.outW;
    this.#act = act;
    this.#argmax = new Int32Array(maxBatch * this.outSize);
    this.#ties = p.ties === "all"
      ? new Uint32Array(maxBatch * this.outSize * tieWords(p.poolH, p.poolW))
      : null;
    this.#dPre = new Float32Array(act ? maxBatch * this.outSize : 0);
  }

  /**
   * Forward pass on `n` samples.
   *
   * @param out Output `[n, C, OH, OW]`, overwritten.
   * @param x Input `[n, C, H, W]`.
   * @param n Samples in the batch.
   */
  forward(out: Float32Array, x: Float32Array, n: number): void {
    maxPoolForward(out, this.#argmax, x, { ...this.#g, batch: n }, null, this.#act, this.#ties);
  }

  /**
   * Backward pass on the `n` samples of the last forward pass: each output's gradient is
   * added to its maximum's input (overlapping windows may share one), or with `ties: "all"` to
   * every input of its window equal to the maximum.
   *
   * @param dx Gradient w.r.t. the input `[n, C, H, W]`, overwritten.
   * @param dOut Gradient w.r.t. the stage output.
   * @param out The stage output of the forward pass.
   * @param n Samples in the batch.
   */
  backward(dx: Float32Array, dOut: Float32Array, out: Float32Array, n: number): void {
    const len = n * this.outSize;
    const dPre = this.#act ? this.#dPre : dOut;
    activationBackward(this.#act, dPre, dOut, out, len);
    dx.fill(0, 0, n * this.#inSize);
    const argmax = this.#argmax, ties = this.#ties, PW = this.#g.poolW, R = this.#g.width;
    if (ties === null) {
      for (let k = 0; k < len; k++) dx[argmax[k]] += dPre[k];
    } else {
      for (let k = 0; k < len; k++) scatterMax(dx, k, dPre[k], argmax, ties, PW, R);
    }
  }
}

/**
 * AvgPool2D (and global average pooling): the mean of the window's values inside the input,
 * as `cpu/avgpool2d.ts` (PyTorch's `ceil_mode` with no padding: a partial window divides by
 * the values it covers).
 */
export class AvgPoolStage {
  /** Values per sample of the stage's output. */
  readonly outSize: number;
  readonly #g: PoolGeometry;

  /**
   * @param p The pooling's shapes, window and strides.
   * @param maxBatch The largest batch.
   */
  constructor(p: PoolShape, maxBatch: number) {
    this.#g = geometry(p, maxBatch);
    this.outSize = this.#g.channels * this.#g.outH * this.#g.outW;
  }

  /**
   * Forward pass on `n` samples.
   *
   * @param out Output `[n, C, OH, OW]` (or `[n, C]`), overwritten.
   * @param x Input `[n, C, H, W]`.
   * @param n Samples in the batch.
   */
  forward(out: Float32Array, x: Float32Array, n: number): void {
    const { height: H, width: W, poolH, poolW, strideH, strideW, outH, outW } = this.#g;
    const planes = n * this.#g.channels, HW = H * W;
    for (let p = 0, k = 0; p < planes; p++) {
      const base = p * HW;
      for (let py = 0; py < outH; py++) {
        const r0 = py * strideH, r1 = Math.min(r0 + poolH, H);
        for (let px = 0; px < outW; px++, k++) {
          const c0 = px * strideW, c1 = Math.min(c0 + poolW, W);
          let sum = 0;
          for (let r = r0; r < r1; r++) {
            for (let c = base + r * W + c0, end = base + r * W + c1; c < end; c++) sum += x[c];
          }
          out[k] = sum / ((r1 - r0) * (c1 - c0));
        }
      }
    }
  }

  /**
   * Backward pass: `dx += dOut / count` over each window, on a zeroed `dx`.
   *
   * @param dx Gradient w.r.t. the input `[n, C, H, W]`, overwritten.
   * @param dOut Gradient w.r.t. the output.
   * @param n Samples in the batch.
   */
  backward(dx: Float32Array, dOut: Float32Array, n: number): void {
    const { height: H, width: W, poolH, poolW, strideH, strideW, outH, outW } = this.#g;
    const planes = n * this.#g.channels, HW = H * W;
    dx.fill(0, 0, planes * HW);
    for (let p = 0, k = 0; p < planes; p++) {
      const base = p * HW;
      for (let py = 0; py < outH; py++) {
        const r0 = py * strideH, r1 = Math.min(r0 + poolH, H);
        for (let px = 0; px < outW; px++, k++) {
          const c0 = px * strideW, c1 = Math.min(c0 + poolW, W);
          const g = dOut[k] / ((r1 - r0) * (c1 - c0));
          for (let r = r0; r < r1; r++) {
            for (let c = base + r * W + c0, end = base + r * W + c1; c < end; c++) dx[c] += g;
          }
        }
      }
    }
  }
}
