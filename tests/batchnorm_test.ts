/**
 * batchnorm, every backend, in one file:
 * - cpu: `cpu/batchnorm.ts` in float64: training statistics and the running-average update by
 *   hand, the evaluation formula, finite-difference checks of the training-mode backward;
 * - webgpu: the batchnorm kernels against `cpu/` (the case table tests/_kernel_cases.ts, which
 *   tests/kernels_browser_test.ts also runs in Chromium); ignored where there is no adapter;
 * - native: the batchnorm stage (+ fused activation) against `cpu/`; ignored where no CBLAS
 *   loads.
 */
import assert from "node:assert/strict";
import {
  batchNormBackward,
  batchNormForwardEval,
  batchNormForwardTrain,
  type BatchNormShape,
} from "../cpu/batchnorm.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose, assertThrowsWith } from "./_assert.ts";
import { dot, gradCheck, randomArray } from "./_gradcheck.ts";
import { casesOf } from "./_kernel_cases.ts";
import { hasAdapter } from "./_webgpu.ts";
import { BatchNormStage } from "../src/backends/native/batchnorm.ts";
import type { Activation } from "../src/backends/native/pointwise.ts";
import { act, actBack, BWD, FWD, ignore, rand } from "./_native.ts";

// ---------------- cpu: cpu/batchnorm.ts in float64

// Tests of cpu/batchnorm.ts: the training statistics and the running-average update (unbiased
// variance) by hand, the evaluation formula, and float64 finite-difference checks of the
// training-mode backward (dx, dGamma, dBeta) over [N, C, P] with P > 1 and P = 1.

const C1: BatchNormShape = { batch: 2, channels: 1, positions: 2 };

Deno.test("batchNormForwardTrain: statistics, output and running update by hand", () => {
  // one channel, values 1, 2, 3, 4 (M = 4): mean 2.5, biased var 1.25, unbiased var 5/3
  const out = new Float64Array(4);
  const rm = Float64Array.of(0.5), rv = Float64Array.of(2);
  const mean = new Float64Array(1), invStd = new Float64Array(1);
  const eps = 1e-5, momentum = 0.1;
  batchNormForwardTrain(
    out,
    Float64Array.of(1, 2, 3, 4),
    Float64Array.of(2),
    Float64Array.of(-1),
    rm,
    rv,
    mean,
    invStd,
    C1,
    eps,
    momentum,
  );
  assert.strictEqual(mean[0], 2.5);
  assert.strictEqual(invStd[0], 1 / Math.sqrt(1.25 + eps));
  const expected = [1, 2, 3, 4].map((v) => (v - 2.5) / Math.sqrt(1.25 + eps) * 2 - 1);
  assertAllClose(out, expected, { rtol: 1e-15, atol: 1e-15 });
  // rm = 0.9 * 0.5 + 0.1 * 2.5 = 0.7;  rv = 0.9 * 2 + 0.1 * (5 / 3) = 1.8 + 1/6
  assertAllClose(rm, [0.7], { rtol: 1e-15, atol: 0 });
  assertAllClose(rv, [1.8 + 1 / 6], { rtol: 1e-15, atol: 0 });
});

Deno.test("batchNormForwardTrain: each channel normalised over batch and positions (not across channels)", () => {
  const s: BatchNormShape = { batch: 3, channels: 2, positions: 4 };
  const rng = new RandomState(700);
  const x = randomArray(rng, 24, -3, 5);
  const out = new Float64Array(24), mean = new Float64Array(2), invStd = new Float64Array(2);
  const ones = Float64Array.of(1, 1), zeros = new Float64Array(2);
  batchNormForwardTrain(
    out,
    x,
    ones,
    zeros,
    new Float64Array(2),
    new Float64Array(2),
    mean,
    invStd,
    s,
    0,
    0.1,
  );
  for (let c = 0; c < 2; c++) {
    const xs: number[] = [], ys: number[] = [];
    for (let n = 0; n < 3; n++) {
      for (let p = 0; p < 4; p++) {
        xs.push(x[(n * 2 + c) * 4 + p]);
        ys.push(out[(n * 2 + c) * 4 + p]);
      }
    }
    const m = xs.reduce((a, b) => a + b) / 12;
    const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / 12;
    assert.ok(Math.abs(mean[c] - m) < 1e-14, `channel ${c} mean`);
    assert.ok(Math.abs(invStd[c] - 1 / Math.sqrt(v)) < 1e-13, `channel ${c} invStd`);
    const ym = ys.reduce((a, b) => a + b) / 12;
    const yv = ys.reduce((a, b) => a + (b - ym) ** 2, 0) / 12;
    assert.ok(Math.abs(ym) < 1e-14 && Math.abs(yv - 1) < 1e-13, `channel ${c}: ${ym} ${yv}`);
  }
});

