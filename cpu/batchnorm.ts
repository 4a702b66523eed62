/**
 * Batch normalisation, PyTorch's `torch.nn.BatchNorm2d` (x [N, C, H, W], P = H*W) and
 * `torch.nn.BatchNorm1d` (x [N, C], P = 1), affine, tracking running statistics: the CPU
 * reference.
 *
 * Dimension letters: N batch, C channels, P positions per channel and image, M = N*P values per
 * channel. x, out [N, C, P] row-major; gamma, beta, runningMean, runningVar, saveMean,
 * saveInvStd [C].
 * Training (batch statistics, biased variance, two passes):
 *   mean_c   = sum_{n,p} x[n,c,p] / M
 *   var_c    = sum_{n,p} (x[n,c,p] - mean_c)^2 / M
 *   invStd_c = 1 / sqrt(var_c + eps)
 *   out      = (x - mean_c) * invStd_c * gamma_c + beta_c
 *   running  rm_c = (1 - momentum) rm_c + momentum mean_c
 *            rv_c = (1 - momentum) rv_c + momentum var_c * M / (M - 1)   (UNBIASED, as PyTorch)
 * Evaluation (running statistics):
 *   out      = (x - rm_c) / sqrt(rv_c + eps) * gamma_c + beta_c
 * Backward (training mode, xhat = (x - mean_c) * invStd_c):
 *   dBeta_c  = sum dOut        dGamma_c = sum dOut * xhat
 *   dx       = gamma_c * invStd_c / M * (M * dOut - dBeta_c - xhat * dGamma_c)
 * PyTorch's defaults: eps = 1e-5, momentum = 0.1; running mean starts at 0, running var at 1.
 *
 * @module
 */

import type { FloatArray } from "./types.ts";

/** Shape of a batch normalisation: x is `[batch, channels, positions]`, row-major. */
export interface BatchNormShape {
  /** N: images (or samples) in the mini-batch. */
  batch: number;
  /** C: channels (feature maps, or dense features), each with its own statistics. */
  channels: number;
  /** P: positions per channel and image (H*W for a feature map, 1 for dense features). */
  positions: number;
}

/**
 * Forward pass in training mode: normalises with the batch statistics, writes them to
 * `saveMean`/`saveInvStd` for {@linkcode batchNormBackward}, and updates the running statistics
 * (the variance unbiased, `* M / (M - 1)`). Sums are gathered in float64 locals.
 *
 * @param out Output `[N, C, P]`, overwritten (may be `x`).
 * @param x Input `[N, C, P]`.
 * @param gamma Scale `[C]`.
 * @param beta Shift `[C]`.
 * @param runningMean Running mean `[C]`, updated in place.
 * @param runningVar Running variance `[C]`, updated in place.
 * @param saveMean Batch mean `[C]`, overwritten.
 * @param saveInvStd Batch `1 / sqrt(var + eps)` `[C]`, overwritten.
 * @param s The shape.
 * @param eps Added to the variance (PyTorch: 1e-5).
 * @param momentum Weight of the batch statistics in the running ones (PyTorch: 0.1).
 * @returns Nothing; the outputs are written in place.
 * @throws {RangeError} If the shape is invalid, M = N*P < 2 (no unbiased variance), or a length does not match.
 *
 * @example One channel, values 1..4
 * ```ts
 * import { batchNormForwardTrain } from "./batchnorm.ts";
 * import assert from "node:assert";
 *
 * const out = new Float64Array(4), rm = Float64Array.of(0), rv = Float64Array.of(1);
 * const mean = new Float64Array(1), invStd = new Float64Array(1);
 * batchNormForwardTrain(out, Float64Array.of(1, 2, 3, 4), Float64Array.of(1), Float64Array.of(0),
 *   rm, rv, mean, invStd, { batch: 2, channels: 1, positions: 2 }, 0, 0.1);
 * // mean 2.5, biased var 1.25, unbiased 5/3
 * assert.deepStrictEqual([mean[0], invStd[0]], [2.5, 1 / Math.sqrt(1.25)]);
 * assert.ok(Math.abs(out[0] + 1.5 / Math.sqrt(1.25)) < 1e-15);
 * assert.ok(Math.abs(rm[0] - 0.25) < 1e-15 && Math.abs(rv[0] - (0.9 + 0.1 * 5 / 3)) < 1e-15);
 * ```
 */
