/**
 * The batch-normalisation stage of the native backend, optionally followed by an activation
 * (fused: BatchNorm + ReLU is one pass over the values). The formulas are `cpu/batchnorm.ts`'s.
 *
 * Dimension letters: N batch, C channels, P positions per channel and sample (H·W, or 1 for
 * features), M = N·P. `x` is `[N, C, P]` row-major.
 *   training   mean_c = Σ x / M, var_c = Σ x² / M - mean² (one pass, float64 sums: for float32
 *              inputs the cancellation costs nothing measurable; `cpu/` takes two passes),
 *              invStd_c = 1 / sqrt(var + eps), y = act((x - mean)·invStd·γ + β);
 *              running: r = (1 - momentum)·r + momentum·batch (the variance unbiased, ·M/(M-1))
 *   evaluation y = act((x - runningMean) / sqrt(runningVar + eps)·γ + β)
 *   backward   x̂ = (x - mean)·invStd; dβ = Σ dy; dγ = Σ dy·x̂;
 *              dx = γ·invStd/M · (M·dy - dβ - x̂·dγ)
 *
 * @module
 */
import { activateInPlace, type Activation, activationBackward } from "./pointwise.ts";

/** The tensors a batch-norm stage reads and writes, all `[C]`. */
export interface BatchNormTensors {
  /** γ. */
  gamma: Float32Array;
  /** β. */
  beta: Float32Array;
  /** dLoss/dγ, overwritten by backward. */
  dGamma: Float32Array;
  /** dLoss/dβ, overwritten by backward. */
  dBeta: Float32Array;
  /** Running mean, updated by a training forward. */
  runningMean: Float32Array;
  /** Running variance, updated by a training forward. */
  runningVar: Float32Array;
}

/** BatchNorm [+ activation] over `[N, C, P]`, scratch allocated once for `maxBatch`. */
export class BatchNormStage {
  /** Values per sample of the stage's output (C·P). */
  readonly outSize: number;
  readonly #C: number;
  readonly #P: number;
  readonly #eps: number;
  readonly #momentum: number;
  readonly #act: Activation;
  readonly #t: BatchNormTensors;
  readonly #mean: Float64Array;
  readonly #invStd: Float64Array;
  readonly #dPre: Float32Array;

  /**
   * @param channels C.
   * @param positions P.
   * @param epsilon Added to the variance.
   * @param momentum Weight of the batch in the running averages.
   * @param act An activation fused after the normalisation, or null.
   * @param tensors γ, β, their gradients and the running statistics.
   * @param maxBatch The largest batch.
   */
  constructor(
    channels: number,
    positions: number,
    epsilon: number,
    momentum: number,
    act: Activation,
    tensors: BatchNormTensors,
    maxBatch: number,
  ) {
    this.#C = channels;
    this.#P = positions;
    this.#eps = epsilon;
    this.#momentum = momentum;
    this.#act = act;
    this.#t = tensors;
    this.outSize = channels * positions;
    this.#mean = new Float64Array(channels);
    this.#invStd = new Float64Array(channels);
    this.#dPre = new Float32Array(act && act !== "relu" ? maxBatch * this.outSize : 0);
  }

  /**
   * Forward pass on `n` samples: batch statistics (and a running-average update) when
   * `training`, else the running statistics.
   *
   * @param out Output `[n, C, P]`, overwritten.
   * @param x Input `[n, C, P]`.
   * @param n Samples in the batch.
   * @param training Training (batch statistics) or evaluation mode.
   */
  forward(out: Float32Array, x: Float32Array, n: number, training: boolean): void {
    const C = this.#C, P = this.#P, CP = C * P, M = n * P, t = this.#t;
    const mom = this.#momentum;
    for (let c = 0; c < C; c++) {
      let mean: number, invStd: number;
      if (training) {
        let sum = 0, sq = 0;
        for (let i = 0, at = c * P; i < n; i++, at += CP) {
          for (let k = at; k < at + P; k++) {
            const v = x[k];
            sum += v;
            sq += v * v;
          }
        }
        mean = sum / M;
        const variance = Math.max(0, sq / M - mean * mean);
        invStd = 1 / Math.sqrt(variance + this.#eps);
        this.#mean[c] = mean;
        this.#invStd[c] = invStd;
        t.runningMean[c] = (1 - mom) * t.runningMean[c] + mom * mean;
        t.runningVar[c] = (1 - mom) * t.runningVar[c] + mom * variance * M / (M - 1);
      } else {
        mean = t.runningMean[c];
        invStd = 1 / Math.sqrt(t.runningVar[c] + this.#eps);
      }
      const scale = invStd * t.gamma[c], shift = t.beta[c] - mean * scale;
      for (let i = 0, at = c * P; i < n; i++, at += CP) {
        for (let k = at; k < at + P; k++) out[k] = x[k] * scale + shift;
      }
    }
    // a separate pass: ReLU inside the loop above (a ternary or Math.max) measured 4x slower
    activateInPlace(this.#act, out, n * CP);
  }

  /**
   * Backward pass on the `n` samples of the last training forward. Overwrites `dx` and the
   * γ, β gradients.
   *
   * @param dx Gradient w.r.t. the input, or null to skip it.
   * @param dOut Gradient w.r.t. the stage output.
   * @param x The forward input.
   * @param out The forward output.
   * @param n Samples in the batch.
   */
  backward(
    dx: Float32Array | null,
    dOut: Float32Array,
    x: Float32Array,
    out: Float32Array,
    n: number,
  ): void {
    const C = this.#C, P = this.#P, CP = C * P, M = n * P, t = this.#t;
    // ReLU's derivative is applied on the fly, as a product with (out > 0) (a ternary measured
    // 2x slower: its branch mispredicts on random signs); tanh and sigmoid go through a buffer
    const relu = this.#act === "relu";
    const dy = relu || !this.#act ? dOut : this.#dPre;
    if (!relu) activationBackward(this.#act, dy, dOut, out, n * CP);
    for (let c = 0; c < C; c++) {
      const mean = this.#mean[c], invStd = this.#invStd[c];
      let dBeta = 0, gx = 0;
      for (let i = 0, at = c * P; i < n; i++, at += CP) {
        if (relu) {
          for (let k = at; k < at + P; k++) {
            const g = dy[k] * +(out[k] > 0);
            dBeta += g;
            gx += g * x[k];
          }
        } else {
          for (let k = at; k < at + P; k++) {
            const g = dy[k];
            dBeta += g;
            gx += g * x[k];
          }
        }
      }
      // dγ = Σ dy·(x - mean)·invStd
      const dGamma = (gx - mean * dBeta) * invStd;
      t.dBeta[c] = dBeta;
      t.dGamma[c] = dGamma;
      if (dx === null) continue;
      // dx = γ·invStd/M · (M·dy - dβ - x̂·dγ) = a·dy + b·x + d
      const f = t.gamma[c] * invStd / M;
      const a = f * M, b = -f * dGamma * invStd, d = -f * dBeta + f * dGamma * invStd * mean;
      for (let i = 0, at = c * P; i < n; i++, at += CP) {
        if (relu) {
          for (let k = at; k < at + P; k++) {
            dx[k] = a * dy[k] * +(out[k] > 0) + b * x[k] + d;
          }
        } else {
          for (let k = at; k < at + P; k++) dx[k] = a * dy[k] + b * x[k] + d;
        }
      }
    }
  }
}