Deno.test("batchNorm: running statistics converge to the data's mean and unbiased variance", () => {
  // the same batch every step: rm -> mean, rv -> unbiased variance (geometric, factor 0.9 per step)
  const s: BatchNormShape = { batch: 2, channels: 1, positions: 3 };
  const x = Float64Array.of(1, 4, 2, 8, 5, 10); // mean 5, squared deviations 16+1+9+9+0+25 = 60, unbiased var 60 / 5 = 12
  const rm = Float64Array.of(0), rv = Float64Array.of(1);
  const scratch = [new Float64Array(6), new Float64Array(1), new Float64Array(1)];
  for (let step = 0; step < 400; step++) {
    batchNormForwardTrain(
      scratch[0],
      x,
      Float64Array.of(1),
      Float64Array.of(0),
      rm,
      rv,
      scratch[1],
      scratch[2],
      s,
      1e-5,
      0.1,
    );
  }
  assertAllClose(rm, [5], { rtol: 1e-12, atol: 0 });
  assertAllClose(rv, [12], { rtol: 1e-12, atol: 0 });
});

Deno.test("batchNormForwardEval: (x - rm) / sqrt(rv + eps) * gamma + beta, running stats unchanged", () => {
  const s: BatchNormShape = { batch: 2, channels: 3, positions: 2 };
  const x = Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
  const gamma = Float64Array.of(1, 2, -1), beta = Float64Array.of(0, 1, 0.5);
  const rm = Float64Array.of(1, 0, 10), rv = Float64Array.of(4, 0.25, 1);
  const eps = 1e-3;
  const out = new Float64Array(12);
  batchNormForwardEval(out, x, gamma, beta, rm, rv, s, eps);
  const expected = Array.from(x, (v, k) => {
    const c = Math.floor(k / 2) % 3;
    return (v - rm[c]) / Math.sqrt(rv[c] + eps) * gamma[c] + beta[c];
  });
  assertAllClose(out, expected, { rtol: 1e-15, atol: 1e-15 });
  // by hand, channel 1 of image 0 (x = 3, 4), eps 0: (3 - 0) / 0.5 * 2 + 1 = 13, (4 - 0) / 0.5 * 2 + 1 = 17
  batchNormForwardEval(out, x, gamma, beta, rm, rv, s, 0);
  assert.deepStrictEqual([out[2], out[3]], [13, 17]);
  assert.deepStrictEqual([...rm, ...rv], [1, 0, 10, 4, 0.25, 1]);
});

const GRAD_SHAPES: BatchNormShape[] = [
  { batch: 3, channels: 2, positions: 5 }, // BatchNorm2d, P = H*W > 1
  { batch: 4, channels: 3, positions: 1 }, // BatchNorm1d on dense features, P = 1
  { batch: 1, channels: 2, positions: 6 }, // one image: statistics over positions only
];

Deno.test("batchNormBackward (training mode): dx, dGamma, dBeta pass float64 finite-difference checks", () => {
  for (const [k, s] of GRAD_SHAPES.entries()) {
    const rng = new RandomState(710 + k);
    const L = s.batch * s.channels * s.positions, C = s.channels;
    const x = randomArray(rng, L, -2, 3);
    const gamma = randomArray(rng, C, 0.5, 2), beta = randomArray(rng, C);
    const r = randomArray(rng, L);
    const eps = 1e-5;
    const out = new Float64Array(L);
    const loss = (xx: Float64Array, gg: Float64Array, bb: Float64Array) => {
      // fresh running statistics and saves: only out matters for the loss
      batchNormForwardTrain(
        out,
        xx,
        gg,
        bb,
        new Float64Array(C),
        new Float64Array(C),
        new Float64Array(C),
        new Float64Array(C),
        s,
        eps,
        0.1,
      );
      return dot(out, r);
    };
    const mean = new Float64Array(C), invStd = new Float64Array(C);
    batchNormForwardTrain(
      out,
      x,
      gamma,
      beta,
      new Float64Array(C),
      new Float64Array(C),
      mean,
      invStd,
      s,
      eps,
      0.1,
    );
    const dx = new Float64Array(L).fill(NaN);
    const dGamma = new Float64Array(C).fill(NaN), dBeta = new Float64Array(C).fill(NaN);
    batchNormBackward(dx, dGamma, dBeta, r, x, gamma, mean, invStd, s);
    for (
      const [name, res] of [
        ["dx", gradCheck((v) => loss(v, gamma, beta), x, dx)],
        ["dGamma", gradCheck((v) => loss(x, v, beta), gamma, dGamma)],
        ["dBeta", gradCheck((v) => loss(x, gamma, v), beta, dBeta)],
      ] as const
    ) {
      assert.ok(res.maxRelError < 1e-6, `shape ${k} ${name}: max rel err ${res.maxRelError}`);
    }
  }
});

