/**
 * The native batchnorm stage (`src/backends/native/batchnorm.ts`, with a fused activation)
 * against `cpu/batchnorm.ts`: training, running averages, evaluation and backward, on images
 * and on features. Tolerances: forward and backward of tests/_native.ts.
 *
 * Skipped, with a printed reason, where no CBLAS can be loaded (or without --allow-ffi).
 */
import assert from "node:assert/strict";
import {
  batchNormBackward,
  batchNormForwardEval,
  batchNormForwardTrain,
} from "../cpu/batchnorm.ts";
import { RandomState } from "../src/random.ts";
import { BatchNormStage } from "../src/backends/native/batchnorm.ts";
import type { Activation } from "../src/backends/native/pointwise.ts";
import { assertAllClose } from "./_assert.ts";
import { act, actBack, BWD, FWD, ignore, rand } from "./_native.ts";

Deno.test({
  name:
    "native batchnorm (+ activation): training, running averages, evaluation, backward against cpu/batchnorm",
  ignore,
  fn() {
    const rng = new RandomState(70);
    // [N (buffers), n (used), C, P, act]
    const cases: [number, number, number, number, Activation][] = [
      [4, 4, 3, 25, null],
      [5, 3, 2, 7, "relu"],
      [6, 6, 16, 1, "relu"], // features (BatchNorm1D)
      [2, 2, 4, 9, "tanh"],
    ];
    for (const [N, n, C, P, kind] of cases) {
      const label = `batchnorm N=${N} n=${n} C=${C} P=${P} ${kind}`;
      const s = { batch: n, channels: C, positions: P }, eps = 1e-5, momentum = 0.1;
      const x = rand(rng, N * C * P, -2, 3), len = n * C * P;
      const gamma = rand(rng, C, 0.5, 1.5), beta = rand(rng, C, -0.5, 0.5);
      const rm0 = rand(rng, C, -0.2, 0.2), rv0 = rand(rng, C, 0.5, 2);
      // reference
      const eRm = rm0.slice(), eRv = rv0.slice(), pre = new Float32Array(len);
      const saveMean = new Float32Array(C), saveInvStd = new Float32Array(C);
      batchNormForwardTrain(
        pre,
        x.subarray(0, len),
        gamma,
        beta,
        eRm,
        eRv,
        saveMean,
        saveInvStd,
        s,
        eps,
        momentum,
      );
      const expected = new Float32Array(len);
      act(kind, expected, pre);
      const t = {
        gamma,
        beta,
        dGamma: new Float32Array(C).fill(NaN),
        dBeta: new Float32Array(C).fill(NaN),
        runningMean: rm0.slice(),
        runningVar: rv0.slice(),
      };
      const stage = new BatchNormStage(C, P, eps, momentum, kind, t, N);
      const out = new Float32Array(N * C * P).fill(NaN);
      stage.forward(out, x, n, true);
      assertAllClose(out.subarray(0, len), expected, { ...FWD, msg: `${label} forward` });
      assertAllClose(t.runningMean, eRm, { ...FWD, msg: `${label} running mean` });
      assertAllClose(t.runningVar, eRv, { ...FWD, msg: `${label} running var` });
      // backward of the training forward
      const dOut = rand(rng, N * C * P), dPre = new Float32Array(len);
      actBack(kind, dPre, dOut.subarray(0, len), expected);
      const eDx = new Float32Array(len), eDg = new Float32Array(C), eDb = new Float32Array(C);
      batchNormBackward(eDx, eDg, eDb, dPre, x.subarray(0, len), gamma, saveMean, saveInvStd, s);
      const dx = new Float32Array(N * C * P).fill(NaN);
      stage.backward(dx, dOut, x, out, n);
      assertAllClose(dx.subarray(0, len), eDx, { ...BWD, msg: `${label} dx` });
      assertAllClose(t.dGamma, eDg, { ...BWD, msg: `${label} dgamma` });
      assertAllClose(t.dBeta, eDb, { ...BWD, msg: `${label} dbeta` });
      // evaluation: running statistics, which stay as they are
      const ePre = new Float32Array(len), eEval = new Float32Array(len);
      batchNormForwardEval(ePre, x.subarray(0, len), gamma, beta, eRm, eRv, s, eps);
      act(kind, eEval, ePre);
      const rm = t.runningMean.slice();
      stage.forward(out, x, n, false);
      assertAllClose(out.subarray(0, len), eEval, { ...FWD, msg: `${label} evaluation` });
      assert.deepEqual(t.runningMean, rm, `${label}: evaluation changed the running mean`);
    }
  },
});