export function batchNormForwardTrain(
  out: FloatArray,
  x: FloatArray,
  gamma: FloatArray,
  beta: FloatArray,
  runningMean: FloatArray,
  runningVar: FloatArray,
  saveMean: FloatArray,
  saveInvStd: FloatArray,
  s: BatchNormShape,
  eps: number,
  momentum: number,
): void {
  const fn = "batchNormForwardTrain";
  const { N, C, P, M } = resolve(fn, s);
  if (M < 2) {
    throw new RangeError(
      `${fn}: training needs at least 2 values per channel (batch * positions), received ${M}`,
    );
  }
  checkScalars(fn, eps, momentum);
  checkLength(fn, "out", out, N * C * P);
  checkLength(fn, "x", x, N * C * P);
  for (
    const [name, a] of [["gamma", gamma], ["beta", beta], ["runningMean", runningMean]] as const
  ) {
    checkLength(fn, name, a, C);
  }
  checkLength(fn, "runningVar", runningVar, C);
  checkLength(fn, "saveMean", saveMean, C);
  checkLength(fn, "saveInvStd", saveInvStd, C);
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let n = 0; n < N; n++) {
      const base = (n * C + c) * P;
      for (let p = 0; p < P; p++) sum += x[base + p];
    }
    const mean = sum / M;
    let sq = 0;
    for (let n = 0; n < N; n++) {
      const base = (n * C + c) * P;
      for (let p = 0; p < P; p++) {
        const d = x[base + p] - mean;
        sq += d * d;
      }
    }
    const variance = sq / M;
    const invStd = 1 / Math.sqrt(variance + eps);
    saveMean[c] = mean;
    saveInvStd[c] = invStd;
    const g = gamma[c], b = beta[c];
    for (let n = 0; n < N; n++) {
      const base = (n * C + c) * P;
      for (let p = 0; p < P; p++) out[base + p] = (x[base + p] - mean) * invStd * g + b;
    }
    runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mean;
    runningVar[c] = (1 - momentum) * runningVar[c] + momentum * variance * M / (M - 1);
  }
}

/**
 * Forward pass in evaluation mode: `out = (x - rm_c) / sqrt(rv_c + eps) * gamma_c + beta_c`
 * with the running statistics (left unchanged).
 *
 * @param out Output `[N, C, P]`, overwritten (may be `x`).
 * @param x Input `[N, C, P]`.
 * @param gamma Scale `[C]`.
 * @param beta Shift `[C]`.
 * @param runningMean Running mean `[C]`.
 * @param runningVar Running variance `[C]`.
 * @param s The shape.
 * @param eps Added to the variance (PyTorch: 1e-5).
 * @returns Nothing; the result is written to `out`.
 * @throws {RangeError} If the shape is invalid or a length does not match.
 *
 * @example Two channels, one position each
 * ```ts
 * import { batchNormForwardEval } from "./batchnorm.ts";
 * import assert from "node:assert";
 *
 * const out = new Float64Array(2);
 * batchNormForwardEval(out, Float64Array.of(3, 3), Float64Array.of(2, 1), Float64Array.of(0, 10),
 *   Float64Array.of(1, 3), Float64Array.of(4, 1), { batch: 1, channels: 2, positions: 1 }, 0);
 * // channel 0: (3 - 1) / sqrt(4) * 2 + 0;  channel 1: (3 - 3) / sqrt(1) * 1 + 10
 * assert.deepStrictEqual(Array.from(out), [2, 10]);
 * ```
 */
export function batchNormForwardEval(
  out: FloatArray,
  x: FloatArray,
  gamma: FloatArray,
  beta: FloatArray,
  runningMean: FloatArray,
  runningVar: FloatArray,
  s: BatchNormShape,
  eps: number,
): void {
  const fn = "batchNormForwardEval";
  const { N, C, P } = resolve(fn, s);
  checkScalars(fn, eps, 0);
  checkLength(fn, "out", out, N * C * P);
  checkLength(fn, "x", x, N * C * P);
  for (
    const [name, a] of [["gamma", gamma], ["beta", beta], ["runningMean", runningMean]] as const
  ) {
    checkLength(fn, name, a, C);
  }
  checkLength(fn, "runningVar", runningVar, C);
  for (let c = 0; c < C; c++) {
    const mean = runningMean[c], invStd = 1 / Math.sqrt(runningVar[c] + eps);
    const g = gamma[c], b = beta[c];
    for (let n = 0; n < N; n++) {
      const base = (n * C + c) * P;
      for (let p = 0; p < P; p++) out[base + p] = (x[base + p] - mean) * invStd * g + b;
    }
  }
}

