/**
 * batchnorm at the shapes of a small modern CNN (batch 500): the CPU reference (baseline), the
 * native backend's twin (its name says what it runs) and the WebGPU kernels side by side, one
 * `deno bench` group per op and shape. Native and WebGPU entries are skipped, with a line on
 * stderr saying why, where no CBLAS or no adapter is found.
 *
 *   deno bench -A bench/batchnorm_bench.ts
 *
 * @module
 */
import {
  batchNormBackward,
  batchNormForwardEval,
  batchNormForwardTrain,
} from "../cpu/batchnorm.ts";
import { BatchNormStage } from "../src/backends/native/batchnorm.ts";
import { specs } from "../src/backends/webgpu/kernels.ts";
import { BATCH as N, benchCases, F, kernel, type OpCase, rand } from "./_bench_util.ts";

/** Training forward, evaluation forward and backward of C channels of P values. */
function batchNorm(name: string, C: number, P: number): OpCase[] {
  const n = N * C * P, s = { batch: N, channels: C, positions: P }, shape = `${N}x${C}x${P}`;
  const t = () => ({
    gamma: rand(C),
    beta: rand(C),
    dGamma: new Float32Array(C),
    dBeta: new Float32Array(C),
    runningMean: rand(C),
    runningVar: rand(C).map(Math.abs),
  });
  const stage = () => new BatchNormStage(C, P, 1e-5, 0.1, null, t(), N);
  const stats = () => [rand(C), rand(C).map(Math.abs)]; // mean, 1 / std
  return [{
    group: `batchnorm forward (train) ${name}`,
    shape,
    kernels: [kernel(specs.batchNormForwardTrain(C, P, 1e-5, 0.1), 7 * n, F * 4 * n)], // x read 3x
    cpu() {
      const { gamma, beta, runningMean: rm, runningVar: rv } = t(), [mean, invStd] = stats();
      const [x, y] = [rand(n), new Float32Array(n)];
      return () => batchNormForwardTrain(y, x, gamma, beta, rm, rv, mean, invStd, s, 1e-5, 0.1);
    },
    nativeNote: "BatchNormStage.forward (one-pass float64 statistics), no activation",
    native() {
      const st = stage(), [x, y] = [rand(n), new Float32Array(n)];
      return () => st.forward(y, x, N, true);
    },
  }, {
    group: `batchnorm forward (eval) ${name}`,
    shape,
    kernels: [kernel(specs.batchNormForwardEval(C, P, 1e-5), 5 * n, F * 2 * n)],
    cpu() {
      const { gamma, beta, runningMean: rm, runningVar: rv } = t();
      const [x, y] = [rand(n), new Float32Array(n)];
      return () => batchNormForwardEval(y, x, gamma, beta, rm, rv, s, 1e-5);
    },
    nativeNote: "BatchNormStage.forward in evaluation mode, no activation",
    native() {
      const st = stage(), [x, y] = [rand(n), new Float32Array(n)];
      return () => st.forward(y, x, N, false);
    },
  }, {
    group: `batchnorm backward ${name}`,
    shape,
    kernels: [kernel(specs.batchNormBackward(C, P), 10 * n, F * 5 * n)], // dOut, x read twice
    cpu() {
      const { gamma, dGamma, dBeta } = t(), [mean, invStd] = stats();
      const [x, dy, dx] = [rand(n), rand(n), new Float32Array(n)];
      return () => batchNormBackward(dx, dGamma, dBeta, dy, x, gamma, mean, invStd, s);
    },
    nativeNote: "BatchNormStage.backward after a training forward, no activation",
    native() {
      const st = stage(), [x, y, dy, dx] = [rand(n), new Float32Array(n), rand(n), rand(n)];
      st.forward(y, x, N, true);
      return () => st.backward(dx, dy, x, y, N);
    },
  }];
}

/** A small modern CNN's batch norms: after a convolution, after a dense layer. */
export const MODERN: OpCase[] = [
  ...batchNorm("32x14x14", 32, 196),
  ...batchNorm("dense 128", 128, 1),
];

await benchCases(MODERN, 3);
