/**
 * dense at the tutorial's shapes (batch 500): the CPU reference (baseline), the native
 * backend's twin (its name says what it runs) and the WebGPU kernels side by side, one
 * `deno bench` group per op and layer. Native and WebGPU entries are skipped, with a line on
 * stderr saying why, where no CBLAS or no adapter is found.
 *
 *   deno bench -A bench/dense_bench.ts
 *
 * @module
 */
import { denseBackward, denseForward } from "../cpu/dense.ts";
import { DenseStage } from "../src/backends/native/dense.ts";
import { specs } from "../src/backends/webgpu/kernels.ts";
import { BATCH as N, benchCases, F, kernel, type OpCase, rand } from "./_bench_util.ts";

/** Forward and backward (with dx) of an I -> J layer. */
function dense(name: string, I: number, J: number): OpCase[] {
  const s = { batch: N, inFeatures: I, outFeatures: J }, shape = `${N}x${I} . ${I}x${J}`;
  const gemm = 2 * N * I * J, bytes = F * (N * I + I * J + N * J);
  const grads = () => [new Float32Array(N * I), new Float32Array(I * J), new Float32Array(J)];
  return [{
    group: `dense forward ${name}`,
    shape,
    kernels: [kernel(specs.denseForward(I, J), gemm, bytes)],
    cpu() {
      const [x, w, b, y] = [rand(N * I), rand(I * J), rand(J), new Float32Array(N * J)];
      return () => denseForward(y, x, w, b, s);
    },
    nativeNote: "sgemm + bias; no tanh",
    native(blas) {
      const stage = new DenseStage(blas, I, J, null, N);
      const [x, w, b, y] = [rand(N * I), rand(I * J), rand(J), new Float32Array(N * J)];
      return () => stage.forward(y, x, w, b, N);
    },
  }, {
    group: `dense backward ${name}`,
    shape,
    kernels: [
      kernel(specs.biasBackward(J, 1), N * J, F * N * J),
      kernel(specs.denseBackwardWeight(I, J), gemm, bytes),
      kernel(specs.denseBackwardInput(I, J), gemm, bytes),
    ],
    cpu() {
      const [x, w, dy] = [rand(N * I), rand(I * J), rand(N * J)], [dx, dw, db] = grads();
      return () => denseBackward(dx, dw, db, dy, x, w, s);
    },
    nativeNote: "bias sum + 2 sgemm",
    native(blas) {
      const stage = new DenseStage(blas, I, J, null, N);
      const [x, w, dy, y] = [rand(N * I), rand(I * J), rand(N * J), new Float32Array(N * J)];
      const [dx, dw, db] = grads();
      return () => stage.backward(dx, dw, db, dy, y, x, w, N);
    },
  }];
}

/** The tutorial LeNet's dense layers. */
export const LENET: OpCase[] = [...dense("dense0", 800, 500), ...dense("dense1", 500, 10)];

await benchCases(LENET, 2);