/**
 * Backward pass of the training-mode forward. Overwrites `dx`, `dGamma`, `dBeta`:
 * `dBeta_c = sum dOut`, `dGamma_c = sum dOut * xhat`,
 * `dx = gamma_c * invStd_c / M * (M * dOut - dBeta_c - xhat * dGamma_c)` with
 * `xhat = (x - saveMean_c) * saveInvStd_c`. Sums are gathered in float64 locals.
 *
 * @param dx Gradient w.r.t. the input `[N, C, P]`, overwritten (may be `dOut`); `null` skips it.
 * @param dGamma Gradient w.r.t. gamma `[C]`, overwritten.
 * @param dBeta Gradient w.r.t. beta `[C]`, overwritten.
 * @param dOut Gradient w.r.t. the output `[N, C, P]`.
 * @param x The forward input `[N, C, P]`.
 * @param gamma Scale `[C]`.
 * @param saveMean The batch mean written by {@linkcode batchNormForwardTrain}.
 * @param saveInvStd The batch inverse standard deviation written by the forward.
 * @param s The shape.
 * @returns Nothing; the gradients are written in place.
 * @throws {RangeError} If the shape is invalid or a length does not match.
 *
 * @example A uniform upstream gradient gives dx = 0 (the mean is subtracted)
 * ```ts
 * import { batchNormBackward, batchNormForwardTrain } from "./batchnorm.ts";
 * import assert from "node:assert";
 *
 * const s = { batch: 2, channels: 1, positions: 2 };
 * const x = Float64Array.of(1, 2, 3, 4), g = Float64Array.of(3);
 * const mean = new Float64Array(1), invStd = new Float64Array(1);
 * batchNormForwardTrain(new Float64Array(4), x, g, Float64Array.of(0), new Float64Array(1),
 *   new Float64Array(1), mean, invStd, s, 1e-5, 0.1);
 * const dx = new Float64Array(4), dGamma = new Float64Array(1), dBeta = new Float64Array(1);
 * batchNormBackward(dx, dGamma, dBeta, new Float64Array(4).fill(1), x, g, mean, invStd, s);
 * assert.strictEqual(dBeta[0], 4);
 * assert.ok(Math.abs(dGamma[0]) < 1e-12 && dx.every((v) => Math.abs(v) < 1e-12));
 * ```
 */
export function batchNormBackward(
  dx: FloatArray | null,
  dGamma: FloatArray,
  dBeta: FloatArray,
  dOut: FloatArray,
  x: FloatArray,
  gamma: FloatArray,
  saveMean: FloatArray,
  saveInvStd: FloatArray,
  s: BatchNormShape,
): void {
  const fn = "batchNormBackward";
  const { N, C, P, M } = resolve(fn, s);
  if (dx !== null) checkLength(fn, "dx", dx, N * C * P);
  checkLength(fn, "dGamma", dGamma, C);
  checkLength(fn, "dBeta", dBeta, C);
  checkLength(fn, "dOut", dOut, N * C * P);
  checkLength(fn, "x", x, N * C * P);
  checkLength(fn, "gamma", gamma, C);
  checkLength(fn, "saveMean", saveMean, C);
  checkLength(fn, "saveInvStd", saveInvStd, C);
  for (let c = 0; c < C; c++) {
    const mean = saveMean[c], invStd = saveInvStd[c];
    let sumDy = 0, sumDyXhat = 0;
    for (let n = 0; n < N; n++) {
      const base = (n * C + c) * P;
      for (let p = 0; p < P; p++) {
        const dy = dOut[base + p];
        sumDy += dy;
        sumDyXhat += dy * (x[base + p] - mean) * invStd;
      }
    }
    dBeta[c] = sumDy;
    dGamma[c] = sumDyXhat;
    if (dx === null) continue;
    const k = gamma[c] * invStd / M;
    for (let n = 0; n < N; n++) {
      const base = (n * C + c) * P;
      for (let p = 0; p < P; p++) {
        const xhat = (x[base + p] - mean) * invStd;
        dx[base + p] = k * (M * dOut[base + p] - sumDy - xhat * sumDyXhat);
      }
    }
  }
}

function resolve(fn: string, s: BatchNormShape) {
  for (const k of ["batch", "channels", "positions"] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 1) {
      throw new RangeError(`${fn}: ${k} must be a positive integer, received ${s[k]}`);
    }
  }
  const N = s.batch, C = s.channels, P = s.positions;
  return { N, C, P, M: N * P };
}

function checkScalars(fn: string, eps: number, momentum: number): void {
  if (!(eps >= 0 && eps < Infinity)) {
    throw new RangeError(`${fn}: eps must be a finite number >= 0, received ${eps}`);
  }
  if (!(momentum >= 0 && momentum <= 1)) {
    throw new RangeError(`${fn}: momentum must be in [0, 1], received ${momentum}`);
  }
}

function checkLength(fn: string, name: string, a: ArrayLike<number>, expected: number): void {
  if (a.length !== expected) {
    throw new RangeError(`${fn}: ${name} must have length ${expected}, received ${a.length}`);
  }
}