Deno.test("batchNormBackward: dx = null gives the same dGamma, dBeta; dx may alias dOut", () => {
  const s = GRAD_SHAPES[0];
  const rng = new RandomState(720);
  const x = randomArray(rng, 30), dOut = randomArray(rng, 30);
  const gamma = Float64Array.of(1.5, -0.5),
    mean = new Float64Array(2),
    invStd = new Float64Array(2);
  batchNormForwardTrain(
    new Float64Array(30),
    x,
    gamma,
    new Float64Array(2),
    new Float64Array(2),
    new Float64Array(2),
    mean,
    invStd,
    s,
    1e-5,
    0.1,
  );
  const dx = new Float64Array(30), g1 = new Float64Array(2), b1 = new Float64Array(2);
  const g2 = new Float64Array(2), b2 = new Float64Array(2);
  batchNormBackward(dx, g1, b1, dOut, x, gamma, mean, invStd, s);
  batchNormBackward(null, g2, b2, dOut, x, gamma, mean, invStd, s);
  assert.deepStrictEqual([g2, b2], [g1, b1]);
  const inPlace = dOut.slice();
  batchNormBackward(inPlace, g2, b2, inPlace, x, gamma, mean, invStd, s);
  assert.deepStrictEqual(inPlace, dx);
});

Deno.test("batchNorm on Float32Array agrees with float64 to float32 precision", () => {
  const s = GRAD_SHAPES[0];
  const rng = new RandomState(730);
  const x = randomArray(rng, 30), dOut = randomArray(rng, 30);
  const f32 = (a: ArrayLike<number>) => Float32Array.from(a);
  const gamma = Float64Array.of(1.5, 0.7), beta = Float64Array.of(0.1, -0.2);
  const run = <T extends Float32Array | Float64Array>(make: (a: ArrayLike<number>) => T) => {
    const out = make(new Array(30).fill(0)), m = make([0, 0]), is = make([0, 0]);
    const rm = make([0, 0]), rv = make([1, 1]);
    batchNormForwardTrain(out, make(x), make(gamma), make(beta), rm, rv, m, is, s, 1e-5, 0.1);
    const dx = make(new Array(30).fill(0)), dg = make([0, 0]), db = make([0, 0]);
    batchNormBackward(dx, dg, db, make(dOut), make(x), make(gamma), m, is, s);
    return [out, rm, rv, dx, dg, db];
  };
  const a = run(f32), b = run((v) => Float64Array.from(v));
  for (let k = 0; k < a.length; k++) {
    assertAllClose(a[k], b[k], { rtol: 1e-5, atol: 1e-5, msg: `array ${k}` });
  }
});

Deno.test("batchNorm throws RangeError on M < 2, bad scalars and lengths", () => {
  const one = () => new Float64Array(1);
  assertThrowsWith(
    () =>
      batchNormForwardTrain(
        one(),
        one(),
        one(),
        one(),
        one(),
        one(),
        one(),
        one(),
        { batch: 1, channels: 1, positions: 1 },
        1e-5,
        0.1,
      ),
    RangeError,
    "batchNormForwardTrain: training needs at least 2 values per channel (batch * positions), received 1",
  );
  const four = () => new Float64Array(4);
  assertThrowsWith(
    () =>
      batchNormForwardTrain(four(), four(), one(), one(), one(), one(), one(), one(), C1, -1, 0.1),
    RangeError,
    "eps must be a finite number >= 0, received -1",
  );
  assertThrowsWith(
    () =>
      batchNormForwardTrain(
        four(),
        four(),
        one(),
        one(),
        one(),
        one(),
        one(),
        one(),
        C1,
        1e-5,
        1.5,
      ),
    RangeError,
    "momentum must be in [0, 1], received 1.5",
  );
  assertThrowsWith(
    () => batchNormForwardEval(four(), four(), one(), new Float64Array(2), one(), one(), C1, 1e-5),
    RangeError,
    "batchNormForwardEval: beta must have length 1, received 2",
  );
  assertThrowsWith(
    () =>
      batchNormBackward(four(), one(), one(), new Float64Array(3), four(), one(), one(), one(), C1),
    RangeError,
    "batchNormBackward: dOut must have length 4, received 3",
  );
  assertThrowsWith(
    () =>
      batchNormForwardEval(
        four(),
        four(),
        one(),
        one(),
        one(),
        one(),
        { ...C1, channels: 0 },
        1e-5,
      ),
    RangeError,
    "channels must be a positive integer, received 0",
  );
});

// ---------------- webgpu: kernels against cpu/

/**
 * Parity of the batchnorm kernels with `cpu/batchnorm.ts` (the cases and their tolerances are in
 * tests/_kernel_cases.ts, which tests/kernels_browser_test.ts also runs in Chromium).
 */

for (const c of casesOf("batchnorm")) Deno.test({ name: c.name, ignore: !hasAdapter, fn: c.run });

// ---------------- native: stages against cpu/

/**
 * The native batchnorm stage (`src/backends/native/batchnorm.ts`, with a fused activation)
 * against `cpu/batchnorm.ts`: training, running averages, evaluation and backward, on images
 * and on features. Tolerances: forward and backward of tests/_native.ts.
 *
 * Skipped, with a printed reason, where no CBLAS can be loaded (or without --allow-ffi).
 */

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
