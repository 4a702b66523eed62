/**
 * A max-pooling stage of the native backend for a pooling that does not follow a
 * convolution (those are fused into `ConvStage`): MaxPool2D, optionally followed by an
 * activation. NCHW in and out; forward records the argmax so backward is a scatter.
 *
 * @module
 */
import {
  type Activation,
  activationBackward,
  maxPoolForward,
  type PoolGeometry,
} from "./pointwise.ts";

/** MaxPool2D [+ activation] with its scratch allocated once for `maxBatch`. */
export class PoolStage {
  /** Values per sample of the stage's output. */
  readonly outSize: number;
  readonly #inSize: number;
  readonly #g: PoolGeometry;
  readonly #act: Activation;
  readonly #argmax: Int32Array;
  readonly #dPre: Float32Array;

  /**
   * Allocates the scratch for `maxBatch` samples.
   *
   * @param inShape `[C, H, W]` of one sample.
   * @param outShape `[C, OH, OW]` of one sample.
   * @param poolH Window height.
   * @param poolW Window width.
   * @param act An activation fused after the pooling, or null.
   * @param maxBatch The largest batch.
   */
  constructor(
    inShape: readonly number[],
    outShape: readonly number[],
    poolH: number,
    poolW: number,
    act: Activation,
    maxBatch: number,
  ) {
    const [C, H, W] = inShape, [, OH, OW] = outShape;
    this.#g = {
      batch: maxBatch,
      channels: C,
      height: H,
      width: W,
      poolH,
      poolW,
      outH: OH,
      outW: OW,
      nStride: C * H * W,
      cStride: H * W,
    };
    this.#inSize = C * H * W;
    this.outSize = C * OH * OW;
    this.#act = act;
    this.#argmax = new Int32Array(maxBatch * this.outSize);
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
    maxPoolForward(out, this.#argmax, x, { ...this.#g, batch: n }, null, this.#act);
  }

  /**
   * Backward pass on the `n` samples of the last forward pass.
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
    const argmax = this.#argmax;
    for (let k = 0; k < len; k++) dx[argmax[k]] = dPre[k];
  }
}
