/**
 * A dense stage of the native backend: Dense, optionally followed by an activation, fused.
 *
 * Dimension letters: B batch, I input features, J output features.
 *   forward   out[B, J]  = act(x[B, I] · W[I, J] + b)        one GEMM, then bias + act
 *   backward  dPre       = dOut · act'                       (from the forward output)
 *             db[J]      = Σ_B dPre
 *             dW[I, J]   = xᵀ · dPre                          GEMM (transposed A)
 *             dx[B, I]   = dPre · Wᵀ                          GEMM (transposed B)
 *
 * @module
 */
import type { Blas } from "./blas.ts";
import { activateInPlace, type Activation, activationBackward } from "./pointwise.ts";

/** Dense [+ activation] with its scratch allocated once for `maxBatch`. */
export class DenseStage {
  /** Values per sample of the stage's output (J). */
  readonly outSize: number;
  readonly #blas: Blas;
  readonly #in: number;
  readonly #act: Activation;
  readonly #dPre: Float32Array;
  readonly #dbSum: Float64Array;

  /**
   * Allocates the scratch for `maxBatch` samples.
   *
   * @param blas The BLAS to call.
   * @param inFeatures I.
   * @param outFeatures J.
   * @param act An activation fused after the affine map, or null.
   * @param maxBatch The largest batch.
   */
  constructor(
    blas: Blas,
    inFeatures: number,
    outFeatures: number,
    act: Activation,
    maxBatch: number,
  ) {
    this.#blas = blas;
    this.#in = inFeatures;
    this.outSize = outFeatures;
    this.#act = act;
    this.#dPre = new Float32Array(act ? maxBatch * outFeatures : 0);
    this.#dbSum = new Float64Array(outFeatures);
  }

  /**
   * Forward pass on `n` samples.
   *
   * @param out Output `[n, J]`, overwritten.
   * @param x Input `[n, I]`.
   * @param w Weights `[I, J]`.
   * @param b Bias `[J]`.
   * @param n Samples in the batch.
   */
  forward(out: Float32Array, x: Float32Array, w: Float32Array, b: Float32Array, n: number): void {
    const I = this.#in, J = this.outSize;
    this.#blas.sgemm(false, false, n, J, I, 1, x, I, w, J, 0, out, J);
    for (let r = 0; r < n; r++) {
      const row = r * J;
      for (let j = 0; j < J; j++) out[row + j] += b[j];
    }
    activateInPlace(this.#act, out, n * J);
  }

  /**
   * Backward pass on the `n` samples of the last forward pass. Overwrites `dx`, `dw`, `db`.
   *
   * @param dx Gradient w.r.t. the input `[n, I]`, or null to skip it.
   * @param dw Gradient w.r.t. the weights `[I, J]`.
   * @param db Gradient w.r.t. the bias `[J]`.
   * @param dOut Gradient w.r.t. the stage output `[n, J]`.
   * @param out The stage output of the forward pass.
   * @param x The forward input `[n, I]`.
   * @param w Weights `[I, J]`.
   * @param n Samples in the batch.
   */
  backward(
    dx: Float32Array | null,
    dw: Float32Array,
    db: Float32Array,
    dOut: Float32Array,
    out: Float32Array,
    x: Float32Array,
    w: Float32Array,
    n: number,
  ): void {
    const I = this.#in, J = this.outSize;
    let dPre = dOut;
    if (this.#act) {
      dPre = this.#dPre;
      activationBackward(this.#act, dPre, dOut, out, n * J);
    }
    const dbSum = this.#dbSum;
    dbSum.fill(0);
    for (let r = 0; r < n; r++) {
      const row = r * J;
      for (let j = 0; j < J; j++) dbSum[j] += dPre[row + j];
    }
    db.set(dbSum);
    this.#blas.sgemm(true, false, I, J, n, 1, x, I, dPre, J, 0, dw, J);
    if (dx !== null) this.#blas.sgemm(false, true, n, I, J, 1, dPre, J, w, J, 0, dx, I);
  }
}
